"""The local target: the containers on the user's Docker engine, the registry first."""

from __future__ import annotations

# The program's own values, taken from its package (container_registry) in this one place.
from container_registry.local.options import REGISTRY_IMAGE
from policy.common import NO_CONTROL, Config, Props, get, image_name_and_tag, items, rule

DOCKER_CONTAINER = "docker:index/container:Container"

LOOPBACK_IPS: tuple[str, ...] = ("127.0.0.1", "::1")


def _env(props: Props) -> dict[str, str]:
    pairs = [e.split("=", 1) for e in items(props.get("envs")) if isinstance(e, str)]
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


# Docker's registry image, by repository: the one the program runs.
REGISTRY_REPOSITORY, _ = image_name_and_tag(REGISTRY_IMAGE)


def is_registry_container(props: Props) -> bool:
    """A container runs Docker's registry if its image is `registry` or it is configured with
    the registry's REGISTRY_* environment variables (its image is often just an ID)."""
    image = props.get("image")
    if isinstance(image, str) and image_name_and_tag(image)[0] == REGISTRY_REPOSITORY:
        return True
    return any(key.startswith("REGISTRY_") for key in _env(props))


@rule(
    "local-registry-loopback",
    types=(DOCKER_CONTAINER,),
    description="Containers, the local registry first, publish ports on 127.0.0.1 or ::1 only. "
    + NO_CONTROL,
)
def local_registry_loopback(resource_type: str, props: Props, config: Config) -> list[str]:
    """Applies to every container of the stack, the registry first: nothing is published
    beyond this machine."""
    messages: list[str] = []
    if props.get("networkMode") == "host":
        messages.append("networkMode is 'host'; every port would listen on all interfaces")
    for index, port in enumerate(items(props.get("ports"))):
        ip = get(port, "ip")
        if ip not in LOOPBACK_IPS:
            shown = "0.0.0.0 (unset)" if ip in (None, "") else repr(ip)
            messages.append(
                f"ports[{index}].ip is {shown}; publish on {' or '.join(LOOPBACK_IPS)} only"
            )
    return messages


def is_loopback_mirror(props: Props) -> bool:
    """A registry in proxy mode (a pull-through cache: Distribution refuses pushes to it) that
    publishes on loopback only. It may serve pulls without auth: the image build reaches it with
    no credentials of its own."""
    ports = items(props.get("ports"))
    return (
        bool(_env(props).get("REGISTRY_PROXY_REMOTEURL"))
        and props.get("networkMode") != "host"
        and bool(ports)
        and all(get(port, "ip") in LOOPBACK_IPS for port in ports)
    )


@rule(
    "local-registry-auth",
    types=(DOCKER_CONTAINER,),
    description="The local registry container requires htpasswd basic auth; only a pull-through "
    "mirror (proxy mode, which takes no pushes) published on loopback alone may serve without "
    "it. " + NO_CONTROL,
)
def local_registry_auth(resource_type: str, props: Props, config: Config) -> list[str]:
    if not is_registry_container(props) or is_loopback_mirror(props):
        return []
    env = _env(props)
    messages: list[str] = []
    if env.get("REGISTRY_AUTH") != "htpasswd":
        messages.append(f"REGISTRY_AUTH is {env.get('REGISTRY_AUTH')!r}; it must be 'htpasswd'")
    if not env.get("REGISTRY_AUTH_HTPASSWD_PATH"):
        messages.append("REGISTRY_AUTH_HTPASSWD_PATH is not set; htpasswd auth needs the file")
    return messages
