"""Tests for the local target (container_registry/local/): the registry container, its auth and
data, the pushed image, the outputs of the program with no cloud set, and the Docker engine check.

The component tests replace the engine check (there is no Docker engine here); the check itself
is run for real against engines that cannot answer.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import bcrypt
import pulumi
import pytest

from conftest import (
    RANDOM_PASSWORD,
    ROOT,
    Deployed,
    Harness,
    Registered,
    args_of,
    assert_only_credentials_secret,
    deploy,
    fresh_stack,
    is_secret,
    program_in_fresh_interpreter,
    resolve,
    service_component,
    stub_engine,
)
from container_registry.image import content_tag
from container_registry.local.container import engine_name
from container_registry.local.options import LocalMirrorOptions as MirrorSettings
from container_registry.local.options import LocalOptions as Settings
from stack.config.engine import DockerEngine
from stack.config.errors import SettingsError

APP_DIR = ROOT / "app"
# The service component Registry builds as its one child; the resources are its children.
COMPONENT = "container-registry:index:LocalRegistry"
CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
IMAGE = "docker:index/image:Image"
PASSWORD = "random:index/randomPassword:RandomPassword"
CLOUD_SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp")

PROVIDER = "pulumi:providers:docker"


@pytest.fixture(autouse=True)
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> list[DockerEngine]:
    """No Docker engine here: record the engines the check was asked about instead of pinging."""
    return stub_engine(monkeypatch)


def build(settings: Settings | None = None) -> Deployed:
    """Build the Registry and the app image pushed to it, and wait until every output (so every
    child) has resolved."""
    registry = deploy(args_of(settings or Settings()))
    for output in (
        registry.registry.registry_server,
        registry.repo_endpoint,
        registry.image_name,
        registry.repo_digest,
        registry.credentials,
    ):
        resolve(output)
    return registry


def run_program(harness: Harness) -> dict[str, Any]:
    """Run __main__.py and wait until every exported output (so every resource) has resolved."""
    outputs = harness.run_program()
    for output in outputs.values():
        resolve(output)
    return outputs


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_of(container: Registered) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.inputs["envs"])


def htpasswd_entry(container: Registered) -> tuple[str, str]:
    """The htpasswd line the start script writes (from HTPASSWD) to the file auth reads."""
    line = env_of(container)["HTPASSWD"]
    assert "\n" not in line, f"htpasswd: {line!r}"
    user, _, hashed = line.partition(":")
    return user, hashed


# --------------------------------------------------------------------------- the container


def test_container_is_published_on_loopback_only(harness: Harness) -> None:
    build()
    ports = harness.one(CONTAINER).inputs["ports"]
    assert ports == [{"internal": 5000, "external": 5000, "ip": "127.0.0.1"}], (
        f"container ports must publish 5000 on 127.0.0.1 only, got {ports}"
    )


def test_container_turns_on_htpasswd_auth_and_delete(harness: Harness) -> None:
    build()
    envs = harness.one(CONTAINER).inputs["envs"]
    env = dict(item.split("=", 1) for item in envs)
    assert env["REGISTRY_AUTH"] == "htpasswd", f"container envs: {envs}"
    assert env["REGISTRY_AUTH_HTPASSWD_PATH"] == "/auth/htpasswd", f"container envs: {envs}"
    assert env["REGISTRY_AUTH_HTPASSWD_REALM"], f"container envs: {envs}"
    assert env["REGISTRY_STORAGE_DELETE_ENABLED"] == "true", f"container envs: {envs}"


def test_htpasswd_holds_a_bcrypt_hash_of_the_generated_password(harness: Harness) -> None:
    build()
    container = harness.one(CONTAINER)
    user, hashed = htpasswd_entry(container)
    assert user == "admin"
    assert bcrypt.checkpw(RANDOM_PASSWORD.encode(), hashed.encode()), (
        "the htpasswd hash does not match the generated password"
    )
    assert "envs" in container.secret_paths, "the htpasswd line reached the provider in clear"


def test_htpasswd_hash_has_bcrypts_lowest_cost(harness: Harness) -> None:
    """Modular crypt format: `$2b$` then the cost as two decimal digits (the log2 of the rounds)
    then `$`; 4 is the lowest cost bcrypt allows (OpenBSD bcrypt(3), "the minimum is 4";
    https://man.openbsd.org/crypt_newhash.3 and the `bcrypt` package's README, "rounds")."""
    build()
    _, hashed = htpasswd_entry(harness.one(CONTAINER))
    assert hashed.startswith("$2b$04$"), f"htpasswd hash is not bcrypt at cost 4: {hashed[:7]!r}"
    assert len(hashed) == 60, f"a bcrypt hash is 60 characters: {len(hashed)}"


def test_two_program_runs_give_byte_identical_containers() -> None:
    """A second `up` must replace nothing: the hash's salt comes from the state (a RandomId the
    mocks answer the same way twice), never from the clock or os.urandom at run time. The
    mocks' own bcrypt salt for RandomPassword.bcryptHash differs per run on purpose."""
    runs = []
    for _ in range(2):
        with fresh_stack({"mirror": "true"}) as run:
            for output in run.run_program().values():
                resolve(output)
            containers = {r.name: r.inputs for r in run.resources if r.typ == CONTAINER}
            runs.append(json.dumps(containers, sort_keys=True))
    first, second = runs
    assert "HTPASSWD=admin:$2b$04$" in first, "the run did not register the htpasswd line"
    assert first == second, "two runs registered different container inputs"


def test_password_is_long_and_within_bcrypt_limits(harness: Harness) -> None:
    build()
    inputs = harness.one(PASSWORD).inputs
    assert 32 <= inputs["length"] <= 72, f"RandomPassword length: {inputs['length']}"
    assert inputs.get("special") is False or "overrideSpecial" in inputs, (
        f"RandomPassword special characters need a safe set: {inputs}"
    )


def test_container_restarts_unless_stopped_and_is_named_per_stack(harness: Harness) -> None:
    build()
    inputs = harness.one(CONTAINER).inputs
    assert inputs["restart"] == "unless-stopped", f"container restart: {inputs['restart']}"
    assert inputs["name"] == "container-registry-dev-registry", f"container name: {inputs['name']}"
    dev = engine_name("container-registry", "dev", "registry")
    prod = engine_name("container-registry", "prod", "registry")
    other = engine_name("other", "dev", "registry")
    assert len({dev, prod, other}) == 3, "two stacks or projects would share a container name"


def seconds(duration: str) -> float:
    """A Docker health-check duration as the provider takes it (`1s`, `500ms`, `2m`)."""
    match = re.fullmatch(r"(\d+)(ms|s|m)", duration)
    assert match, f"not a duration: {duration!r}"
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2]]


