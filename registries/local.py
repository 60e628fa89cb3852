"""A private registry on your own Docker engine: the CNCF Distribution `registry` image, published
on 127.0.0.1 only, with basic auth on and its data on a named volume. No cloud account needed."""

from __future__ import annotations

import os

import docker
import docker.transport
import pulumi
import pulumi_docker
import pulumi_random as random
from docker.context import ContextAPI
from docker.errors import DockerException
from requests.exceptions import RequestException

from registries.component import RegistryComponent
from registries.image import RegistryLogin, mirror_build_args
from registries.settings import Settings

# CNCF Distribution, pinned to a release tag (https://github.com/distribution/distribution).
REGISTRY_IMAGE = "registry:2.8.3"
REGISTRY_PORT = 5000
DATA_PATH = "/var/lib/registry"
HTPASSWD_PATH = "/auth/htpasswd"
PASSWORD_LENGTH = 32  # letters and digits only: ~190 bits, well under bcrypt's 72-byte limit
PING_TIMEOUT_S = 10
# Where Docker Desktop listens when /var/run/docker.sock is absent; the provider looks there too.
FALLBACK_SOCKETS = ("~/.docker/run/docker.sock", "~/.docker/desktop/docker.sock")
# Docker Hub's registry API, the upstream of the mirror (Distribution's proxy mode).
DOCKER_HUB_URL = "https://registry-1.docker.io"


ENGINE_HINT = (
    "Start Docker, or point DOCKER_HOST (or `pulumi config set docker:host ...`) "
    "at a running engine."
)


def check_docker_engine(host: str | None, context: str | None = None) -> None:
    """Fail fast, with a message a new user can act on, when no Docker engine answers.

    `host` and `context` are the `docker:host` and `docker:context` config values; as in the
    provider, a context (also DOCKER_CONTEXT) wins over a host. With neither, docker-py reads
    DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH the way the docker CLI does.
    docker-py speaks ssh:// only through paramiko, which this project does not install, so an
    ssh:// engine is left to the provider's own check instead of being refused here.
    """
    context = context or os.environ.get("DOCKER_CONTEXT") or None
    env_host = os.environ.get("DOCKER_HOST") or None
    where = host or env_host or "the default Docker engine (DOCKER_HOST is not set)"
    client: docker.DockerClient | None = None
    try:
        if context:
            found = ContextAPI.get_context(context)
            if found is None or not found.Host:
                raise DockerException(f"there is no Docker context named {context!r}")
            where = f"{found.Host} (Docker context {context!r})"
            if not _can_dial(found.Host):
                return
            client = docker.DockerClient(
                base_url=found.Host, tls=found.TLSConfig or False, timeout=PING_TIMEOUT_S
            )
        elif host:
            if not _can_dial(host):
                return
            client = docker.DockerClient(base_url=host, timeout=PING_TIMEOUT_S)
        else:
            if env_host and not _can_dial(env_host):
                return
            client = docker.from_env(timeout=PING_TIMEOUT_S)
        client.ping()
    except (DockerException, RequestException) as err:
        if not (context or host or env_host) and _fallback_socket_answers():
            return
        raise pulumi.RunError(
            f"Cannot reach a Docker engine at {where}: {err}. {ENGINE_HINT}"
        ) from err
    finally:
        if client is not None:
            client.close()


def _fallback_socket_answers() -> bool:
    """True if an engine answers on one of Docker Desktop's per-user sockets."""
    for candidate in FALLBACK_SOCKETS:
        path = os.path.expanduser(candidate)
        if not os.path.exists(path):
            continue
        client = docker.DockerClient(base_url=f"unix://{path}", timeout=PING_TIMEOUT_S)
        try:
            client.ping()
            return True
        except (DockerException, RequestException):
            continue
        finally:
            client.close()
    return False


def _can_dial(url: str) -> bool:
    """False for an ssh:// engine when docker-py has no ssh transport (paramiko is missing)."""
    return not url.startswith("ssh://") or hasattr(docker.transport, "SSHHTTPAdapter")


