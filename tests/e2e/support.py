"""Helpers of the end-to-end test that need no engine, cloud or Pulumi CLI, so the default test
run checks them (tests/test_e2e_support.py)."""

from __future__ import annotations

import copy
import os
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGETS = ("local", "aws", "azure", "gcp")
ENV_VAR = "CONTAINER_REGISTRY_E2E"
# Every target needs the Pulumi CLI (the Automation API drives it) and the docker CLI (login,
# pull, run); the clouds also need their provider's credentials, which the providers find
# themselves (environment, CLI logins, instance roles).
TOOLS = ("pulumi", "docker")
# What the app's nginx.conf sends on every response (app/nginx.conf, `add_header ... always`).
SECURITY_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
CSP_DIRECTIVES = ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'")
# A second `pulumi up` may only read: these are the operations that change nothing.
UNCHANGED_OPS = frozenset({"same", "read", "refresh"})

# Never route loopback requests through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def skip_reason(
    environ: Mapping[str, str] | None = None, which: Callable[[str], str | None] = shutil.which
) -> str | None:
    """Why the end-to-end test cannot run here, or None when it can."""
    env = os.environ if environ is None else environ
    target = env.get(ENV_VAR, "")
    if not target:
        return f"set {ENV_VAR} to one of {', '.join(TARGETS)} to run the end-to-end test"
    if target not in TARGETS:
        return f"{ENV_VAR}={target!r} is not one of {', '.join(TARGETS)}"
    missing = [tool for tool in TOOLS if which(tool) is None]
    if missing:
        return f"the end-to-end test needs {' and '.join(missing)} on PATH"
    return None


# The examples (examples/<language>) build on the local target, so they run with
# CONTAINER_REGISTRY_E2E=local; the TypeScript one also needs Node.js to run and npm to install.
EXAMPLES = ("python", "typescript", "yaml")
EXAMPLES_TARGET = "local"
EXAMPLE_TOOLS: Mapping[str, tuple[str, ...]] = {
    "python": (),
    "typescript": ("node", "npm"),
    "yaml": (),
}


def example_skip_reason(
    example: str,
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> str | None:
    """Why `example` cannot run end to end here, or None when it can."""
    reason = skip_reason(environ, which)
    if reason is not None:
        return reason
    target = (os.environ if environ is None else environ)[ENV_VAR]
    if target != EXAMPLES_TARGET:
        return (
            f"the examples build on the {EXAMPLES_TARGET} target: {ENV_VAR}={target} runs the "
            "stack program alone"
        )
    missing = [tool for tool in EXAMPLE_TOOLS[example] if which(tool) is None]
    if missing:
        return f"the {example} example needs {' and '.join(missing)} on PATH"
    return None


def example_project(
    document: Mapping[str, Any], provider: Path, virtualenv: Path | None = None
) -> dict[str, Any]:
    """An example's Pulumi.yaml for a copy outside the repository: every package at `provider`'s
    absolute path, and a Python runtime on the virtualenv given (one that has the package's
    requirements; the program imports the package itself from PYTHONPATH)."""
    project = copy.deepcopy(dict(document))
    packages = project.get("packages") or {}
    for name in packages:
        packages[name] = str(provider.resolve())
    runtime = project.get("runtime")
    if virtualenv is not None and isinstance(runtime, dict) and runtime.get("name") == "python":
        runtime.setdefault("options", {})["virtualenv"] = str(virtualenv.resolve())
    return project


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]


def get(url: str, timeout: float = 5.0) -> Response:
    """GET `url`; an HTTP error status is a response too."""
    try:
        with _OPENER.open(url, timeout=timeout) as resp:
            return Response(resp.status, dict(resp.headers.items()))
    except urllib.error.HTTPError as err:
        return Response(err.code, dict(err.headers.items()))


def wait_until_ready(
    url: str, *, timeout: float = 60.0, interval: float = 0.5, status: int = 200
) -> Response:
    """Poll `url` until it answers `status`; raise TimeoutError with the last answer if not."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    while True:
        try:
            response = get(url, timeout=min(5.0, max(timeout, 0.1)))
            if response.status == status:
                return response
            last = f"HTTP {response.status}"
        except (OSError, urllib.error.URLError) as err:
            last = str(err)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{url} did not answer {status} within {timeout:g} s ({last})")
        time.sleep(interval)


def missing_security_headers(headers: Mapping[str, str]) -> list[str]:
    """The security headers that are absent or wrong; empty when all are there."""
    lowered = {name.lower(): value for name, value in headers.items()}
    problems = [
        f"{name}: {lowered.get(name.lower())!r} (want {want!r})"
        for name, want in SECURITY_HEADERS.items()
        if lowered.get(name.lower()) != want
    ]
    csp = lowered.get("content-security-policy", "")
    problems += [
        f"Content-Security-Policy lacks {directive!r}"
        for directive in CSP_DIRECTIVES
        if directive not in csp
    ]
    return problems


def changed_operations(resource_changes: Mapping[Any, int] | None) -> dict[str, int]:
    """The operations of an update summary that changed something (create, update, replace...).

    The Automation API keys the summary by `OpType` members; plain strings work too."""
    found = {str(getattr(op, "value", op)): n for op, n in (resource_changes or {}).items()}
    return {op: n for op, n in found.items() if op not in UNCHANGED_OPS and n}
