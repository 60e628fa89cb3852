"""A private registry on your own Docker engine: the CNCF Distribution `registry` image, published
on 127.0.0.1 only, with basic auth on and its data on a named volume. No cloud account needed."""

import pulumi
import pulumi_docker
import pulumi_random as random

from container_registry.args import RegistryCredentials
from container_registry.local.args import LocalRegistryArgs
from container_registry.local.container import (
    AUTH_TMPFS,
    HTPASSWD_PATH,
    PASSWORD_LENGTH,
    REGISTRY_IMAGE,
    REGISTRY_START,
    SALT_BYTES,
    engine_name,
    htpasswd_line,
    registry_container,
)
from container_registry.local.mirror import local_mirror, mirror_path
from container_registry.local.options import LocalOptions, resolve
from container_registry.service import Built, RegistryLogin, ServiceRegistry

TYPE = "container-registry:index:LocalRegistry"


class LocalRegistry(ServiceRegistry):
    """A private registry on your own Docker engine: the CNCF Distribution `registry` image,
    published on 127.0.0.1 only, with basic auth on and its data on a named volume. No cloud
    account needed. Pass the stack's `pulumi_docker.Provider` in `providers` to choose the
    engine. Its resources are attributes: `container` (the `docker.Container`), `volume` (the
    data `docker.Volume`), `password` (the `random.RandomPassword`). Through the component
    provider (other languages) they are outputs by name: `container_name`, `volume_name`."""

    registry_server: pulumi.Output[str]
    """The host (or host:port) to `docker login` to."""
    repository_url: pulumi.Output[str]
    """The repository URL, without a tag; ready to push to once it resolves."""
    login: pulumi.Output[RegistryCredentials]
    """`{server, username, password}` for `docker login`, a Pulumi secret as a whole."""
    mirror_endpoint: pulumi.Output[str | None]
    """With the mirror on: the path that stands for Docker official images
    (`docker pull <mirror_endpoint>/nginx:<tag>`); else none."""

    container_name: pulumi.Output[str]
    """The registry container's name on the engine (the `container` attribute in Python)."""
    volume_name: pulumi.Output[str]
    """The data volume's name on the engine (the `volume` attribute in Python)."""

    def __init__(
        self, name: str, args: LocalRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Checked before anything is registered, so bad input creates nothing.
        self._build(name, resolve(args), opts)

    def _build(self, name: str, options: LocalOptions, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(TYPE, name, None, opts)
        built = self._children(name, options)
        self.container_name = self.container.name
        self.volume_name = self.volume.name
        outputs = {"containerName": self.container_name, "volumeName": self.volume_name}
        self._finish(built, outputs)

    def _children(self, name: str, options: LocalOptions) -> Built:
        """A `registry` container on the engine of the Docker provider in use, with a generated
        password, its data on a protected volume, and the mirror when asked; children of `parent`.
        Pass the stack's `pulumi_docker.Provider` in `providers` to choose the engine."""
        parent = self
        child = pulumi.ResourceOptions(parent=parent)
        port = options.port
        user = options.user
        docker_name = engine_name(options.pulumi_project, options.pulumi_stack, name)
        labels = {
            "container-registry.project": options.pulumi_project,
            "container-registry.stack": options.pulumi_stack,
        }

        self.password = password = random.RandomPassword(
            f"{name}-password",
            random.RandomPasswordArgs(length=PASSWORD_LENGTH, special=False),
            opts=child,
        )
        # The hash's salt lives in the state, so the hash (and the container) stays the same.
        salt = random.RandomId(
            f"{name}-htpasswd-salt", random.RandomIdArgs(byte_length=SALT_BYTES), opts=child
        )
        htpasswd = pulumi.Output.secret(
            pulumi.Output.all(user, password.result, salt.hex).apply(
                lambda values: htpasswd_line(values[0], values[1], values[2])
            )
        )

        image = pulumi_docker.RemoteImage(
            f"{name}-registry-image",
            pulumi_docker.RemoteImageArgs(name=REGISTRY_IMAGE, keep_locally=True),
            opts=child,
        )

        self.volume = volume = pulumi_docker.Volume(
            f"{name}-data",
            pulumi_docker.VolumeArgs(
                name=f"{docker_name}-data",
                labels=[pulumi_docker.VolumeLabelArgs(label=k, value=v) for k, v in labels.items()],
            ),
            # The images live here: replacing the container keeps them, and destroy refuses to
            # delete them unless forceDelete is true.
            opts=pulumi.ResourceOptions(parent=parent, protect=not options.force_delete),
        )

        self.container = container = registry_container(
            f"{name}-container",
            parent=parent,
            docker_name=docker_name,
            image_id=image.image_id,
            port=port,
            # A secret as a whole: the htpasswd line rides in it (see REGISTRY_START).
            envs=pulumi.Output.secret(
                htpasswd.apply(
                    lambda line: [
                        "REGISTRY_AUTH=htpasswd",
                        f"REGISTRY_AUTH_HTPASSWD_REALM={options.pulumi_project} registry",
                        f"REGISTRY_AUTH_HTPASSWD_PATH={HTPASSWD_PATH}",
                        "REGISTRY_STORAGE_DELETE_ENABLED=true",
                        f"HTPASSWD={line}",
                    ]
                )
            ),
            start=REGISTRY_START,
            tmpfs=AUTH_TMPFS,
            volume_name=volume.name,
            labels=labels,
        )

        mirror = (
            local_mirror(name, options, parent, image_id=image.image_id, labels=labels)
            if options.mirror.enabled
            else None
        )

        server = f"localhost:{port}"
        return Built(
            registry_server=server,
            repository_url=f"{server}/{options.repository_name}",
            login=RegistryLogin(server=server, username=user, password=password.result),
            ready=[container] if mirror is None else [container, mirror],
            mirror_endpoint=None if mirror is None else mirror_path(options),
        )