def registry_container(
    name: str,
    *,
    parent: pulumi.Resource,
    docker_name: str,
    image_id: pulumi.Input[str],
    port: int,
    envs: pulumi.Input[list[str]],
    volume_name: pulumi.Input[str],
    labels: dict[str, str],
    uploads: list[pulumi_docker.ContainerUploadArgs] | None = None,
) -> pulumi_docker.Container:
    """A `registry` container published on 127.0.0.1:`port` only, its data on a named volume,
    restarted unless stopped; created once the registry answers, so whatever depends on it
    (the push, the build from the mirror) does not race the registry's start."""
    return pulumi_docker.Container(
        name,
        pulumi_docker.ContainerArgs(
            name=docker_name,
            image=image_id,
            restart="unless-stopped",
            # The registry answers 200 on `/` (before auth) once it listens.
            healthcheck=pulumi_docker.ContainerHealthcheckArgs(
                tests=[
                    "CMD",
                    "wget",
                    "-q",
                    "-O",
                    "/dev/null",
                    f"http://127.0.0.1:{REGISTRY_PORT}/",
                ],
                interval="2s",
                timeout="2s",
                retries=15,
            ),
            wait=True,
            wait_timeout=60,
            ports=[
                pulumi_docker.ContainerPortArgs(
                    internal=REGISTRY_PORT, external=port, ip="127.0.0.1"
                )
            ],
            envs=envs,
            uploads=uploads,
            volumes=[
                pulumi_docker.ContainerVolumeArgs(volume_name=volume_name, container_path=DATA_PATH)
            ],
            labels=[pulumi_docker.ContainerLabelArgs(label=k, value=v) for k, v in labels.items()],
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def engine_name(settings: Settings, name: str) -> str:
    """The container's name on the engine (its volume adds `-data`).

    Docker names are global on an engine, so project and stack go in: two stacks never collide.
    """
    return f"{settings.project}-{settings.stack}-{name}"


class LocalRegistry(RegistryComponent):
    """A `registry` container on the configured Docker engine, with the app image pushed to it."""

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Before anything is registered, so a stopped Docker fails with one clear line.
        if settings.local.check_engine:
            check_docker_engine(settings.local.engine_host, settings.local.engine_context)

        super().__init__("container-registry:local:LocalRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        port = settings.local.port
        user = settings.local.user
        docker_name = engine_name(settings, name)
        labels = {
            "container-registry.project": settings.project,
            "container-registry.stack": settings.stack,
        }

        password = random.RandomPassword(
            f"{name}-password",
            random.RandomPasswordArgs(length=PASSWORD_LENGTH, special=False),
            opts=child,
        )

        image = pulumi_docker.RemoteImage(
            f"{name}-registry-image",
            pulumi_docker.RemoteImageArgs(name=REGISTRY_IMAGE, keep_locally=True),
            opts=child,
        )

        volume = pulumi_docker.Volume(
            f"{name}-data",
            pulumi_docker.VolumeArgs(
                name=f"{docker_name}-data",
                labels=[pulumi_docker.VolumeLabelArgs(label=k, value=v) for k, v in labels.items()],
            ),
            # The images live here: replacing the container keeps them, and destroy refuses to
            # delete them unless forceDelete is true.
            opts=pulumi.ResourceOptions(parent=self, protect=not settings.force_delete),
        )

        container = registry_container(
            f"{name}-container",
            parent=self,
            docker_name=docker_name,
            image_id=image.image_id,
            port=port,
            envs=[
                "REGISTRY_AUTH=htpasswd",
                f"REGISTRY_AUTH_HTPASSWD_REALM={settings.project} registry",
                f"REGISTRY_AUTH_HTPASSWD_PATH={HTPASSWD_PATH}",
                "REGISTRY_STORAGE_DELETE_ENABLED=true",
            ],
            volume_name=volume.name,
            labels=labels,
            # The provider's bcrypt hash is stable in state, so the container is not replaced
            # on every run the way a freshly salted hash would force it to be.
            uploads=[
                pulumi_docker.ContainerUploadArgs(
                    file=HTPASSWD_PATH,
                    content=pulumi.Output.concat(user, ":", password.bcrypt_hash, "\n"),
                )
            ],
        )

        mirror = (
            self._mirror(name, settings, image_id=image.image_id, labels=labels)
            if settings.mirror.enabled
            else None
        )

        server = f"localhost:{port}"
        self._publish(
            name,
            settings,
            registry_server=server,
            repo_endpoint=f"{server}/{settings.repository_name}",
            login=RegistryLogin(server=server, username=user, password=password.result),
            depends_on=[container] if mirror is None else [container, mirror],
            build_args=None if mirror is None else mirror_build_args(self._mirror_path(settings)),
            mirror_endpoint=None if mirror is None else self._mirror_path(settings),
        )

    # ------------------------------------------------------------------ the mirror (issue 12)

    @staticmethod
    def _mirror_path(settings: Settings) -> str:
        """Docker official images in the mirror: `localhost:<localMirrorPort>/library`."""
        return f"localhost:{settings.mirror.local_port}/library"

    def _mirror(
        self,
        name: str,
        settings: Settings,
        *,
        image_id: pulumi.Input[str],
        labels: dict[str, str],
    ) -> pulumi_docker.Container:
        """A second `registry` container in proxy mode, a pull-through cache of Docker Hub.

        Distribution takes no pushes in proxy mode (its configuration docs, `proxy`: "Pushing to
        a registry configured as a pull through cache is currently unsupported"); the build reaches
        the mirror with no credentials of its own (pulumi-docker's provider/image.go, dockerBuild,
        logs in only to the registry it pushes to). So it serves pulls anonymously, on 127.0.0.1
        only. Its cache is on its own volume, not protected: it refills itself.
        """
        mirror = settings.mirror
        docker_name = f"{engine_name(settings, name)}-mirror"
        volume = pulumi_docker.Volume(
            f"{name}-mirror-data",
            pulumi_docker.VolumeArgs(
                name=f"{docker_name}-data",
                labels=[pulumi_docker.VolumeLabelArgs(label=k, value=v) for k, v in labels.items()],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        envs: pulumi.Input[list[str]] = [f"REGISTRY_PROXY_REMOTEURL={DOCKER_HUB_URL}"]
        if mirror.docker_hub_user is not None and mirror.docker_hub_token is not None:
            # The whole list becomes a secret: the token never reaches the state in clear.
            envs = pulumi.Output.secret(
                pulumi.Output.all(mirror.docker_hub_token).apply(
                    lambda token: [
                        f"REGISTRY_PROXY_REMOTEURL={DOCKER_HUB_URL}",
                        f"REGISTRY_PROXY_USERNAME={mirror.docker_hub_user}",
                        f"REGISTRY_PROXY_PASSWORD={token[0]}",
                    ]
                )
            )
        return registry_container(
            f"{name}-mirror",
            parent=self,
            docker_name=docker_name,
            image_id=image_id,
            port=mirror.local_port,
            envs=envs,
            volume_name=volume.name,
            labels=labels,
        )
