"""A private registry on your own Docker engine: the CNCF Distribution `registry` image, published
on 127.0.0.1 only, with basic auth on and its data on a named volume. No cloud account needed."""

from __future__ import annotations

import pulumi
import pulumi_docker
import pulumi_random as random

from registries.component import RegistryComponent
from registries.image import RegistryLogin, mirror_build_args
from registries.settings import Settings

# CNCF Distribution, pinned to a release tag (https://github.com/distribution/distribution).
REGISTRY_IMAGE = "registry:2.8.3"
REGISTRY_PORT = 5000
DATA_PATH = "/var/lib/registry"
HTPASSWD_PATH = "/auth/htpasswd"
PASSWORD_LENGTH = 32  # letters and digits only: ~190 bits, well under bcrypt's 72-byte limit
# Docker Hub's registry API, the upstream of the mirror (Distribution's proxy mode).
DOCKER_HUB_URL = "https://registry-1.docker.io"


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
    """A `registry` container on the configured Docker engine, with the app image pushed to it.

    The engine is checked, and its provider chosen, before this is built (registries/engine.py);
    pass `prepare_engine(...).options` as `opts` so the container and the push share it.
    """

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
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
