"""A private registry on your own Docker engine: the CNCF Distribution `registry` image, published
on 127.0.0.1 only, with basic auth on and its data on a named volume. No cloud account needed."""

from __future__ import annotations

import base64

import bcrypt
import pulumi
import pulumi_docker
import pulumi_random as random

from registries.component import RegistryComponent
from registries.image import RegistryLogin, mirror_build_args
from registries.settings import Settings

# CNCF Distribution, pinned to a release tag (https://github.com/distribution/distribution).
REGISTRY_IMAGE = "registry:2.8.3"
REGISTRY_PORT = 5000
DATA_PATH = "/var/lib/registry"
# The official image's entrypoint and default configuration (its Dockerfile: ENTRYPOINT
# ["/entrypoint.sh"], CMD ["/etc/docker/registry/config.yml"]); our start scripts end in them.
IMAGE_COMMAND = "/entrypoint.sh /etc/docker/registry/config.yml"
IMAGE_START = f"exec {IMAGE_COMMAND}"
AUTH_DIR = "/auth"
HTPASSWD_PATH = f"{AUTH_DIR}/htpasswd"
PASSWORD_LENGTH = 32  # letters and digits only: ~190 bits, well under bcrypt's 72-byte limit
# bcrypt's lowest cost. Distribution checks the hash on every request (registry/auth/htpasswd),
# so the cost is paid per pull and push, not per login: at Go's default cost (10) the registry
# answered ~13 authenticated requests/s on two cores, at 4 over 30x more (docs/development.md,
# benchmarks/auth.py). The cost only slows guessing a password from its hash, and this one is
# 32 random letters and digits (~190 bits): no cost makes that any harder.
BCRYPT_COST = 4
SALT_BYTES = 16  # bcrypt's salt
# bcrypt writes its 16-byte salt in base64 with its own alphabet and no padding (the same bits
# as standard base64); the `bcrypt` library takes a salt only in that form.
_BCRYPT_ALPHABET = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
)
# Docker Hub's registry API, the upstream of the mirror (Distribution's proxy mode).
DOCKER_HUB_URL = "https://registry-1.docker.io"

# Docker's json-file driver with a cap: at most 3 files of 10 MB per container, rotated by the
# engine, instead of one file that grows for the container's life.
LOG_DRIVER = "json-file"
LOG_OPTS = {"max-size": "10m", "max-file": "3"}

# The registry writes only to its data volume and (the main one) reads its htpasswd from a small
# tmpfs; the root filesystem is read-only, no capability is left and none can be gained.
# It runs as root, the image's user: a named volume takes the owner of the image's
# /var/lib/registry (root) when it is first mounted, and existing stacks' volumes hold root-owned
# data, so another user could not write there without a chown that needs CAP_CHOWN. Root with
# every capability dropped cannot override file permissions, and owns everything it writes.
SECURITY_OPTS = ["no-new-privileges:true"]
AUTH_TMPFS = {AUTH_DIR: "rw,noexec,nosuid,nodev,size=64k,mode=0700"}

# The main registry's start: write the htpasswd line from the environment into the tmpfs (the
# provider's `uploads` copy files into the container before it starts, which Docker refuses
# for a read-only root filesystem: daemon/archive.go, containerExtractToDir), drop the variable,
# then start as the image would.
REGISTRY_START = "\n".join(
    [
        f'(umask 077 && printf "%s\\n" "$HTPASSWD" > {HTPASSWD_PATH})',
        "unset HTPASSWD",
        IMAGE_START,
    ]
)

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


def bcrypt_salt(salt_hex: str) -> bytes:
    """bcrypt's salt string for cost BCRYPT_COST from 16 bytes given in hex (a RandomId's)."""
    encoded = base64.b64encode(bytes.fromhex(salt_hex)).rstrip(b"=").translate(_BCRYPT_ALPHABET)
    return f"$2b${BCRYPT_COST:02d}$".encode() + encoded


