"""The mirror's options every target shares (`mirror.*`); a target's own upstream credentials
are checked in its options.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from container_registry.args import DEFAULTS
from container_registry.errors import ArgumentError
from container_registry.naming import DISTRIBUTION_NAME, flag, optional_text

# Official image names (docker.io/library/<name>); "*" alone asks ACR for one wildcard rule.
LIBRARY_REPOSITORY = DISTRIBUTION_NAME
WILDCARD = "*"
MAX_REPOSITORIES = 50
DOCKER_HUB_USER = re.compile(r"[a-z0-9]{4,30}")


def repositories(value: object) -> tuple[str, ...]:
    """The docker.io/library repositories to cache, deduplicated in order, or ("*",)."""
    path = "mirror.repositories"
    if value is None:
        return tuple(cast("list[str]", DEFAULTS[path]))
    if not isinstance(value, list | tuple) or len(cast("list[object]", value)) > MAX_REPOSITORIES:
        raise ArgumentError(
            path, value, f"is not a list of at most {MAX_REPOSITORIES} Docker official image names"
        )
    items = list(cast("list[object]", value))
    if not items:
        return tuple(cast("list[str]", DEFAULTS[path]))
    for index, item in enumerate(items):
        if not isinstance(item, str) or (
            item != WILDCARD and not (len(item) <= 200 and LIBRARY_REPOSITORY.fullmatch(item))
        ):
            raise ArgumentError(
                f"{path}[{index}]",
                item,
                "is not a Docker official image name such as nginx or python (the part after "
                "docker.io/library/), nor '*'",
            )
    names = tuple(dict.fromkeys(cast("list[str]", items)))
    if WILDCARD in names and len(names) > 1:
        raise ArgumentError(path, value, "mixes '*' with names: ACR refuses overlapping rules")
    return names


def enabled(mirror: Mapping[str, Any]) -> bool:
    """`mirror.enabled`, default off."""
    return flag(mirror, "enabled", "mirror.enabled")


def docker_hub_user(mirror: Mapping[str, Any]) -> str | None:
    """`mirror.docker_hub_user` (gcp, local): the Docker Hub user the upstream token is of."""
    return optional_text(
        mirror,
        "docker_hub_user",
        "mirror.docker_hub_user",
        DOCKER_HUB_USER,
        "is not a Docker Hub user name: 4 to 30 lowercase letters and digits",
    )
