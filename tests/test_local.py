"""Tests for the local target (registries/local.py): the registry container, its auth and data,
the pushed image, the outputs of the program with no cloud set, and the Docker engine check.

The component tests replace the engine check (there is no Docker engine here); the check itself
is run for real against engines that cannot answer.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import re
import socket
import socketserver
import threading
from typing import Any

import bcrypt
import docker
import pulumi
import pytest

from conftest import (
    RANDOM_PASSWORD,
    Harness,
    Registered,
    assert_only_credentials_secret,
    is_secret,
    program_in_fresh_interpreter,
    resolve,
)
from registries import local
from registries.image import APP_DIR, content_tag
from registries.local import LocalRegistry, check_docker_engine, engine_name
from registries.settings import Settings

COMPONENT = "container-registry:local:LocalRegistry"
CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
IMAGE = "docker:index/image:Image"
PASSWORD = "random:index/randomPassword:RandomPassword"
CLOUD_SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp")

EngineCalls = list[tuple[str | None, str | None]]


@pytest.fixture(autouse=True)
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> EngineCalls:
    """No Docker engine here: record the check's arguments instead of pinging."""
    calls: EngineCalls = []

    def fake_check(host: str | None, context: str | None = None) -> None:
        calls.append((host, context))

    monkeypatch.setattr(local, "check_docker_engine", fake_check)
    return calls


@pytest.fixture
def no_engine_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Only what a test sets decides which engine is dialled, not the developer's own Docker."""
    for var in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))