def test_push_waits_until_the_registry_answers(harness: Harness) -> None:
    """Distribution answers 200 on `/` before auth once it listens: the health check asks that,
    inside the container, and the provider waits for healthy before the image is pushed."""
    build()
    inputs = harness.one(CONTAINER).inputs
    check = inputs["healthcheck"]
    assert check["tests"][0] == "CMD" and check["tests"][1] == "wget", check
    assert check["tests"][-1] == "http://127.0.0.1:5000/", check
    assert check["retries"] >= 3, check
    assert inputs["wait"] is True, "the provider must wait for the registry to be healthy"
    assert 30 <= inputs["waitTimeout"] <= 300, inputs["waitTimeout"]


def test_health_probe_is_quick_at_start_and_quiet_after(harness: Harness) -> None:
    """Each probe is an access-log line. Docker probes every `start_interval` during
    `start_period` (API 1.44+, https://docs.docker.com/reference/dockerfile/#healthcheck), then
    every `interval`; an engine that ignores start_interval probes first after `interval`, which
    must still leave the provider's wait room for a few probes."""
    build()
    inputs = harness.one(CONTAINER).inputs
    check = inputs["healthcheck"]
    assert seconds(check["interval"]) >= 10, f"probed too often for the container's life: {check}"
    assert seconds(check["startInterval"]) <= 2, f"slow to notice the start: {check}"
    assert seconds(check["startPeriod"]) >= 10 * seconds(check["startInterval"]), check
    assert seconds(check["timeout"]) <= seconds(check["interval"]), check
    assert 3 * seconds(check["interval"]) <= inputs["waitTimeout"], (
        f"an engine without start_interval would probe too late for the wait: {inputs}"
    )


