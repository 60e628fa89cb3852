"""Tests for ./up.sh, the one command of the quickstart.

The script runs for real under bash, from a copy in a temporary project folder (so no state or
passphrase lands in the repository), with a PATH built for each test: bash, the few coreutils it
uses and python3, plus fake `pulumi` and `docker` executables that log every call. The check of
an unreachable engine uses the real docker CLI when there is one.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

SCRIPT = ROOT / "up.sh"
TOOLS = ("bash", "dirname", "mkdir", "chmod")
# The interpreter itself, not a shim (pyenv's need pyenv on PATH): for the fakes and as python3.
PYTHON = os.path.realpath(sys.executable)
FAKE_PASSWORD = "fake-registry-password-6d1e0b"
IMAGE_NAME = "localhost:5000/app:0123456789ab"
SCRIPT_TIMEOUT_S = 60

# Both fakes append one JSON line per call: argv, the environment that matters, and stdin for
# `docker login`. `pulumi` answers the few reads the script (and its printed lines) make.
FAKE_PULUMI = f"""
import json, os, sys
args = sys.argv[1:]
keys = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE",
        "DOCKER_HOST")
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": "pulumi", "args": args, "cwd": os.getcwd(),
                          "env": {{k: os.environ.get(k) for k in keys}}}}) + "\\n")
if args[:1] == ["up"] and os.environ.get("FAKE_UP_FAILS"):
    sys.exit("error: update failed")
if args[:2] == ["config", "get"]:
    sys.exit("error: configuration key not found")
if args[:2] == ["stack", "output"]:
    name = args[2] if len(args) > 2 and not args[2].startswith("-") else None
    values = {{"registryServer": "localhost:5000", "imageName": "{IMAGE_NAME}",
               "credentials": {{"server": "localhost:5000", "username": "admin",
                               "password": "{FAKE_PASSWORD}"}}}}
    if name is None:
        print("Current stack outputs (2):\\n    registryServer  localhost:5000\\n"
              "    credentials     [secret]")
    elif name == "credentials":
        print(json.dumps(values[name]) if "--show-secrets" in args else "[secret]")
    else:
        print(values[name])
"""

FAKE_DOCKER = """
import json, os, sys
args = sys.argv[1:]
stdin = sys.stdin.read() if "--password-stdin" in args else None
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"tool": "docker", "args": args, "stdin": stdin,
                          "env": {"DOCKER_HOST": os.environ.get("DOCKER_HOST")}}) + "\\n")
if args[:2] == ["context", "inspect"]:
    print(os.environ.get("FAKE_CONTEXT_HOST", "unix:///var/run/docker.sock"))
elif args[:1] == ["info"] and os.environ.get("FAKE_ENGINE_DOWN"):
    sys.exit("Cannot connect to the Docker daemon. Is the docker daemon running?")
