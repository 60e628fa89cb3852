"""The local target's options checked: Docker's repository grammar, the port and user of the
registry, the mirror's port and its Docker Hub credentials. `ci` is refused (hosted runners
cannot reach 127.0.0.1); `pull_principals` are checked in any cloud's form and grant nothing,
since a local registry has no IAM."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from container_registry.args import DEFAULTS, RegistryArgs
from container_registry.aws.options import IAM_PRINCIPAL
from container_registry.azure.options import ENTRA_OBJECT_ID
from container_registry.ci_input import resolve_ci
from container_registry.errors import ArgumentError, required
from container_registry.gcp.options import IAM_MEMBER
from container_registry.naming import (
    DISTRIBUTION_REPO,
    optional_text,
    repository_name,
    whole_number,
)
from container_registry.options import LocalOptions, MirrorOptions, RegistryOptions
from container_registry.principals import pull_principals

# The image of every local registry: CNCF Distribution, pinned to a release tag
# (https://github.com/distribution/distribution). Here, without the Docker SDK, so the policy
# pack (policy/local.py) knows it too.
REGISTRY_IMAGE = "registry:2.8.3"
REPOSITORY_RULE = (
    "is not a valid Docker repository name: up to 255 characters, lowercase letters and "
    "digits joined by '.', '_', '__' or '-', optionally separated by '/'"
)
HTPASSWD_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ANY_PRINCIPAL = re.compile(
    "|".join(f"(?:{form.pattern})" for form in (IAM_PRINCIPAL, ENTRA_OBJECT_ID, IAM_MEMBER))
)


def check_block(local: Mapping[str, Any], mirror: MirrorOptions) -> tuple[LocalOptions, int]:
    """The `local` options alone, checked (also when another target is chosen): the options
    and the mirror's port."""
    port = whole_number(local.get("port", DEFAULTS["local.port"]), "local.port", 1, 65535)
    user = optional_text(
        local,
        "user",
        "local.user",
        HTPASSWD_USER,
        "is not a valid registry user name: 1 to 64 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit",
    ) or str(DEFAULTS["local.user"])
    mirror_port = local.get("mirror_port")
    if mirror_port is None or mirror_port == 0:
        if port < 65535:
            mirror_port = port + 1
        elif mirror.enabled:
            raise required("local.mirror_port", "local.port + 1 is beyond 65535")
        else:
            mirror_port = port  # never published: nothing listens on it without the mirror
    else:
        mirror_port = whole_number(mirror_port, "local.mirror_port", 1, 65535)
        if mirror_port == port and mirror.enabled:
            raise ArgumentError(
                "local.mirror_port", mirror_port, f"is the registry's own port (local.port {port})"
            )
    return LocalOptions(port=port, user=user), mirror_port


def resolve(args: RegistryArgs, common: RegistryOptions) -> RegistryOptions:
    """`common` with the local target's own values checked and added."""
    mirror = common.mirror
    options, mirror_port = check_block(args.get("local") or {}, mirror)
    if mirror.docker_hub_token is not None and mirror.docker_hub_user is None:
        raise required("mirror.docker_hub_user", "Docker Hub credentials need the user name too")
    pull_principals(
        args.get("pull_principals"),
        ANY_PRINCIPAL,
        "IAM principal ARNs, Entra object IDs or IAM members",
        "is not an IAM principal ARN (aws), Entra object ID (azure) or IAM member (gcp); '*' "
        "and wildcards are never allowed",
    )
    return replace(
        common,
        repository_name=repository_name(
            common.repository_name, "repository_name", DISTRIBUTION_REPO, 1, 255, REPOSITORY_RULE
        ),
        local=options,
        mirror=replace(mirror, local_port=mirror_port),
        ci=resolve_ci(args.get("ci"), "local"),
    )


def keep_block(local: Mapping[str, Any], options: RegistryOptions) -> RegistryOptions:
    """`options` of another target, with the `local` options checked and kept (they build
    nothing there)."""
    checked, mirror_port = check_block(local, options.mirror)
    return replace(options, local=checked, mirror=replace(options.mirror, local_port=mirror_port))
