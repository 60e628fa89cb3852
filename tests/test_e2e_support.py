"""The end-to-end test's helpers that need no engine (tests/e2e/support.py), on real sockets."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.support import (
    CSP_DIRECTIVES,
    SECURITY_HEADERS,
    changed_operations,
    example_project,
    example_skip_reason,
    free_loopback_port,
    missing_security_headers,
    skip_reason,
    wait_until_ready,
)

GOOD_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": "; ".join(CSP_DIRECTIVES)}


class _SlowStart(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first requests, then 200 with the app's headers."""

    remaining_503 = 2

    def do_GET(self) -> None:  # noqa: N802 (http.server's method name)
        cls = type(self)
        status = 503 if cls.remaining_503 > 0 else 200
        cls.remaining_503 -= 1
        self.send_response(status)
        for name, value in GOOD_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture
def slow_server() -> Iterator[str]:
    _SlowStart.remaining_503 = 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowStart)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_skip_reason_needs_a_known_target_and_the_tools() -> None:
    assert "CONTAINER_REGISTRY_E2E" in str(skip_reason({}, lambda _: "/bin/x"))
    assert "'mars'" in str(skip_reason({"CONTAINER_REGISTRY_E2E": "mars"}, lambda _: "/bin/x"))
    only_docker = skip_reason(
        {"CONTAINER_REGISTRY_E2E": "local"}, lambda t: "/bin/docker" if t == "docker" else None
    )
    assert only_docker is not None and "pulumi" in only_docker and "docker" not in only_docker
    for target in ("local", "aws", "azure", "gcp"):
        assert skip_reason({"CONTAINER_REGISTRY_E2E": target}, lambda _: "/bin/x") is None


def test_free_loopback_port_is_free_and_bindable() -> None:
    port = free_loopback_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # raises if something holds it


def test_wait_until_ready_waits_through_errors(slow_server: str) -> None:
    response = wait_until_ready(slow_server + "/healthz", timeout=10, interval=0.05)
    assert response.status == 200
    assert _SlowStart.remaining_503 < 0, "it returned before the server was ready"


def test_wait_until_ready_gives_up_with_the_last_answer() -> None:
    url = f"http://127.0.0.1:{free_loopback_port()}/healthz"
    with pytest.raises(TimeoutError, match="did not answer 200"):
        wait_until_ready(url, timeout=0.3, interval=0.05)


def test_header_check_passes_the_apps_headers_and_names_each_gap() -> None:
    assert missing_security_headers(GOOD_HEADERS) == []
    assert missing_security_headers({k.lower(): v for k, v in GOOD_HEADERS.items()}) == []
    for name in GOOD_HEADERS:
        broken = {k: v for k, v in GOOD_HEADERS.items() if k != name}
        assert any(name in problem for problem in missing_security_headers(broken)), name
    wrong = {**GOOD_HEADERS, "X-Frame-Options": "SAMEORIGIN"}
    assert missing_security_headers(wrong) == ["X-Frame-Options: 'SAMEORIGIN' (want 'DENY')"]


def test_changed_operations_ignore_reads_and_same() -> None:
    assert changed_operations({"same": 9, "read": 1, "refresh": 2}) == {}
    assert changed_operations(None) == {}
    assert changed_operations({"same": 8, "update": 1}) == {"update": 1}
    assert changed_operations({"same": 7, "replace": 1, "create": 0}) == {"replace": 1}


# --- the examples (tests/e2e/test_examples.py)


def test_example_skip_reason_names_what_is_missing() -> None:
    everything = {"CONTAINER_REGISTRY_E2E": "local"}
    assert example_skip_reason("yaml", everything, lambda _: "/bin/x") is None
    assert example_skip_reason("typescript", everything, lambda _: "/bin/x") is None
    no_node = example_skip_reason(
        "typescript", everything, lambda tool: None if tool in ("node", "npm") else "/bin/x"
    )
    assert no_node == "the typescript example needs node and npm on PATH"
    # The Python and YAML examples need no Node.js.
    assert (
        example_skip_reason("python", everything, lambda tool: None if tool == "node" else "/x")
        is None
    )
    on_aws = example_skip_reason("yaml", {"CONTAINER_REGISTRY_E2E": "aws"}, lambda _: "/bin/x")
    assert on_aws is not None and "local target" in on_aws
    # The test's own reasons come first.
    assert "CONTAINER_REGISTRY_E2E" in str(example_skip_reason("yaml", {}, lambda _: "/bin/x"))
    no_pulumi = example_skip_reason(
        "yaml", everything, lambda tool: None if tool == "pulumi" else "/bin/x"
    )
    assert no_pulumi is not None and "pulumi" in no_pulumi


def test_example_project_points_at_the_provider_and_the_virtualenv(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parent.parent / "examples"
    provider = tmp_path / "repo" / "provider"
    venv = tmp_path / "repo" / "venv"
    typescript = yaml.safe_load((examples / "typescript" / "Pulumi.yaml").read_text())
    moved = example_project(typescript, provider, venv)
    assert moved["packages"] == {"container-registry": str(provider.resolve())}
    assert moved["runtime"] == typescript["runtime"], "only a Python runtime takes a virtualenv"
    assert typescript["packages"] == {"container-registry": "../../provider"}, "copied, not changed"
    python = yaml.safe_load((examples / "python" / "Pulumi.yaml").read_text())
    moved = example_project(python, provider, venv)
    assert moved["runtime"]["options"]["virtualenv"] == str(venv.resolve())
    assert "packages" not in moved
    assert python["runtime"]["options"]["virtualenv"] == "venv"