def build(settings: Settings | None = None) -> LocalRegistry:
    """Build the component and wait until every output (so every child) has resolved."""
    registry = LocalRegistry("registry", settings or Settings())
    for output in (
        registry.registry_server,
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


def htpasswd_entry(container: Registered) -> tuple[str, str]:
    uploads: list[dict[str, Any]] = container.inputs["uploads"]
    assert [u["file"] for u in uploads] == ["/auth/htpasswd"], f"container uploads: {uploads}"
    content: str = uploads[0]["content"]
    assert content.endswith("\n") and content.count("\n") == 1, f"htpasswd: {content!r}"
    user, _, hashed = content.rstrip("\n").partition(":")
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
    user, hashed = htpasswd_entry(harness.one(CONTAINER))
    assert user == "admin"
    assert hashed.startswith("$2"), f"htpasswd hash is not bcrypt: {hashed!r}"
    assert bcrypt.checkpw(RANDOM_PASSWORD.encode(), hashed.encode()), (
        "the htpasswd hash does not match the generated password"
    )


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
    dev = engine_name(Settings(stack="dev"), "registry")
    prod = engine_name(Settings(stack="prod"), "registry")
    other = engine_name(Settings(project="other"), "registry")
    assert len({dev, prod, other}) == 3, "two stacks or projects would share a container name"


def test_push_waits_until_the_registry_answers(harness: Harness) -> None:
    """Distribution answers 200 on `/` before auth once it listens: the health check asks that,
    inside the container, and the provider waits for healthy before the image is pushed."""
    build()
    inputs = harness.one(CONTAINER).inputs
    check = inputs["healthcheck"]
    assert check["tests"][0] == "CMD" and check["tests"][1] == "wget", check
    assert check["tests"][-1] == "http://127.0.0.1:5000/", check
    assert check["retries"] >= 5, check
    assert inputs["wait"] is True, "the provider must wait for the registry to be healthy"
    assert 30 <= inputs["waitTimeout"] <= 300, inputs["waitTimeout"]


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
    component = harness.one(COMPONENT)
    children = [r for r in harness.resources if r is not component and r.typ != COMPONENT]
    assert {r.typ for r in children} >= {CONTAINER, VOLUME, REMOTE_IMAGE, IMAGE, PASSWORD}
    for child in children:
        assert child.parent == component.urn, f"{child.typ} {child.name} is not parented"
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


def test_program_checks_the_configured_engine(harness: Harness, engine_calls: EngineCalls) -> None:
    harness.configure(docker__host="tcp://127.0.0.1:2375", docker__context="colima")
    run_program(harness)
    assert engine_calls == [("tcp://127.0.0.1:2375", "colima")]


def test_disabled_daemon_check_is_honoured(harness: Harness, engine_calls: EngineCalls) -> None:
    harness.configure(docker__disableDockerDaemonCheck="true")
    run_program(harness)
    assert engine_calls == []


def test_no_cloud_sdk_is_loaded_for_the_local_target() -> None:
    """Run the program under mocks in a fresh interpreter and list the modules it loaded."""
    report = program_in_fresh_interpreter("local")
    assert CONTAINER in report["types"], f"the program did not build the local target: {report}"
    loaded = [m for m in report["modules"] if m.split(".")[0] in CLOUD_SDKS]
    assert loaded == [], (
        f"the local target loaded cloud SDKs: {sorted({m.split('.')[0] for m in loaded})}"
    )


# --------------------------------------------------------------------------- the engine check


@pytest.mark.usefixtures("no_engine_env")
def test_check_names_docker_host_when_the_socket_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(pulumi.RunError) as raised:
        check_docker_engine(None)
    message = str(raised.value)
    assert "Cannot reach a Docker engine at unix:///nonexistent/docker.sock" in message
    assert "DOCKER_HOST" in message and "docker:host" in message
    assert "Start Docker" in message


class _FakeEngine(http.server.BaseHTTPRequestHandler):
    """Just enough of the Engine API for docker-py's version negotiation and ping."""

    protocol_version = "HTTP/1.1"
    pings: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's method name)
        if self.path.endswith("/_ping"):
            type(self).pings.append(self.path)
            body, kind = b"OK", "text/plain"
        else:
            body, kind = json.dumps({"ApiVersion": "1.43", "Version": "24.0.0"}).encode(), "json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        request, _ = super().get_request()
        return request, ("local", 0)  # http.server wants a (host, port) client address


@pytest.mark.usefixtures("no_engine_env")
@pytest.mark.parametrize("where", [".docker/run/docker.sock", ".docker/desktop/docker.sock"])
def test_check_finds_docker_desktop_on_its_per_user_socket(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory, where: str
) -> None:
    """No DOCKER_HOST and nothing on the default socket: the provider also tries Docker
    Desktop's sockets in the home folder, so the check must not refuse an engine there."""
    home = tmp_path_factory.mktemp("h")  # short: unix socket paths are limited to ~100 bytes
    monkeypatch.setenv("HOME", str(home))
    # Whatever this machine runs, the default socket answers nothing in this test.
    monkeypatch.setattr(
        local.docker,
        "from_env",
        lambda **kw: docker.DockerClient(base_url=f"unix://{home}/absent.sock", **kw),
    )
    with pytest.raises(pulumi.RunError):
        check_docker_engine(None)  # nothing listens anywhere yet
    sock = home / where
    sock.parent.mkdir(parents=True)
    server = _UnixHTTPServer(str(sock), _FakeEngine)
    # A short poll interval: shutdown() waits up to one interval for serve_forever to notice.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        _FakeEngine.pings.clear()
        check_docker_engine(None)
        assert _FakeEngine.pings, "the check never pinged the engine on the per-user socket"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.usefixtures("no_engine_env")
def test_check_names_the_configured_host_when_nothing_listens() -> None:
    host = f"tcp://127.0.0.1:{closed_port()}"
    with pytest.raises(pulumi.RunError) as raised:
        check_docker_engine(host)
    message = str(raised.value)
    assert f"Cannot reach a Docker engine at {host}" in message
    assert "DOCKER_HOST" in message and "docker:host" in message


@pytest.mark.usefixtures("no_engine_env")
def test_check_refuses_an_unknown_docker_context() -> None:
    with pytest.raises(pulumi.RunError, match="no Docker context named 'nope'"):
        check_docker_engine(None, "nope")


@pytest.mark.usefixtures("no_engine_env")
def test_check_leaves_ssh_engines_to_the_provider_without_paramiko() -> None:
    if importlib.util.find_spec("paramiko") is not None:
        pytest.skip("paramiko is installed: docker-py dials ssh:// itself")
    check_docker_engine("ssh://nobody@nowhere.invalid")  # returns: no ping, no error


@pytest.mark.usefixtures("no_engine_env")
def test_nothing_is_registered_when_the_engine_is_unreachable(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "check_docker_engine", check_docker_engine)
    harness.configure(docker__host=f"tcp://127.0.0.1:{closed_port()}")
    with pytest.raises(pulumi.RunError, match="docker:host"):
        harness.run_program()
    assert harness.resources == [], "nothing may be registered when Docker cannot be reached"
