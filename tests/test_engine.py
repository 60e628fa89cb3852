"""The one Docker engine (stack/config/engine.py): which endpoint a stack resolves to, from config,
the environment and Docker contexts made here with docker-py's own context API; the check, run
for real against engines that cannot answer and a fake Engine API on a socket; the platform."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import json
import os
import socket
import socketserver
import threading
from pathlib import Path

import pulumi
import pytest

from conftest import Harness, resolve
from stack.config import engine as engine_module
from stack.config.engine import (
    DockerEngine,
    engine_platform,
    prepare_engine,
    probe_engine,
    resolve_engine,
)
from stack.config.errors import SettingsError
from stack.config.parse import EngineSettings, Settings, parse_settings

PROVIDER = "pulumi:providers:docker"


def settings_with(host: str | None = None, context: str | None = None, **values: str) -> Settings:
    base = parse_settings(values)
    engine = EngineSettings(host=host, context=context)
    return Settings(**{**base.__dict__, "engine": engine})


def make_context(name: str, host: str, *, tls: bool = False) -> None:
    """A Docker context in the test's DOCKER_CONFIG, laid out as `docker context create` lays it
    out: contexts/meta/<sha256 of the name>/meta.json, and TLS files under contexts/tls/."""
    store = Path(os.environ["DOCKER_CONFIG"]) / "contexts"
    context_id = hashlib.sha256(name.encode()).hexdigest()
    meta = {
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}},
    }
    (store / "meta" / context_id).mkdir(parents=True)
    (store / "meta" / context_id / "meta.json").write_text(json.dumps(meta))
    if tls:
        tls_dir = store / "tls" / context_id / "docker"
        tls_dir.mkdir(parents=True)
        for file_name in ("ca.pem", "cert.pem", "key.pem"):
            (tls_dir / file_name).write_text("not a real certificate\n")


def use_context(name: str) -> None:
    """`docker context use NAME`: the current context in the Docker config file."""
    config = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"currentContext": name}))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- which engine


def test_no_setting_leaves_the_default_socket() -> None:
    engine = resolve_engine(settings_with())
    assert engine.host is None and engine.cert_path is None


def test_docker_host_setting_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_engine(settings_with(host="tcp://10.0.0.5:2375")).host == "tcp://10.0.0.5:2375"
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    assert resolve_engine(settings_with()).host == "unix:///run/user/1000/docker.sock"
    assert resolve_engine(settings_with(host="tcp://h:2375")).host == "tcp://h:2375"


def test_cert_path_of_a_tls_host_reaches_the_provider(harness: Harness) -> None:
    harness.configure(
        cloud="aws", docker__host="tcp://192.0.2.50:2376", docker__certPath="/home/me/.docker/tls"
    )
    resolve(harness.run_program()["repoDigest"])
    provider = harness.one(PROVIDER)
    assert provider.inputs.get("host") == "tcp://192.0.2.50:2376"
    assert provider.inputs.get("certPath") == "/home/me/.docker/tls"


def test_docker_context_setting_resolves_to_its_endpoint() -> None:
    make_context("colima", "unix:///Users/me/.colima/default/docker.sock")
    engine = resolve_engine(settings_with(context="colima"))
    assert engine.host == "unix:///Users/me/.colima/default/docker.sock"
    assert "colima" in engine.source


def test_docker_context_wins_over_docker_host_as_in_the_provider() -> None:
    make_context("remote", "tcp://192.0.2.10:2375")
    engine = resolve_engine(settings_with(host="tcp://127.0.0.1:2375", context="remote"))
    assert engine.host == "tcp://192.0.2.10:2375"


def test_docker_context_environment_and_current_context(monkeypatch: pytest.MonkeyPatch) -> None:
    make_context("from-env", "tcp://192.0.2.11:2375")
    make_context("current", "unix:///home/me/.docker/desktop/docker.sock")
    use_context("current")
    assert resolve_engine(settings_with()).host == "unix:///home/me/.docker/desktop/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "tcp://192.0.2.12:2375")
    assert resolve_engine(settings_with()).host == "tcp://192.0.2.12:2375", "DOCKER_HOST wins"
    monkeypatch.setenv("DOCKER_CONTEXT", "from-env")
    assert resolve_engine(settings_with()).host == "tcp://192.0.2.11:2375"


def test_default_context_setting_means_no_context() -> None:
    assert resolve_engine(settings_with(context="default")).host is None


def test_default_context_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bridged provider reads DOCKER_CONTEXT itself and cannot load the built-in context
    (getContextHost looks only in the context store), so it must not reach the provider."""
    monkeypatch.setenv("DOCKER_CONTEXT", "default")
    with pytest.raises(SettingsError) as raised:
        resolve_engine(settings_with())
    assert raised.value.key == "DOCKER_CONTEXT" and "unset DOCKER_CONTEXT" in str(raised.value)


