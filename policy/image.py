"""The image every target builds and pushes (the Docker provider's Image, on any cloud)."""

from __future__ import annotations

from policy.common import NO_CONTROL, Config, Props, get, image_name_and_tag, is_true, rule

DOCKER_IMAGE = "docker:index/image:Image"


@rule(
    "image-platform-pinned",
    types=(DOCKER_IMAGE,),
    description="Images are built for a pinned platform (build.platform). " + NO_CONTROL,
)
def image_platform_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    value = get(props, "build", "platform")
    if not isinstance(value, str) or not value.strip():
        return [f"build.platform is {value!r}; pin the platform the image is built for"]
    return []


@rule(
    "image-tag-pinned",
    types=(DOCKER_IMAGE,),
    description="Images are pushed with an explicit tag that is not 'latest'. " + NO_CONTROL,
)
def image_tag_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    name = props.get("imageName")
    if not isinstance(name, str):
        return [f"imageName is {name!r}; it must be repository:tag"]
    _, tag = image_name_and_tag(name)
    if not tag:
        return [f"imageName {name!r} has no tag (Docker would push 'latest')"]
    if tag == "latest":
        return [f"imageName {name!r} uses the moving tag 'latest'"]
    return []


@rule(
    "image-push-credentials",
    types=(DOCKER_IMAGE,),
    description="Images are pushed with explicit registry credentials (server, username, "
    "password). " + NO_CONTROL,
)
def image_push_credentials(resource_type: str, props: Props, config: Config) -> list[str]:
    if is_true(props.get("skipPush")):
        return []
    missing = [
        f"registry.{key}"
        for key in ("server", "username", "password")
        if not get(props, "registry", key)
    ]
    if missing:
        return [f"{', '.join(missing)} not set; the push would use ambient docker credentials"]
    return []