@pytest.mark.parametrize("mirror", [False, True], ids=["registry", "with-mirror"])
def test_an_old_engine_s_missing_start_interval_is_not_a_change(
    harness: Harness, mirror: bool
) -> None:
    """Docker before 25 (API < 1.44) drops start_interval, and a refresh reads back what the
    engine reports, so the container must ignore that one property's drift, and only it."""
    build(Settings(mirror=MirrorSettings(enabled=True)) if mirror else None)
    for container in harness.of_type(CONTAINER):
        assert container.ignore_changes == ["healthcheck.startInterval"], container.name


@pytest.mark.parametrize("mirror", [False, True], ids=["registry", "with-mirror"])
def test_every_container_has_bounded_logs(harness: Harness, mirror: bool) -> None:
    """json-file with a size cap and a file count: Docker's options are `max-size` (a number
    with k, m or g) and `max-file` (https://docs.docker.com/engine/logging/drivers/json-file/)."""
    build(Settings(mirror=MirrorSettings(enabled=True)) if mirror else None)
    containers = harness.of_type(CONTAINER)
    assert len(containers) == (2 if mirror else 1)
    for container in containers:
        inputs = container.inputs
        assert inputs.get("logDriver") == "json-file", f"{container.name}: {inputs}"
        opts = inputs.get("logOpts", {})
        assert re.fullmatch(r"[1-9]\d*[kmg]", opts.get("max-size", "")), f"{container.name}: {opts}"
        assert 1 <= int(opts.get("max-file", "0")) <= 10, f"{container.name}: {opts}"


@pytest.mark.parametrize("mirror", [False, True], ids=["registry", "with-mirror"])
def test_every_container_is_hardened(harness: Harness, mirror: bool) -> None:
    """Read-only root filesystem, `no-new-privileges:true` (the form Docker documents,
    https://docs.docker.com/reference/cli/docker/container/run/#security-opt) and every
    capability dropped (`ALL`, https://docs.docker.com/engine/containers/run/#runtime-privilege-and-linux-capabilities),
    none added: the registry binds 5000 (above 1024) and owns what it writes."""
    build(Settings(mirror=MirrorSettings(enabled=True)) if mirror else None)
    for container in harness.of_type(CONTAINER):
        inputs = container.inputs
        assert inputs.get("readOnly") is True, f"{container.name}: root filesystem is writable"
        assert "no-new-privileges:true" in inputs.get("securityOpts", []), (
            f"{container.name}: {inputs.get('securityOpts')}"
        )
        assert inputs.get("capabilities") == {"drops": ["ALL"]}, (
            f"{container.name}: {inputs.get('capabilities')}"
        )
        assert inputs.get("user") in (None, "", "0", "0:0", "root"), inputs.get("user")