def test_tls_context_hands_its_certificates_to_the_provider() -> None:
    make_context("tls", "tcp://192.0.2.20:2376", tls=True)
    engine = resolve_engine(settings_with(context="tls"))
    assert engine.host == "tcp://192.0.2.20:2376"
    assert engine.cert_path is not None
    assert {p.name for p in Path(engine.cert_path).iterdir()} >= {"ca.pem", "cert.pem", "key.pem"}


@pytest.mark.parametrize(("context", "key"), [("nope", "docker:context")])
def test_unknown_context_is_refused_naming_the_key(context: str, key: str) -> None:
    with pytest.raises(SettingsError) as raised:
        resolve_engine(settings_with(context=context))
    assert raised.value.key == key and "docker context ls" in str(raised.value)


def test_unknown_context_from_the_environment_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONTEXT", "gone")
    with pytest.raises(SettingsError) as raised:
        resolve_engine(settings_with())
    assert raised.value.key == "DOCKER_CONTEXT"


@pytest.mark.parametrize(
    ("host", "context"), [("tcp://127.0.0.1:2375", None), (None, "other")], ids=["host", "context"]
)
def test_settings_that_disagree_with_docker_context_are_refused(
    monkeypatch: pytest.MonkeyPatch, host: str | None, context: str | None
) -> None:
    """The provider's container and volume would follow DOCKER_CONTEXT, the image the setting."""
    make_context("env", "tcp://192.0.2.30:2375")
    make_context("other", "tcp://192.0.2.31:2375")
    monkeypatch.setenv("DOCKER_CONTEXT", "env")
    with pytest.raises(SettingsError) as raised:
        resolve_engine(settings_with(host=host, context=context))
    assert raised.value.key == ("docker:context" if context else "docker:host")
    assert "DOCKER_CONTEXT" in str(raised.value)


