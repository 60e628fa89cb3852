"""The hardening, the bounded logs, the quiet probe and the fast auth of the local target, checked
on a real engine: the containers container_registry/local/ declares (with `mirror: true`, so both),
replayed by tests/engine/replay.py, and the app image built as the program builds it.

What is compared against a literal comes from the kernel's or Docker's documentation, never from
container_registry/local/: /proc/<pid>/status fields (https://docs.kernel.org/filesystems/proc.html,
"Contents of the status fields"), Docker's inspect fields and log options.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from docker.models.containers import Container

from tests.e2e.support import free_loopback_port
from tests.engine.checks import MANIFEST_TYPES, http, start_upstream
from tests.engine.images import app_base_image
from tests.engine.replay import Engine, Replay, declare, replayed, unique_stack, wait_healthy

REGISTRY = "registry-container"
MIRROR = "registry-mirror"


@pytest.fixture(scope="module")
def stack(deploy) -> Replay:
    """Both containers, declared and created; the mirror's upstream (Docker Hub) is unreachable
    here, so the mirror runs in its read-only cache mode, which is what it must survive."""
    return deploy(mirror="true")


def run_in(container: Container, command: list[str]) -> tuple[int, bytes]:
    """`docker exec`: the exit code and the output (stdout and stderr)."""
    result = container.exec_run(command)
    assert isinstance(result.output, bytes) and result.exit_code is not None, result
    return result.exit_code, result.output


def status_of(container: Container, pid: str = "1") -> dict[str, str]:
    """/proc/<pid>/status of a process in the container, as `Name: value` pairs."""
    code, output = run_in(container, ["cat", f"/proc/{pid}/status"])
    assert code == 0, output
    lines = output.decode().splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def registry_pid(container: Container) -> str:
    """The registry process (the start script execs it as pid 1; the mirror's runs it as a
    child of its sh, pid 1)."""
    _, output = run_in(container, ["sh", "-c", "for p in /proc/[0-9]*; do "
                                 'n=$(cat "$p/comm" 2>/dev/null); '
                                 'case "$n" in registry|docker-registry) echo "${p#/proc/}";; '
                                 "esac; done"])  # fmt: skip
    pids = output.decode().split()
    assert len(pids) == 1, f"{container.name}: registry processes {pids}"
    return pids[0]


def credentials(replay: Replay) -> tuple[int, tuple[str, str]]:
    exported = replay.declared.outputs["credentials"]
    port = int(exported["server"].rsplit(":", 1)[1])
    return port, (exported["username"], exported["password"])


@pytest.mark.parametrize("name", [REGISTRY, MIRROR])
def test_no_capability_and_none_to_gain(stack: Replay, name: str) -> None:
    container = stack.containers[name]
    for pid in ("1", registry_pid(container)):
        status = status_of(container, pid)
        for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(status[field], 16) == 0, f"{name} pid {pid}: {field} {status[field]}"
        assert status["NoNewPrivs"] == "1", f"{name} pid {pid}: NoNewPrivs {status['NoNewPrivs']}"


@pytest.mark.parametrize("name", [REGISTRY, MIRROR])
def test_root_file_system_is_read_only(stack: Replay, name: str) -> None:
    container = stack.containers[name]
    container.reload()
    assert container.attrs["HostConfig"]["ReadonlyRootfs"] is True, name
    for path in ("/x", "/etc/docker/registry/x", "/tmp/x", "/bin/x"):
        code, output = run_in(container, ["touch", path])
        assert code != 0, f"{name}: {path} is writable"
        assert b"Read-only file system" in output, output


def test_htpasswd_lives_in_a_private_tmpfs_and_not_in_the_registrys_environment(
    stack: Replay,
) -> None:
    container = stack.containers[REGISTRY]
    mounts = run_in(container, ["cat", "/proc/mounts"])[1].decode().splitlines()
    auth = [line.split() for line in mounts if line.split()[1] == "/auth"]
    assert auth and auth[0][2] == "tmpfs", f"/auth is not a tmpfs: {auth}"
    assert {"nosuid", "nodev", "noexec"} <= set(auth[0][3].split(",")), auth
    mode = run_in(container, ["stat", "-c", "%a %u", "/auth/htpasswd"])[1].decode().split()
    assert mode == ["600", "0"], f"/auth/htpasswd mode and owner: {mode}"
    pid = registry_pid(container)
    environ = run_in(container, ["cat", f"/proc/{pid}/environ"])[1].split(b"\0")
    assert not [e for e in environ if e.startswith(b"HTPASSWD=")], "HTPASSWD reached the registry"


def test_the_hash_is_bcrypt_cost_4_and_the_registry_accepts_it(stack: Replay) -> None:
    line = run_in(stack.containers[REGISTRY], ["cat", "/auth/htpasswd"])[1].decode()
    user, _, hashed = line.strip().partition(":")
    # `$2b$` + two-digit cost + `$` (modular crypt format of bcrypt).
    assert hashed.startswith("$2b$04$"), hashed[:7]
    port, auth = credentials(stack)
    assert user == auth[0]
    assert http(f"http://127.0.0.1:{port}/v2/", auth=auth).status == 200
    assert http(f"http://127.0.0.1:{port}/v2/", auth=(auth[0], auth[1] + "x")).status == 401


def test_the_registry_writes_its_storage_without_capabilities(stack: Replay) -> None:
    """A monolithic blob upload (POST .../blobs/uploads/ then PUT with the digest), then the
    blob read back: the volume is writable for root without CAP_DAC_OVERRIDE."""
    port, auth = credentials(stack)
    blob = f"hardening {stack.stack}".encode()
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    started = http(f"http://127.0.0.1:{port}/v2/hardening/blobs/uploads/", auth=auth, method="POST")
    assert started.status == 202, (started.status, started.body[:200])
    location = started.headers["Location"]
    url = location if location.startswith("http") else f"http://127.0.0.1:{port}{location}"
    separator = "&" if "?" in url else "?"
    stored = _put(f"{url}{separator}digest={digest}", blob, auth)
    assert stored == 201, stored
    read = http(f"http://127.0.0.1:{port}/v2/hardening/blobs/{digest}", auth=auth)
    assert read.status == 200 and read.body == blob, read.status


def _put(url: str, body: bytes, auth: tuple[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="PUT")
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/octet-stream")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize("name", [REGISTRY, MIRROR])
def test_logs_are_capped_by_the_engine(stack: Replay, name: str) -> None:
    """json-file with `max-size` and `max-file` (https://docs.docker.com/engine/logging/drivers/
    json-file/#options): the engine accepted both and rotates the file."""
    container = stack.containers[name]
    container.reload()
    log = container.attrs["HostConfig"]["LogConfig"]
    assert log["Type"] == "json-file", log
    size, count = log["Config"].get("max-size", ""), log["Config"].get("max-file", "")
    assert size[:-1].isdigit() and size[-1] in "kmg", log
    assert count.isdigit() and int(count) >= 1, log


def test_the_probe_is_quiet_once_started(stack: Replay) -> None:
    """Probes of a healthy registry come at most every 10 s (the engine's own health log), and
    it was healthy within its declared wait."""
    container = stack.containers[REGISTRY]
    declared = stack.declared.container(REGISTRY).inputs
    assert stack.healthy_after[REGISTRY] <= int(declared["waitTimeout"])
    deadline = time.monotonic() + 60
    while True:
        container.reload()
        probes = container.attrs["State"]["Health"]["Log"]
        if len(probes) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(2)
    starts = [_instant(p["Start"]) for p in probes]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) >= 2, f"too few probes to judge: {probes}"
    assert min(gaps[1:]) >= 9.0, f"probes of a healthy registry {gaps} s apart"