def test_htpasswd_is_written_to_a_small_tmpfs(harness: Harness) -> None:
    """Docker refuses `uploads` into a read-only root filesystem, so the start script writes the
    file from HTPASSWD into a tmpfs, then removes the variable and starts the registry as the
    image does."""
    build()
    inputs = harness.one(CONTAINER).inputs
    path = env_of(harness.one(CONTAINER))["REGISTRY_AUTH_HTPASSWD_PATH"]
    folder = path.rsplit("/", 1)[0]
    assert list(inputs.get("tmpfs", {})) == [folder], f"tmpfs: {inputs.get('tmpfs')}"
    options = inputs["tmpfs"][folder].split(",")
    assert {"noexec", "nosuid", "nodev"} <= set(options), options
    assert "uploads" not in inputs, "uploads fail on a read-only root filesystem"
    entrypoint = inputs["entrypoints"]
    assert entrypoint[:2] == ["/bin/sh", "-c"], entrypoint
    script = entrypoint[2].splitlines()
    assert f"> {path})" in script[0] and "$HTPASSWD" in script[0], script
    assert "unset HTPASSWD" in script, script
    assert script[-1] == "exec /entrypoint.sh /etc/docker/registry/config.yml", script


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
@pytest.mark.parametrize("mirror", [False, True], ids=["registry", "mirror"])
def test_start_scripts_pass_shellcheck(harness: Harness, mirror: bool) -> None:
    build(Settings(mirror=MirrorSettings(enabled=True)))
    name = "registry-mirror" if mirror else "registry-container"
    script = next(c for c in harness.of_type(CONTAINER) if c.name == name).inputs["entrypoints"][2]
    checked = subprocess.run(
        ["shellcheck", "--shell=sh", "-"], input=script, capture_output=True, text=True
    )
    assert checked.returncode == 0, f"{name}:\n{checked.stdout}"


def test_a_mirror_that_dies_in_proxy_mode_serves_its_cache(
    harness: Harness, tmp_path: Path
) -> None:
    """The check's wget can get an answer that the registry's own client refuses (a TLS
    certificate busybox does not verify); Distribution then panics at start in proxy mode. The
    mirror's start script must fall back to the read-only cache, not crash-loop. Run on this
    machine with the image's entrypoint swapped for one that dies whenever it is given
    REGISTRY_PROXY_REMOTEURL, and a wget that always gets an HTTP answer."""
    build(Settings(mirror=MirrorSettings(enabled=True)))
    mirror = next(c for c in harness.of_type(CONTAINER) if c.name == "registry-mirror")
    script = mirror.inputs["entrypoints"][2]
    assert "/entrypoint.sh " in script, script
    log = tmp_path / "starts.log"
    entrypoint = tmp_path / "entrypoint.sh"
    entrypoint.write_text(
        "#!/bin/sh\n"
        'if [ -n "$REGISTRY_PROXY_REMOTEURL" ]; then echo proxy >> "$LOG"; exit 2; fi\n'
        'echo "cache $REGISTRY_STORAGE_MAINTENANCE_READONLY" >> "$LOG"\n'
        "exec /bin/sleep 60\n"
    )
    wget = tmp_path / "bin" / "wget"
    wget.parent.mkdir()
    wget.write_text("#!/bin/sh\necho '  HTTP/1.1 200 OK' >&2\n")
    # The script's pauses (5 s between checks, 1 s between starts), a hundredth as long: what is
    # checked is the order of the starts, not their pace (6 s of the unit suite otherwise).
    sleep = tmp_path / "bin" / "sleep"
    sleep.write_text('#!/bin/sh\nexec /bin/sleep "$(awk "BEGIN { print $1 / 100 }")"\n')
    for tool in (entrypoint, wget, sleep):
        tool.chmod(0o755)
    env = {
        "PATH": f"{wget.parent}:/usr/bin:/bin",
        "LOG": str(log),
        "REGISTRY_PROXY_REMOTEURL": "https://upstream.invalid",
    }
    started = subprocess.Popen(
        ["sh", "-c", script.replace("/entrypoint.sh ", f"{entrypoint} ")], env=env
    )
    try:
        deadline = time.monotonic() + 20
        while not (log.exists() and "cache" in log.read_text()):
            assert started.poll() is None, "the start script ended"
            assert time.monotonic() < deadline, f"no fallback to the cache: {log.read_text()}"
            time.sleep(0.2)
    finally:
        started.terminate()
        started.wait(timeout=20)
    assert log.read_text().splitlines()[:2] == ["proxy", "cache {enabled: true}"], log.read_text()


