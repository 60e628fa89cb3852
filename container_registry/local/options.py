"""LocalRegistryArgs checked: Docker's repository grammar, the port and user of the registry,
the mirror's port and its Docker Hub credentials. There is no `ci` (hosted runners cannot reach
127.0.0.1) and no `pull_principals` (a local registry has no IAM)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from container_registry.args import DEFAULTS
from container_registry.errors import ArgumentError, required
from container_registry.local.args import LocalRegistryArgs
from container_registry.mirror import docker_hub_user
from container_registry.mirror import enabled as mirror_enabled
from container_registry.naming import (
    DISTRIBUTION_REPO,
    optional_text,
    repository_name,
    whole_number,
)
from container_registry.options import MirrorOptions, ServiceOptions
from container_registry.service import common_options

# The image of every local registry: CNCF Distribution, pinned to a release tag
# (https://github.com/distribution/distribution). Here, without the Docker SDK, so the policy
# pack (policy/local.py) knows it too.
REGISTRY_IMAGE = "registry:2.8.3"
REPOSITORY_RULE = (
    "is not a valid Docker repository name: up to 255 characters, lowercase letters and "
    "digits joined by '.', '_', '__' or '-', optionally separated by '/'"
)
HTPASSWD_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, kw_only=True)
class LocalMirrorOptions(MirrorOptions):
    port: int = int(str(DEFAULTS["local.port"])) + 1
    """The port on 127.0.0.1 the mirror is published on."""
    docker_hub_user: str | None = None
    docker_hub_token: pulumi.Output[str] | None = field(default=None, compare=False, repr=False)
    """The Docker Hub token, a Pulumi secret (never a plain string here)."""


@dataclass(frozen=True, kw_only=True)
class LocalOptions(ServiceOptions):
    """LocalRegistryArgs as checked."""

    mirror: LocalMirrorOptions = field(default_factory=LocalMirrorOptions)
    port: int = int(str(DEFAULTS["local.port"]))
    user: str = str(DEFAULTS["local.user"])


def resolve(args: LocalRegistryArgs) -> LocalOptions:
    """Every LocalRegistryArgs value checked, once, before anything is registered."""
    common = common_options(args, LocalRegistryArgs)
    name = common.pop("repository_name")
    mirror: Mapping[str, Any] = args.get("mirror") or {}
    enabled = mirror_enabled(mirror)
    port = whole_number(args.get("port", DEFAULTS["local.port"]), "port", 1, 65535)
    user = optional_text(
        args,
        "user",
        "user",
        HTPASSWD_USER,
        "is not a valid registry user name: 1 to 64 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit",
    ) or str(DEFAULTS["local.user"])
    mirror_port = mirror.get("port")
    if mirror_port is None or mirror_port == 0:
        if port < 65535:
            mirror_port = port + 1
        elif enabled:
            raise required("mirror.port", "port + 1 is beyond 65535")
        else:
            mirror_port = port  # never published: nothing listens on it without the mirror
    else:
        mirror_port = whole_number(mirror_port, "mirror.port", 1, 65535)
        if mirror_port == port and enabled:
            own = f"is the registry's own port (port {port})"
            raise ArgumentError("mirror.port", mirror_port, own)
    hub_user = docker_hub_user(mirror)
    token = mirror.get("docker_hub_token")
    if token is not None and hub_user is None:
        raise required("mirror.docker_hub_user", "Docker Hub credentials need the user name too")
    return LocalOptions(
        **common,
        repository_name=repository_name(
            name, "repository_name", DISTRIBUTION_REPO, 1, 255, REPOSITORY_RULE
        ),
        port=port,
        user=user,
        mirror=LocalMirrorOptions(
            enabled=enabled,
            port=mirror_port,
            docker_hub_user=hub_user,
            docker_hub_token=None if token is None else pulumi.Output.secret(token),
        ),
    )
