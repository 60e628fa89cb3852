"""The Args of `LocalRegistry` (no SDK here): flat, the local registry's options beside the
shared ones. `REGISTRY_PATHS` says where each comes from in `Registry`'s Args, where the path
differs (container_registry/switch.py)."""

from typing import TypedDict

import pulumi

from container_registry.args import Lifecycle


class LocalMirror(TypedDict, total=False):
    """A second registry container in proxy mode, caching Docker Hub's official images."""

    enabled: bool
    """Run the mirror and output its path as `mirror_endpoint`. Default false."""
    port: int
    """The port on 127.0.0.1 the mirror is published on. Default: the registry's `port` + 1."""
    docker_hub_user: str
    """The Docker Hub user the upstream credentials belong to. Default: none, anonymous pulls."""
    docker_hub_token: pulumi.Input[str]
    """The Docker Hub access token of `docker_hub_user`; kept as a Pulumi secret."""


class LocalRegistryArgs(TypedDict, total=False):
    """The inputs of `LocalRegistry`: a CNCF Distribution registry container on the Docker engine
    of the Docker provider in use, published on 127.0.0.1 only, with basic auth and its data on a
    named volume."""

    repository_name: str
    """The repository name, in Docker's grammar: up to 255 characters, lowercase letters and
    digits joined by '.', '_', '__' or '-', optionally separated by '/'. Default app."""
    force_delete: bool
    """Let a destroy delete the data volume with the images stored in it. Default false: it is
    protected."""
    lifecycle: Lifecycle
    """What the retention run deletes (container_registry/local/retention.py)."""
    mirror: LocalMirror
    """A pull-through mirror of Docker Hub's official images. Default: off."""
    port: int
    """The port on 127.0.0.1 the registry is published on, 1 to 65535. Default 5000."""
    user: str
    """The registry's basic-auth user; its password is generated and kept as a secret.
    Default admin."""


# LocalRegistryArgs path -> RegistryArgs path, where they differ.
REGISTRY_PATHS: dict[str, str] = {
    "port": "local.port",
    "user": "local.user",
    "mirror.port": "local.mirror_port",
}
