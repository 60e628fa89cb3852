"""The policy pack's Docker rules shown biting: the local registry's containers (policy/local.py)
and the image every target pushes (policy/image.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy_harness import (
    CLOUDS,
    DELETE,
    Breakage,
    Stack,
    edit,
    set_key,
)

from policy import image, local


def env_without(*names: str, extra: tuple[str, ...] = ()) -> Callable[[dict[str, Any]], None]:
    def changing(props: dict[str, Any]) -> None:
        kept = [e for e in props["envs"] if e.split("=", 1)[0] not in names]
        props["envs"] = [*kept, *extra]

    return changing


def _image(change: Callable[[dict[str, Any]], object]) -> Callable[[Stack], Stack]:
    return edit(image.DOCKER_IMAGE, change)


LOCAL_BREAKAGES: tuple[Breakage, ...] = (
    # Local registry
    Breakage(
        "local-registry-loopback",
        "local",
        "ip-unset",
        edit(local.DOCKER_CONTAINER, lambda p: p["ports"][0].pop("ip")),
    ),
    Breakage(
        "local-registry-loopback",
        "local",
        "all-interfaces",
        edit(local.DOCKER_CONTAINER, lambda p: p["ports"][0].update(ip="0.0.0.0")),
    ),
    Breakage(
        "local-registry-loopback",
        "local",
        "host-network",
        edit(local.DOCKER_CONTAINER, set_key("networkMode", "host")),
    ),
    Breakage(
        "local-registry-auth",
        "local",
        "auth-unset",
        edit(local.DOCKER_CONTAINER, env_without("REGISTRY_AUTH")),
    ),
    Breakage(
        "local-registry-auth",
        "local",
        "auth-silly",
        edit(local.DOCKER_CONTAINER, env_without("REGISTRY_AUTH", extra=("REGISTRY_AUTH=silly",))),
    ),
    Breakage(
        "local-registry-auth",
        "local",
        "no-htpasswd-path",
        edit(local.DOCKER_CONTAINER, env_without("REGISTRY_AUTH_HTPASSWD_PATH")),
    ),
    Breakage(
        "local-registry-auth",
        "local",
        "only-image-name-left",
        edit(
            local.DOCKER_CONTAINER,
            lambda p: p.update(envs=[], image="docker.io/library/registry:2.8.3"),
        ),
    ),
    # Images, on every target
    *(
        b
        for cloud in CLOUDS
        for b in (
            Breakage(
                "image-platform-pinned",
                cloud,
                "no-platform",
                _image(set_key("build.platform", DELETE)),
            ),
            Breakage(
                "image-platform-pinned",
                cloud,
                "empty-platform",
                _image(set_key("build.platform", "")),
            ),
            Breakage(
                "image-tag-pinned",
                cloud,
                "latest",
                _image(lambda p: p.update(imageName=p["imageName"].rsplit(":", 1)[0] + ":latest")),
            ),
            Breakage(
                "image-tag-pinned",
                cloud,
                "untagged",
                _image(lambda p: p.update(imageName=p["imageName"].rsplit(":", 1)[0])),
            ),
            Breakage(
                "image-tag-pinned",
                cloud,
                "empty-tag",
                _image(lambda p: p.update(imageName=p["imageName"].rsplit(":", 1)[0] + ":")),
            ),
            Breakage(
                "image-push-credentials",
                cloud,
                "no-password",
                _image(set_key("registry.password", DELETE)),
            ),
            Breakage(
                "image-push-credentials", cloud, "no-registry", _image(set_key("registry", DELETE))
            ),
        )
    ),
)
