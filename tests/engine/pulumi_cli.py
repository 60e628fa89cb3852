"""The real Pulumi CLI for the tests: the toolchain scripts/pulumi_toolchain.py built, a backend and
PULUMI_HOME of each test's own, and a trap that records every download the CLI tries.

The trap is an HTTP proxy on loopback that answers 403 to everything and keeps the request line
(`CONNECT get.pulumi.com:443 HTTP/1.1`): the CLI's HTTP clients honour HTTPS_PROXY (Go's
http.ProxyFromEnvironment), so a plugin download, an update check or a call home shows up there
instead of leaving the machine. Loopback is exempt (NO_PROXY): the engine talks gRPC to its
plugins there.
"""

from __future__ import annotations

import json
import os
import shutil
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scripts import pulumi_toolchain

PROJECT_DIR = Path(__file__).resolve().parents[2]
PASSPHRASE = "engine-tests-passphrase"
# What the stack program needs beside itself (its packages come from the checkout on PYTHONPATH).
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "app")


def locked_pulumi() -> str:
    """The pulumi release requirements.lock pins, which the toolchain is built at."""
    return pulumi_toolchain.locked_versions()["pulumi"]


def toolchain_bin() -> Path:
    """The bin folder of the toolchain built at the lock's release (nothing is built here)."""
    return pulumi_toolchain.toolchain_dir(pulumi_toolchain.locked_versions()) / "bin"


def toolchain_report() -> dict[str, dict[str, object]]:
    return json.loads((toolchain_bin().parent / "toolchain.json").read_text())


@dataclass
class Trap:
    """The request lines of every proxied request, in order."""

    requests: list[str] = field(default_factory=list)
    port: int = 0


@contextmanager
def download_trap() -> Iterator[Trap]:
    trap = Trap()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline(4096).decode("latin-1").strip()
            if line:
                trap.requests.append(line)
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    trap.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield trap
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Pulumi:
    """The CLI with an environment of its own: a file backend, PULUMI_HOME and passphrase in
    `home`, the toolchain first on PATH, every proxy pointed at the trap."""

    home: Path
    bin_dir: Path
    trap: Trap
    extra_path: list[Path] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        proxy = f"http://127.0.0.1:{self.trap.port}"
        state = self.home / "state"
        state.mkdir(parents=True, exist_ok=True)
        env.update(
            PATH=os.pathsep.join([*map(str, self.extra_path), str(self.bin_dir), env["PATH"]]),
            PULUMI_HOME=str(self.home / "pulumi-home"),
            PULUMI_BACKEND_URL=state.as_uri(),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PYTHONPATH=str(PROJECT_DIR),
            HTTPS_PROXY=proxy,
            HTTP_PROXY=proxy,
            https_proxy=proxy,
            http_proxy=proxy,
            NO_PROXY="127.0.0.1,localhost,::1",
            no_proxy="127.0.0.1,localhost,::1",
        )
        return env

    def run(self, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def state(self, cwd: Path, stack: str) -> dict[str, object]:
        """`pulumi stack export` without --show-secrets."""
        text = self.run("stack", "export", "--stack", stack, cwd=cwd).stdout
        return json.loads(text)

    def urns(self, cwd: Path, stack: str) -> list[str]:
        deployment = self.state(cwd, stack)["deployment"]
        assert isinstance(deployment, dict)
        return [resource["urn"] for resource in deployment.get("resources") or []]

    def program(self, project: Path, stack: str, operation: str, *settings: str) -> dict:
        """The stack program under this CLI (tests/engine/pulumi_program.py), its JSON result."""
        done = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("pulumi_program.py")),
                str(project),
                stack,
                operation,
                *settings,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            raise AssertionError(f"the program driver failed:\n{done.stdout}\n{done.stderr}")
        return json.loads(lines[-1]) | {"driver_stderr": done.stderr}


def copy_project(into: Path) -> Path:
    """The stack project's files in a folder of the test's own, so that Pulumi.<stack>.yaml
    and state never touch the checkout."""
    project = into / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            shutil.copy2(source, project / name)
    return project


def provider_launcher(into: Path) -> Path:
    """A folder holding `pulumi-resource-container-registry`, which starts this checkout's
    component provider the way pulumi-language-python's RunPlugin starts a PulumiPlugin.yaml
    folder (`python <folder> <engine address> ...`, provider/PulumiPlugin.yaml): that Go module
    is not served here, so the launcher is this one line of it. The provider itself is the real
    one (provider/__main__.py)."""
    folder = into / "plugins"
    folder.mkdir()
    write_launcher(folder / "pulumi-resource-container-registry", PROJECT_DIR / "provider")
    return folder


def write_launcher(launcher: Path, script: Path, *args: str) -> None:
    """An executable `launcher` that runs `script` with this interpreter and this checkout on
    PYTHONPATH, `args` first, then whatever the engine passes."""
    words = " ".join(f'"{word}"' for word in (sys.executable, script, *args))
    launcher.write_text(f'#!/bin/sh\nexport PYTHONPATH="{PROJECT_DIR}"\nexec {words} "$@"\n')
    launcher.chmod(0o755)
