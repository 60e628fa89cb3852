"""The local mirror (issue 12): a second `registry` container in proxy mode, a pull-through cache
of Docker Hub that falls back to serving its cache read-only while Docker Hub is unreachable."""

from __future__ import annotations

import pulumi
import pulumi_docker

from container_registry.local.container import IMAGE_COMMAND, engine_name, registry_container
from container_registry.local.options import LocalOptions

# Docker Hub's registry API, the upstream of the mirror (Distribution's proxy mode).
DOCKER_HUB_URL = "https://registry-1.docker.io"

# The mirror's start (docs/mirror.md). Distribution in proxy mode asks the upstream for its auth
# endpoints when it starts and panics when that request fails (registry/proxy/proxyauth.go,
# getAuthURLs: any HTTP answer will do, only a failed request is fatal; registry/handlers/app.go,
# NewApp, panics on the error), so a mirror restarted while Docker Hub is unreachable would
# crash-loop and serve nothing. The proxy keeps what it pulls in plain registry layout (tags
# included: registry/proxy/proxytagservice.go, Get, stores each tag it resolves), so the same
# storage served without `proxy` answers pulls of everything cached. This script asks the
# upstream the same question first (any HTTP status line counts as an answer, as in
# getAuthURLs) and runs the registry
#   - as the pull-through cache when it answers,
#   - else read-only without `proxy` (storage.maintenance.readonly: the mirror has no auth, so
#     nothing may push into the cache), where nothing expires either: the proxy's TTL
#     scheduler runs only in proxy mode (registry/proxy/proxyregistry.go);
# and asks again every minute, restarting the registry in the other mode when the answer changes.
# A registry that stops by itself in proxy mode (the check's wget got an answer that Go's client
# refuses, such as a TLS certificate busybox does not verify) is followed by the cache mode until
# the next check, instead of a proxy-mode crash loop.
# POSIX sh and busybox or coreutils tools: the official image's busybox, and Debian's (whose
# `wget -T` crashes, hence `timeout`).
MIRROR_CHECK_EVERY = 12  # times the 5 s tick: once a minute
MIRROR_START = "\n".join(
    [
        "upstream=$REGISTRY_PROXY_REMOTEURL",
        "unset REGISTRY_PROXY_REMOTEURL",
        "answers() {",
        '  timeout 5 wget -S -O /dev/null "$upstream/v2/" 2>&1 | grep -q "HTTP/"',
        "}",
        "mode_now() {",
        "  if answers; then echo proxy; else echo cache; fi",
        "}",
        "serve() {",
        '  if [ "$1" = proxy ]; then',
        f'    REGISTRY_PROXY_REMOTEURL="$upstream" {IMAGE_COMMAND} &',
        "  else",
        '    echo "mirror: serving the cache read-only, without $upstream" >&2',
        f"    REGISTRY_STORAGE_MAINTENANCE_READONLY='{{enabled: true}}' {IMAGE_COMMAND} &",
        "  fi",
        "  pid=$!",
        "}",
        "pid=",
        'trap \'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 0\' TERM INT',
        "crashed=",
        "while :; do",
        '  if [ -n "$crashed" ]; then mode=cache; else mode=$(mode_now); fi',
        '  serve "$mode"',
        "  ticks=0",
        "  stopped=",
        '  while kill -0 "$pid" 2>/dev/null; do',
        "    sleep 5 &",
        "    wait $!",
        "    ticks=$((ticks + 1))",
        f'    [ "$ticks" -lt {MIRROR_CHECK_EVERY} ] && continue',
        "    ticks=0",
        '    if [ "$(mode_now)" != "$mode" ]; then',
        "      stopped=1",
        '      kill -TERM "$pid"',
        "      break",
        "    fi",
        "  done",
        '  wait "$pid"',
        "  crashed=",
        '  if [ -z "$stopped" ] && [ "$mode" = proxy ]; then',
        '    echo "mirror: the registry stopped in proxy mode: serving the cache instead" >&2',
        "    crashed=1",
        "  fi",
        "  sleep 1",
        "done",
    ]
)


def mirror_path(options: LocalOptions) -> str:
    """Docker official images in the mirror: `localhost:<localMirrorPort>/library`."""
    return f"localhost:{options.mirror.port}/library"


def local_mirror(
    name: str,
    options: LocalOptions,
    parent: pulumi.Resource,
    *,
    image_id: pulumi.Input[str],
    labels: dict[str, str],
) -> pulumi_docker.Container:
    """A second `registry` container in proxy mode, a pull-through cache of Docker Hub, that
    serves its cache read-only while Docker Hub cannot be reached (MIRROR_START).

    Distribution takes no pushes in proxy mode (its configuration docs, `proxy`: "Pushing to
    a registry configured as a pull through cache is currently unsupported"); the build reaches
    the mirror with no credentials of its own (pulumi-docker's provider/image.go, dockerBuild,
    logs in only to the registry it pushes to). So it serves pulls anonymously, on 127.0.0.1
    only. Its cache is on its own volume, not protected: it refills itself.
    """
    mirror = options.mirror
    docker_name = engine_name(options.pulumi_project, options.pulumi_stack, name, mirror=True)
    volume = pulumi_docker.Volume(
        f"{name}-mirror-data",
        pulumi_docker.VolumeArgs(
            name=f"{docker_name}-data",
            labels=[pulumi_docker.VolumeLabelArgs(label=k, value=v) for k, v in labels.items()],
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    remote = [f"REGISTRY_PROXY_REMOTEURL={DOCKER_HUB_URL}"]
    envs: pulumi.Input[list[str]] = remote
    if mirror.docker_hub_user is not None and mirror.docker_hub_token is not None:
        user = mirror.docker_hub_user
        # The whole list becomes a secret: the token never reaches the state in clear.
        envs = pulumi.Output.secret(
            mirror.docker_hub_token.apply(
                lambda token: [
                    *remote,
                    f"REGISTRY_PROXY_USERNAME={user}",
                    f"REGISTRY_PROXY_PASSWORD={token}",
                ]
            )
        )
    return registry_container(
        f"{name}-mirror",
        parent=parent,
        docker_name=docker_name,
        image_id=image_id,
        port=mirror.port,
        envs=envs,
        start=MIRROR_START,
        volume_name=volume.name,
        labels=labels,
    )