def test_registry_image_is_a_pinned_distribution_release(harness: Harness) -> None:
    build()
    remote = harness.one(REMOTE_IMAGE)
    name: str = remote.inputs["name"]
    assert re.fullmatch(r"registry:2\.8\.\d+", name), f"registry image is not pinned: {name}"
    assert remote.inputs.get("keepLocally") is True, f"registry image inputs: {remote.inputs}"
    container = harness.one(CONTAINER)
    assert container.inputs["image"].startswith("sha256:"), (
        f"container image should be the pulled image's ID: {container.inputs['image']}"
    )
    assert remote.urn in container.dependencies


def test_data_lives_on_a_named_volume(harness: Harness) -> None:
    build()
    volume = harness.one(VOLUME)
    volumes = harness.one(CONTAINER).inputs["volumes"]
    assert volumes == [
        {"volumeName": volume.inputs["name"], "containerPath": "/var/lib/registry"}
    ], f"container volumes: {volumes}"
    assert volume.inputs["name"] == "container-registry-dev-registry-data"


def test_every_child_belongs_to_the_component(harness: Harness) -> None:
    build()
    component = service_component(harness, "local")
    children = [r for r in harness.resources if r.parent == component.urn]
    assert {r.typ for r in children} >= {CONTAINER, VOLUME, REMOTE_IMAGE, PASSWORD}
    pushed = harness.one("container-registry:index:RegistryImage")
    assert harness.one(IMAGE).parent == pushed.urn
    for child in [*children, harness.one(IMAGE)]:
        assert child.name.startswith("registry-"), f"{child.name} is not named from the component"


def test_image_is_pushed_to_the_registry_after_it_runs(harness: Harness) -> None:
    registry = build()
    image = harness.one(IMAGE)
    container = harness.one(CONTAINER)
    assert container.urn in image.dependencies, "the push must wait for the registry container"
    tag = content_tag(APP_DIR, "linux/amd64")
    assert image.inputs["imageName"] == f"localhost:5000/app:{tag}"
    registry_args = image.inputs["registry"]
    assert registry_args["server"] == "localhost:5000"
    assert registry_args["username"] == "admin"
    assert registry_args["password"] == RANDOM_PASSWORD
    assert resolve(registry.image_name) == f"localhost:5000/app:{tag}"


def test_volume_is_protected_by_default(harness: Harness) -> None:
    build()
    assert harness.one(VOLUME).protect, "the registry data volume must be protected by default"
    assert not harness.one(CONTAINER).protect


def test_force_delete_lifts_the_volume_protection(harness: Harness) -> None:
    build(Settings(force_delete=True))
    assert not harness.one(VOLUME).protect, "forceDelete true must let destroy delete the volume"


# --------------------------------------------------------------------------- the program


def test_program_defaults_to_the_local_registry(harness: Harness) -> None:
    outputs = run_program(harness)
    tag = content_tag(APP_DIR, "linux/amd64")
    assert resolve(outputs["cloud"]) == "local"
    assert resolve(outputs["registryServer"]) == "localhost:5000"
    assert resolve(outputs["repoEndpoint"]) == "localhost:5000/app"
    assert resolve(outputs["imageName"]) == f"localhost:5000/app:{tag}"
    assert re.fullmatch(r"localhost:5000/app@sha256:[0-9a-f]{64}", resolve(outputs["repoDigest"]))
    assert is_secret(outputs["credentials"]), "credentials must be a secret"
    assert resolve(outputs["credentials"]) == {
        "server": "localhost:5000",
        "username": "admin",
        "password": RANDOM_PASSWORD,
    }
    harness.one(COMPONENT)


def test_no_secret_leaks_into_plain_outputs(harness: Harness) -> None:
    outputs = run_program(harness)
    assert_only_credentials_secret(outputs)


def test_program_honours_local_port_and_user(harness: Harness) -> None:
    harness.configure(localPort="5123", localUser="ci-bot")
    outputs = run_program(harness)
    assert resolve(outputs["registryServer"]) == "localhost:5123"
    assert resolve(outputs["repoEndpoint"]) == "localhost:5123/app"
    assert resolve(outputs["credentials"])["username"] == "ci-bot"
    container = harness.one(CONTAINER)
    assert container.inputs["ports"] == [{"internal": 5000, "external": 5123, "ip": "127.0.0.1"}]
    assert htpasswd_entry(container)[0] == "ci-bot"