"""


@dataclass
class Sandbox:
    project: Path
    tools: Path
    fakes: Path
    log: Path
    home: Path

    def add_fake(self, name: str, body: str) -> None:
        path = self.fakes / name
        path.write_text(f"#!{PYTHON}\n{body}", encoding="utf-8")
        path.chmod(0o755)

    def link_tool(self, name: str, target: str) -> None:
        (self.tools / name).symlink_to(target)

    def run(
        self, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        base = {
            "PATH": f"{self.fakes}:{self.tools}",
            "HOME": str(self.home),
            "DOCKER_CONFIG": str(self.home / ".docker"),
            "FAKE_LOG": str(self.log),
            "LANG": "C.UTF-8",
        }
        return subprocess.run(
            [str(self.project / "up.sh")],
            cwd=cwd or self.home,
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            check=False,
        )

    def calls(self, tool: str) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [c for c in map(json.loads, lines) if c["tool"] == tool]

    def pulumi_call(self, *prefix: str) -> dict[str, Any]:
        found = [c for c in self.calls("pulumi") if c["args"][: len(prefix)] == list(prefix)]
        assert len(found) == 1, f"expected one `pulumi {' '.join(prefix)}`: {self.calls('pulumi')}"
        return found[0]


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    project = tmp_path / "project with space"
    project.mkdir()
    shutil.copy2(SCRIPT, project / "up.sh")
    box = Sandbox(
        project=project.resolve(),
        tools=tmp_path / "tools",
        fakes=tmp_path / "fakes",
        log=tmp_path / "calls.jsonl",
        home=tmp_path / "home",
    )
    for folder in (box.tools, box.fakes, box.home):
        folder.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run up.sh"
        box.link_tool(tool, found)
    box.link_tool("python3", PYTHON)
    return box


@pytest.fixture
def fakes(sandbox: Sandbox) -> Sandbox:
    sandbox.add_fake("pulumi", FAKE_PULUMI)
    sandbox.add_fake("docker", FAKE_DOCKER)
    return sandbox


def output_of(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


# --------------------------------------------------------------------------- static checks


def test_script_is_executable_and_strict() -> None:
    assert SCRIPT.stat().st_mode & stat.S_IXUSR, "up.sh must be executable"
    text = SCRIPT.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed (Debian/Ubuntu: apt-get install -y shellcheck)")
    done = subprocess.run(
        [shellcheck, "--shell=bash", str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- missing tools


def test_missing_pulumi_cli_says_how_to_install_it(sandbox: Sandbox) -> None:
    sandbox.add_fake("docker", FAKE_DOCKER)
    done = sandbox.run()
    assert done.returncode == 2, output_of(done)
    assert "Pulumi CLI (pulumi) is not on PATH" in done.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in done.stderr
    assert "brew install pulumi/tap/pulumi" in done.stderr
    assert not (sandbox.project / ".pulumi-state").exists()
    assert not (sandbox.project / ".pulumi-passphrase").exists()


def test_missing_docker_cli_says_how_to_get_docker(sandbox: Sandbox) -> None:
    sandbox.add_fake("pulumi", FAKE_PULUMI)
    done = sandbox.run()
    assert done.returncode == 2, output_of(done)
    assert "docker CLI is not on PATH" in done.stderr
    assert "https://docs.docker.com/get-docker/" in done.stderr
    assert "DOCKER_HOST" in done.stderr
    assert sandbox.calls("pulumi") == [], "nothing may run before the checks pass"


def test_unreachable_engine_names_docker_host_with_the_real_docker_cli(sandbox: Sandbox) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on this machine")
    sandbox.add_fake("pulumi", FAKE_PULUMI)
    sandbox.link_tool("docker", docker)
    done = sandbox.run({"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert done.returncode == 2, output_of(done)
    assert "cannot reach a Docker engine (DOCKER_HOST=unix:///nonexistent.sock)" in done.stderr
    assert "Start Docker" in done.stderr
    assert sandbox.calls("pulumi") == [], "nothing may run before the checks pass"
    assert not (sandbox.project / ".pulumi-state").exists()


def test_unreachable_engine_without_docker_host_says_so(fakes: Sandbox) -> None:
    done = fakes.run({"FAKE_ENGINE_DOWN": "1"})
    assert done.returncode == 2, output_of(done)
    assert "DOCKER_HOST=<unset: the default socket>" in done.stderr
    assert "Is the docker daemon running?" in done.stderr


# --------------------------------------------------------------------------- the happy path


def test_up_creates_the_dev_stack_in_the_project_and_never_prints_the_password(
    fakes: Sandbox,
) -> None:
    done = fakes.run()
    assert done.returncode == 0, output_of(done)
    state = fakes.project / ".pulumi-state"
    passphrase_file = fakes.project / ".pulumi-passphrase"
    assert state.is_dir()
    assert stat.S_IMODE(passphrase_file.stat().st_mode) == 0o600
    passphrase = passphrase_file.read_text(encoding="utf-8").strip()
    assert len(passphrase) >= 32

    select = fakes.pulumi_call("stack", "select")
    assert select["args"] == [
        "stack",
        "select",
        "--create",
        "--secrets-provider",
        "passphrase",
        "--non-interactive",
        "dev",
    ]
    up = fakes.pulumi_call("up")
    assert up["args"] == ["up", "--yes", "--stack", "dev"]
    names = [c["args"][0] for c in fakes.calls("pulumi")]
    assert names.index("stack") < names.index("up"), "the stack is selected before the update"
    for call in fakes.calls("pulumi"):
        assert call["cwd"] == str(fakes.project), "pulumi must run in the project folder"
        assert call["env"]["PULUMI_BACKEND_URL"] == f"file://{state}"
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(passphrase_file)
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE"] is None

    shown = output_of(done)
    assert passphrase not in shown, "the passphrase was printed"
    assert FAKE_PASSWORD not in shown, "the registry password was printed"
    assert "[secret]" in done.stdout, "the stack outputs are shown"
    assert f"docker pull {IMAGE_NAME}" in done.stdout
    assert "docker login localhost:5000 -u admin --password-stdin" in done.stdout


def test_printed_login_line_pipes_the_password_into_docker_login(fakes: Sandbox) -> None:
    done = fakes.run()
    assert done.returncode == 0, output_of(done)
    login = [line.strip() for line in done.stdout.splitlines() if "docker login" in line]
    assert len(login) == 1, done.stdout
    subprocess.run(
        [str(fakes.tools / "bash"), "-euo", "pipefail", "-c", login[0]],
        env={"PATH": f"{fakes.fakes}:{fakes.tools}", "FAKE_LOG": str(fakes.log)},
        check=True,
        timeout=SCRIPT_TIMEOUT_S,
    )
    logins = [c for c in fakes.calls("docker") if c["args"][:1] == ["login"]]
    assert logins[-1]["args"] == ["login", "localhost:5000", "-u", "admin", "--password-stdin"]
    assert logins[-1]["stdin"] == FAKE_PASSWORD + "\n"


def test_running_twice_reuses_the_stack_and_the_passphrase(fakes: Sandbox) -> None:
    first = fakes.run()
    assert first.returncode == 0, output_of(first)
    passphrase = (fakes.project / ".pulumi-passphrase").read_text(encoding="utf-8")
    second = fakes.run(cwd=fakes.project)
    assert second.returncode == 0, output_of(second)
    assert (fakes.project / ".pulumi-passphrase").read_text(encoding="utf-8") == passphrase
    ups = [c for c in fakes.calls("pulumi") if c["args"][:1] == ["up"]]
    assert len(ups) == 2 and ups[0]["env"] == ups[1]["env"]
    assert "generated a passphrase" in first.stdout
    assert "generated a passphrase" not in second.stdout


def test_passphrase_from_the_environment_is_used_and_no_file_is_made(fakes: Sandbox) -> None:
    secret = "correct horse battery staple from env"
    done = fakes.run({"PULUMI_CONFIG_PASSPHRASE": secret})
    assert done.returncode == 0, output_of(done)
    assert not (fakes.project / ".pulumi-passphrase").exists()
    up = fakes.pulumi_call("up")
    assert up["env"]["PULUMI_CONFIG_PASSPHRASE"] == secret
    assert up["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] is None
    assert secret not in output_of(done)


def test_passphrase_file_from_the_environment_is_used(fakes: Sandbox, tmp_path: Path) -> None:
    own = tmp_path / "my-passphrase"
    own.write_text("my own passphrase\n", encoding="utf-8")
    done = fakes.run({"PULUMI_CONFIG_PASSPHRASE_FILE": str(own)})
    assert done.returncode == 0, output_of(done)
    assert not (fakes.project / ".pulumi-passphrase").exists()
    assert fakes.pulumi_call("up")["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(own)


def test_a_backend_chosen_by_the_user_is_kept(fakes: Sandbox, tmp_path: Path) -> None:
    backend = f"file://{tmp_path}/elsewhere"
    done = fakes.run({"PULUMI_BACKEND_URL": backend})
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("up")["env"]["PULUMI_BACKEND_URL"] == backend
    assert not (fakes.project / ".pulumi-state").exists()


def test_the_docker_context_socket_is_handed_to_the_provider(fakes: Sandbox) -> None:
    socket = "unix:///home/me/.colima/default/docker.sock"
    done = fakes.run({"FAKE_CONTEXT_HOST": socket})
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("up")["env"]["DOCKER_HOST"] == socket
    assert f"export DOCKER_HOST={socket}" in done.stdout


def test_the_default_socket_is_left_to_the_defaults(fakes: Sandbox) -> None:
    done = fakes.run()
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("up")["env"]["DOCKER_HOST"] is None
    assert "DOCKER_HOST" not in done.stdout


def test_an_explicit_docker_host_wins_over_the_context(fakes: Sandbox) -> None:
    done = fakes.run({"DOCKER_HOST": "tcp://127.0.0.1:2375", "FAKE_CONTEXT_HOST": "unix:///x"})
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("up")["env"]["DOCKER_HOST"] == "tcp://127.0.0.1:2375"


def test_a_failed_update_stops_the_script(fakes: Sandbox) -> None:
    done = fakes.run({"FAKE_UP_FAILS": "1"})
    assert done.returncode != 0
    assert "docker pull" not in done.stdout
    assert "error: update failed" in done.stderr
