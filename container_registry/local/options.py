"""LocalRegistryArgs checked: Docker's repository grammar, the port and user of the registry,
the mirror's port and its Docker Hub credentials. There is no `ci` (hosted runners cannot reach
127.0.0.1) and no `pull_principals` (a local registry has no IAM)."""

from __future__ import annotations

import re
from dataclasses import replace

from container_registry.args import DEFAULTS
from container_registry.errors import ArgumentError, required
from container_registry.local.args import LocalRegistryArgs
from container_registry.naming import (
    DISTRIBUTION_REPO,
    optional_text,
    repository_name,
    whole_number,
)
from container_registry.options import LocalOptions, RegistryOptions
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


def resolve(args: LocalRegistryArgs) -> RegistryOptions:
    """Every LocalRegistryArgs value checked, once, before anything is registered."""
    common = common_options(args, "local", LocalRegistryArgs)
    mirror = common.mirror
    port = whole_number(args.get("port", DEFAULTS["local.port"]), "port", 1, 65535)
    user = optional_text(
        args,
        "user",
        "user",
        HTPASSWD_USER,
        "is not a valid registry user name: 1 to 64 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit",
    ) or str(DEFAULTS["local.user"])
    mirror_port = (args.get("mirror") or {}).get("port")
    if mirror_port is None or mirror_port == 0:
        if port < 65535:
            mirror_port = port + 1
        elif mirror.enabled:
            raise required("mirror.port", "port + 1 is beyond 65535")
        else:
            mirror_port = port  # never published: nothing listens on it without the mirror
    else:
        mirror_port = whole_number(mirror_port, "mirror.port", 1, 65535)
        if mirror_port == port and mirror.enabled:
            own = f"is the registry's own port (port {port})"
            raise ArgumentError("mirror.port", mirror_port, own)
    if mirror.docker_hub_token is not None and mirror.docker_hub_user is None:
        raise required("mirror.docker_hub_user", "Docker Hub credentials need the user name too")
    return replace(
        common,
        repository_name=repository_name(
            common.repository_name, "repository_name", DISTRIBUTION_REPO, 1, 255, REPOSITORY_RULE
        ),
        local=LocalOptions(port=port, user=user),
        mirror=replace(mirror, local_port=mirror_port),
    )