@pytest.mark.parametrize("port", ["0", "70000", "abc"])
def test_program_refuses_a_bad_local_port(harness: Harness, port: str) -> None:
    harness.configure(localPort=port)
    with pytest.raises(pulumi.RunError, match="localPort"):
        harness.run_program()
    assert harness.resources == [], "nothing may be created with a bad localPort"


def test_program_with_force_delete_leaves_the_volume_unprotected(harness: Harness) -> None:
    harness.configure(forceDelete="true")
    run_program(harness)
    assert not harness.one(VOLUME).protect


def test_program_checks_the_configured_engine(
    harness: Harness, engine_calls: list[DockerEngine]
) -> None:
    harness.configure(docker__host="tcp://127.0.0.1:2375")
    run_program(harness)
    assert [engine.host for engine in engine_calls] == ["tcp://127.0.0.1:2375"]


def test_every_docker_resource_uses_the_one_checked_engine(harness: Harness) -> None:
    """The container, volume, registry image and the app image all go through one explicit
    provider with the engine's host: the bridged and native halves of pulumi-docker would
    otherwise pick their engines differently (stack/config/engine.py)."""
    harness.configure(docker__host="tcp://127.0.0.1:2375")
    run_program(harness)
    provider = harness.one(PROVIDER)
    assert provider.inputs.get("host") == "tcp://127.0.0.1:2375", provider.inputs
    docker_resources = [r for r in harness.resources if r.typ.startswith("docker:")]
    assert {r.typ for r in docker_resources} == {CONTAINER, VOLUME, REMOTE_IMAGE, IMAGE}
    for resource in docker_resources:
        assert resource.provider.startswith(provider.urn + "::"), (
            f"{resource.typ} {resource.name} uses {resource.provider or 'the default provider'}"
        )


def test_disabled_daemon_check_is_honoured(
    harness: Harness, engine_calls: list[DockerEngine]
) -> None:
    harness.configure(docker__disableDockerDaemonCheck="true")
    run_program(harness)
    assert engine_calls == []
    # Provider inputs travel as JSON strings.
    assert harness.one(PROVIDER).inputs.get("disableDockerDaemonCheck") == "true"


@pytest.mark.parametrize(
    ("architecture", "platform"),
    [("x86_64", "linux/amd64"), ("aarch64", "linux/arm64"), ("armv7l", "linux/arm/v7")],
)
def test_local_builds_for_the_engines_own_architecture(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, architecture: str, platform: str
) -> None:
    stub_engine(monkeypatch, architecture)
    outputs = run_program(harness)
    image = harness.one(IMAGE)
    assert image.inputs["build"]["platform"] == platform
    assert resolve(outputs["imageName"]).endswith(":" + content_tag(APP_DIR, platform))


def test_an_explicit_platform_wins_over_the_engine(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_engine(monkeypatch, "aarch64")
    harness.configure(platform="linux/amd64")
    run_program(harness)
    assert harness.one(IMAGE).inputs["build"]["platform"] == "linux/amd64"


def test_an_unknown_engine_architecture_asks_for_platform(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_engine(monkeypatch, "pdp11")
    with pytest.raises(SettingsError) as raised:
        harness.run_program()
    assert raised.value.key == "platform" and "pdp11" in str(raised.value)
    assert harness.resources == [], "nothing may be registered"


def test_no_cloud_sdk_is_loaded_for_the_local_target() -> None:
    """Run the program under mocks in a fresh interpreter and list the modules it loaded."""
    report = program_in_fresh_interpreter("local")
    assert CONTAINER in report["types"], f"the program did not build the local target: {report}"
    loaded = [m for m in report["modules"] if m.split(".")[0] in CLOUD_SDKS]
    assert loaded == [], (
        f"the local target loaded cloud SDKs: {sorted({m.split('.')[0] for m in loaded})}"
    )