def htpasswd_line(user: str, password: str, salt_hex: str) -> str:
    """`user:<bcrypt hash>`, the same for the same password and salt on every run, so a second
    `up` changes nothing (a salt from os.urandom would replace the container every time)."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt_salt(salt_hex)).decode()
    return f"{user}:{hashed}"


def registry_container(
    name: str,
    *,
    parent: pulumi.Resource,
    docker_name: str,
    image_id: pulumi.Input[str],
    port: int,
    envs: pulumi.Input[list[str]],
    start: str,
    volume_name: pulumi.Input[str],
    labels: dict[str, str],
    tmpfs: dict[str, str] | None = None,
) -> pulumi_docker.Container:
    """A `registry` container published on 127.0.0.1:`port` only, its data on a named volume,
    restarted unless stopped, hardened and with bounded logs; created once the registry answers,
    so whatever depends on it (the push, the build from the mirror) does not race its start."""
    return pulumi_docker.Container(
        name,
        pulumi_docker.ContainerArgs(
            name=docker_name,
            image=image_id,
            entrypoints=["/bin/sh", "-c", start],
            restart="unless-stopped",
            # The registry answers 200 on `/` (before auth) once it listens. Each probe is one
            # access-log line: every 10 s, not every 2 s. Docker 25+ probes every second while
            # the container starts (until healthy, within start_period: start_interval), so
            # `wait` returns about a second after the start; older engines ignore start_interval
            # (API < 1.44) and probe first after `interval`. The provider's `wait` inspects the
            # container every second until it is healthy (kreuzwerker/terraform-provider-docker,
            # resourceDockerContainerCreate).
            healthcheck=pulumi_docker.ContainerHealthcheckArgs(
                tests=[
                    "CMD",
                    "wget",
                    "-q",
                    "-O",
                    "/dev/null",
                    f"http://127.0.0.1:{REGISTRY_PORT}/",
                ],
                interval="10s",
                start_period="30s",
                start_interval="1s",
                timeout="3s",
                retries=3,
            ),
            wait=True,
            wait_timeout=60,
            log_driver=LOG_DRIVER,
            log_opts=LOG_OPTS,
            read_only=True,
            tmpfs=tmpfs,
            security_opts=SECURITY_OPTS,
            capabilities=pulumi_docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            ports=[
                pulumi_docker.ContainerPortArgs(
                    internal=REGISTRY_PORT, external=port, ip="127.0.0.1"
                )
            ],
            envs=envs,
            volumes=[
                pulumi_docker.ContainerVolumeArgs(volume_name=volume_name, container_path=DATA_PATH)
            ],
            labels=[pulumi_docker.ContainerLabelArgs(label=k, value=v) for k, v in labels.items()],
        ),
        # An engine older than Docker 25 neither keeps nor reports start_interval, and the
        # provider's read sets what the engine reports (resourceDockerContainerRead in
        # kreuzwerker/terraform-provider-docker), so after each refresh (`./up.sh` refreshes)
        # every update would show a no-op change of it. The value is only ever set at create.
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["healthcheck.startInterval"]),
    )


def engine_name(settings: Settings, name: str) -> str:
    """The container's name on the engine (its volume adds `-data`).

    Docker names are global on an engine, so project and stack go in: two stacks never collide.
    """
    return f"{settings.project}-{settings.stack}-{name}"


class LocalRegistry(RegistryComponent):
    """A `registry` container on the configured Docker engine, with the app image pushed to it.

    The engine is checked, and its provider chosen, before this is built (registries/engine.py);
    pass `prepare_engine(...).options` as `opts` so the container and the push share it.
    """

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-registry:local:LocalRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        port = settings.local.port
        user = settings.local.user
        docker_name = engine_name(settings, name)
        labels = {
            "container-registry.project": settings.project,
            "container-registry.stack": settings.stack,
        }

        password = random.RandomPassword(
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

        volume = pulumi_docker.Volume(
            f"{name}-data",
            pulumi_docker.VolumeArgs(
                name=f"{docker_name}-data",
                labels=[pulumi_docker.VolumeLabelArgs(label=k, value=v) for k, v in labels.items()],
            ),
            # The images live here: replacing the container keeps them, and destroy refuses to
            # delete them unless forceDelete is true.
            opts=pulumi.ResourceOptions(parent=self, protect=not settings.force_delete),
        )

        container = registry_container(
            f"{name}-container",
            parent=self,
            docker_name=docker_name,
            image_id=image.image_id,
            port=port,
            # A secret as a whole: the htpasswd line rides in it (see REGISTRY_START).
            envs=pulumi.Output.secret(
                htpasswd.apply(
                    lambda line: [
                        "REGISTRY_AUTH=htpasswd",
                        f"REGISTRY_AUTH_HTPASSWD_REALM={settings.project} registry",
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
            self._mirror(name, settings, image_id=image.image_id, labels=labels)
            if settings.mirror.enabled
            else None
        )

        server = f"localhost:{port}"
        self._publish(
            name,
            settings,
            registry_server=server,
            repo_endpoint=f"{server}/{settings.repository_name}",
            login=RegistryLogin(server=server, username=user, password=password.result),
            depends_on=[container] if mirror is None else [container, mirror],
            build_args=None if mirror is None else mirror_build_args(self._mirror_path(settings)),
            mirror_endpoint=None if mirror is None else self._mirror_path(settings),
        )

    # ------------------------------------------------------------------ the mirror (issue 12)

    @staticmethod
    def _mirror_path(settings: Settings) -> str:
        """Docker official images in the mirror: `localhost:<localMirrorPort>/library`."""
        return f"localhost:{settings.mirror.local_port}/library"

    def _mirror(
        self,
        name: str,
        settings: Settings,
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
        mirror = settings.mirror
        docker_name = f"{engine_name(settings, name)}-mirror"
        volume = pulumi_docker.Volume(
            f"{name}-mirror-data",
            pulumi_docker.VolumeArgs(
                name=f"{docker_name}-data",
                labels=[pulumi_docker.VolumeLabelArgs(label=k, value=v) for k, v in labels.items()],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        envs: pulumi.Input[list[str]] = [f"REGISTRY_PROXY_REMOTEURL={DOCKER_HUB_URL}"]
        if mirror.docker_hub_user is not None and mirror.docker_hub_token is not None:
            # The whole list becomes a secret: the token never reaches the state in clear.
            envs = pulumi.Output.secret(
                pulumi.Output.all(mirror.docker_hub_token).apply(
                    lambda token: [
                        f"REGISTRY_PROXY_REMOTEURL={DOCKER_HUB_URL}",
                        f"REGISTRY_PROXY_USERNAME={mirror.docker_hub_user}",
                        f"REGISTRY_PROXY_PASSWORD={token[0]}",
                    ]
                )
            )
        return registry_container(
            f"{name}-mirror",
            parent=self,
            docker_name=docker_name,
            image_id=image_id,
            port=mirror.local_port,
            envs=envs,
            start=MIRROR_START,
            volume_name=volume.name,
            labels=labels,
        )