def test_program_puts_every_docker_resource_on_the_contexts_engine(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The end-to-end shape of defect 3: a context set, and every Docker resource, the app image
    included, on one explicit provider whose host is that context's endpoint."""
    make_context("colima", "unix:///Users/me/.colima/default/docker.sock")
    asked: list[DockerEngine] = []
    monkeypatch.setattr(
        engine_module, "probe_engine", lambda engine: (asked.append(engine), (engine, "aarch64"))[1]
    )
    harness.configure(docker__context="colima")
    outputs = harness.run_program()
    resolve(outputs["repoDigest"])
    assert [engine.host for engine in asked] == ["unix:///Users/me/.colima/default/docker.sock"]
    provider = harness.one(PROVIDER)
    assert provider.inputs.get("host") == "unix:///Users/me/.colima/default/docker.sock"
    docker_resources = [r for r in harness.resources if r.typ.startswith("docker:")]
    assert docker_resources, "the program registered no Docker resource"
    for resource in docker_resources:
        assert resource.provider.startswith(provider.urn + "::"), resource.name


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_cloud_targets_build_on_the_resolved_engine_too(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    make_context("remote", "tcp://192.0.2.40:2375")
    config = {"cloud": cloud, "docker__context": "remote"}
    if cloud == "gcp":
        config |= {"gcp__project": "my-project-123", "gcp__region": "europe-west4"}
    harness.configure(**config)
    outputs = harness.run_program()
    resolve(outputs["repoDigest"])
    provider = harness.one(PROVIDER)
    assert provider.inputs.get("host") == "tcp://192.0.2.40:2375"
    image = harness.one("docker:index/image:Image")
    assert image.provider.startswith(provider.urn + "::")
    assert image.inputs["build"]["platform"] == "linux/amd64", "clouds default to linux/amd64"


def test_nothing_is_registered_for_an_unknown_context(harness: Harness) -> None:
    harness.configure(docker__context="nope")
    with pytest.raises(SettingsError):
        harness.run_program()
    assert harness.resources == []


# --------------------------------------------------------------------------- platforms


@pytest.mark.parametrize(
    ("architecture", "platform"),
    [
        ("x86_64", "linux/amd64"),
        ("aarch64", "linux/arm64"),
        ("arm64", "linux/arm64"),
        ("armv7l", "linux/arm/v7"),
        ("armv6l", "linux/arm/v6"),
        ("ppc64le", "linux/ppc64le"),
        ("s390x", "linux/s390x"),
        ("riscv64", "linux/riscv64"),
        ("i686", "linux/386"),
        ("sparc64", None),
        ("", None),
    ],
)
def test_engine_architecture_maps_to_a_docker_platform(
    architecture: str, platform: str | None
) -> None:
    assert engine_platform(architecture) == platform


@pytest.mark.parametrize(
    "config",
    [
        {"docker:host": "ssh://builder@build-host.example.com"},
        {"docker:host": "tcp://192.0.2.60:2376", "docker:disableDockerDaemonCheck": "true"},
    ],
    ids=["ssh-engine", "remote-engine-unchecked"],
)
def test_a_remote_engine_that_cannot_be_asked_needs_a_platform(
    monkeypatch: pytest.MonkeyPatch, config: dict[str, str]
) -> None:
    """This machine's architecture says nothing about a remote engine: no guess, ask."""
    monkeypatch.setattr(engine_module, "probe_engine", lambda engine: (engine, None))
    with pytest.raises(SettingsError) as raised:
        prepare_engine(parse_settings(config))
    assert raised.value.key == "platform"
    assert "`./up.sh --stack dev --config platform linux/amd64`" in str(raised.value)
    given = parse_settings({**config, "platform": "linux/amd64"})
    assert prepare_engine(given).settings.platform == "linux/amd64"


def test_every_target_checks_its_engine(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clouds build on the engine too: an unreachable one stops them before anything
    exists, and a Docker Desktop socket found by the check reaches the provider."""
    asked: list[DockerEngine] = []
    desktop = DockerEngine(host="unix:///Users/me/.docker/run/docker.sock", source="Docker Desktop")
    monkeypatch.setattr(
        engine_module, "probe_engine", lambda engine: (asked.append(engine), (desktop, None))[1]
    )
    harness.configure(cloud="aws")
    resolve(harness.run_program()["repoDigest"])
    assert len(asked) == 1
    assert harness.one(PROVIDER).inputs.get("host") == desktop.host


def test_local_without_a_check_builds_for_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module.host_platform, "machine", lambda: "aarch64")
    settings = parse_settings({"docker:disableDockerDaemonCheck": "true"})
    with_mocks = prepare_engine(settings)
    assert with_mocks.settings.platform == "linux/arm64"


def test_clouds_keep_linux_amd64_and_an_explicit_platform_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_module.host_platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(engine_module, "probe_engine", lambda engine: (engine, "aarch64"))
    assert prepare_engine(parse_settings({"cloud": "aws"})).settings.platform == "linux/amd64"
    explicit = parse_settings({"cloud": "aws", "platform": "linux/arm64/v8"})
    assert prepare_engine(explicit).settings.platform == "linux/arm64/v8"


# --------------------------------------------------------------------------- the check


def test_check_names_docker_host_when_the_socket_is_missing() -> None:
    engine = DockerEngine(host="unix:///nonexistent/docker.sock", source="DOCKER_HOST")
    with pytest.raises(pulumi.RunError) as raised:
        probe_engine(engine)
    message = str(raised.value)
    assert "Cannot reach a Docker engine at unix:///nonexistent/docker.sock" in message
    assert "DOCKER_HOST" in message and "docker:host" in message
    assert "Start Docker" in message


class _FakeEngine(http.server.BaseHTTPRequestHandler):
    """Just enough of the Engine API for docker-py's version negotiation, ping and info."""

    protocol_version = "HTTP/1.1"
    pings: list[str] = []
    architecture = "aarch64"

    def do_GET(self) -> None:  # noqa: N802 (http.server's method name)
        if self.path.endswith("/_ping"):
            type(self).pings.append(self.path)
            body, kind = b"OK", "text/plain"
        elif self.path.endswith("/info"):
            info = {"Architecture": type(self).architecture, "OSType": "linux"}
            body, kind = json.dumps(info).encode(), "application/json"
        else:
            version = {"ApiVersion": "1.43", "Version": "24.0.0"}
            body, kind = json.dumps(version).encode(), "application/json"
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


def serve_fake_engine(sock: Path) -> _UnixHTTPServer:
    sock.parent.mkdir(parents=True, exist_ok=True)
    server = _UnixHTTPServer(str(sock), _FakeEngine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_check_asks_a_real_engine_api_for_its_architecture(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    sock = tmp_path_factory.mktemp("e") / "docker.sock"  # unix socket paths are short
    server = serve_fake_engine(sock)
    try:
        _FakeEngine.pings.clear()
        engine = DockerEngine(host=f"unix://{sock}", source="docker:host")
        answered, architecture = probe_engine(engine)
        assert answered == engine and architecture == "aarch64"
        assert _FakeEngine.pings, "the check never pinged the engine"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("where", [".docker/run/docker.sock", ".docker/desktop/docker.sock"])
def test_check_finds_docker_desktop_and_hands_its_socket_to_the_provider(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory, where: str
) -> None:
    """No DOCKER_HOST and nothing on the default socket: the native provider tries Docker
    Desktop's sockets in the home folder and the bridged one does not, so the socket that
    answers becomes the explicit host of both."""
    home = tmp_path_factory.mktemp("h")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(engine_module, "DEFAULT_SOCKET", f"unix://{home}/absent.sock")
    with pytest.raises(pulumi.RunError):
        probe_engine(DockerEngine(host=None, source="DOCKER_HOST is not set"))
    sock = home / where
    server = serve_fake_engine(sock)
    try:
        answered, _ = probe_engine(DockerEngine(host=None, source="DOCKER_HOST is not set"))
        assert answered.host == f"unix://{sock}"
    finally:
        server.shutdown()
        server.server_close()


def test_check_names_the_configured_host_when_nothing_listens() -> None:
    host = f"tcp://127.0.0.1:{closed_port()}"
    with pytest.raises(pulumi.RunError) as raised:
        probe_engine(DockerEngine(host=host, source="docker:host"))
    message = str(raised.value)
    assert f"Cannot reach a Docker engine at {host}" in message
    assert "DOCKER_HOST" in message and "docker:host" in message


def test_check_leaves_ssh_engines_to_the_provider_without_paramiko() -> None:
    if importlib.util.find_spec("paramiko") is not None:
        pytest.skip("paramiko is installed: docker-py dials ssh:// itself")
    engine = DockerEngine(host="ssh://nobody@nowhere.invalid", source="docker:host")
    assert probe_engine(engine) == (engine, None)


def test_nothing_is_registered_when_the_engine_is_unreachable(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "probe_engine", probe_engine)  # the real check
    harness.configure(docker__host=f"tcp://127.0.0.1:{closed_port()}")
    with pytest.raises(pulumi.RunError, match="docker:host"):
        harness.run_program()
    assert harness.resources == [], "nothing may be registered when Docker cannot be reached"