def _instant(stamp: str) -> float:
    """Docker's RFC 3339 time with nanoseconds, in seconds."""
    head, _, rest = stamp.partition(".")
    fraction = rest.rstrip("Z").split("+")[0].split("-")[0]
    return datetime.fromisoformat(head + "+00:00").timestamp() + float(f"0.{fraction or 0}")


def test_a_volume_of_an_older_stack_keeps_working(engine: Engine) -> None:
    """Volumes created by the registry before the hardening hold root-owned data written with
    every default capability; the hardened registry reads and extends them."""
    declared = declare(engine, unique_stack("harden"), localPort=str(free_loopback_port()))
    with tempfile.TemporaryDirectory() as folder, replayed(engine, declared, Path(folder)) as old:
        old.create_volumes()
        volume = declared.one("docker:index/volume:Volume").inputs["name"]
        image = old.image_for(declared.container(REGISTRY).inputs["image"])
        # The registry as it ran before: default capabilities, writable root, no auth needed
        # for the seeding (it writes straight into the volume's layout).
        seeded = f"{declared.stack}-old"
        engine.client.containers.run(
            image,
            entrypoint=["sh", "-c", "mkdir -p /var/lib/registry/docker/registry/v2/old && "
                        "echo old > /var/lib/registry/docker/registry/v2/old/data"],
            volumes={volume: {"bind": "/var/lib/registry", "mode": "rw"}},
            name=seeded,
            remove=True,
        )  # fmt: skip
        container = old.create_container(REGISTRY)
        wait_healthy(engine, container, 60)
        code, output = run_in(
            container,
            ["sh", "-c", "cat /var/lib/registry/docker/registry/v2/old/data && "
             "echo new > /var/lib/registry/docker/registry/v2/old/new && echo ok"]
        )  # fmt: skip
        assert code == 0 and output.decode().split() == ["old", "ok"], output


