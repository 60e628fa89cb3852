"""The local registry's container, as every local registry (the main one and the mirror) runs it:
the CNCF Distribution `registry` image, published on 127.0.0.1 only, hardened, with bounded logs,
its data on a named volume; and the htpasswd line of its basic auth."""

from __future__ import annotations

import base64

import bcrypt
import pulumi
import pulumi_docker

# Defined with the SDK-free options (the policy pack reads it there); re-exported for
# local/registry.py, benchmarks/auth.py and tests/engine, which take it from here.
from container_registry.local.options import REGISTRY_IMAGE as REGISTRY_IMAGE

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


def engine_name(project: str, stack: str, name: str, *, mirror: bool = False) -> str:
    """The name on the engine of the container of the local registry `name` (with `mirror`, of
    its mirror, beside it) in Pulumi project `project` and stack `stack`; its volume adds
    `-data`. Docker names are global on an engine, so project and stack go in: two stacks never
    collide."""
    return f"{project}-{stack}-{name}" + ("-mirror" if mirror else "")