def test_the_app_image_declares_only_port_8080(deploy) -> None:
    """Docker's image config (`ExposedPorts`) after the build the program declares (without the
    mirror: its upstream cannot be reached here): the base image's 80 is not inherited."""
    plain: Replay = deploy()
    pushed = plain.build_and_push()
    image = plain.engine.client.images.get(plain.declared.image.inputs["imageName"])
    assert image.attrs["Config"]["ExposedPorts"] == {"8080/tcp": {}}, image.attrs["Config"]
    assert image.attrs["Config"]["User"] == "101:101"
    assert pushed.split("@")[1].startswith("sha256:")


def test_the_mirror_goes_back_to_proxying_when_its_upstream_returns(deploy) -> None:
    """An outage: the mirror, restarted, serves its cache read-only (a push is refused). The
    upstream comes back with an image the mirror has never seen: within its next checks (once a
    minute) the mirror is a pull-through cache again and fetches it."""
    replay: Replay = deploy(mirror="true", start=False)
    client = replay.engine.client
    network = replay.network(f"{replay.stack}-upstream-net")
    upstream = f"{replay.stack}-upstream"
    image = replay.image_for(replay.declared.container(MIRROR).inputs["image"])
    seed_port = free_loopback_port()

    start_upstream(replay, image, network=network, name=upstream, port=seed_port)
    replay.env_overrides[MIRROR] = {"REGISTRY_PROXY_REMOTEURL": f"http://{upstream}:5000"}
    replay.networks[MIRROR] = [network]
    replay.create_all()
    mirror = replay.containers[MIRROR]
    port = int(replay.declared.outputs["mirrorEndpoint"].split("/", 1)[0].rsplit(":", 1)[1])

    client.containers.get(upstream).remove(force=True)
    mirror.restart()
    wait_healthy(
        replay.engine, mirror, int(replay.declared.container(MIRROR).inputs["waitTimeout"])
    )
    refused = http(f"http://127.0.0.1:{port}/v2/library/pushed/blobs/uploads/", method="POST")
    assert refused.status == 405, f"the cache took a push: HTTP {refused.status}"

    start_upstream(replay, image, network=network, name=upstream, port=seed_port)
    fresh = replay.track_image(f"127.0.0.1:{seed_port}/library/fresh:1")
    client.images.get(app_base_image()).tag(fresh)
    replay.engine.docker("push", fresh, config_dir=replay.docker_config("fresh"))
    manifest = f"http://127.0.0.1:{port}/v2/library/fresh/manifests/1"

    def manifest_status() -> int | str:
        try:
            return http(manifest, headers={"Accept": MANIFEST_TYPES}).status
        except OSError as err:
            # While it switches modes the mirror restarts its registry: the published port
            # accepts the connection and drops it until the registry listens again.
            return f"{type(err).__name__}: {err}"

    deadline = time.monotonic() + 90
    while (status := manifest_status()) != 200:
        assert time.monotonic() < deadline, f"still not proxying after 90 s: {status}"
        time.sleep(3)
