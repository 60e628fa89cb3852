"""Tests for ./up.sh, the one command of the quickstart, for every flag.

The script runs for real under bash, from a copy in a temporary project folder (so no state or
passphrase lands in the repository), with a PATH built for each test: bash, the few coreutils it
uses and python3, plus fake `pulumi` and `docker` executables that log every call. The fakes are
bash scripts, not Python, so that the dozens of calls per run stay cheap on a busy machine. The
check of an unreachable engine uses the real docker CLI when there is one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

SCRIPT = ROOT / "up.sh"
# What up.sh reads besides itself: the project name and the checked-in stack files.
PROJECT_FILES = (
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.aws.yaml",
    "Pulumi.azure.yaml",
    "Pulumi.gcp.yaml",
)
TOOLS = ("bash", "cat", "dirname", "mkdir", "chmod")
BASH = shutil.which("bash") or "/bin/bash"
CP = shutil.which("cp") or "/bin/cp"
# The interpreter itself, not a shim (pyenv's need pyenv on PATH): up.sh's python3.
PYTHON = os.path.realpath(sys.executable)
FAKE_PASSWORD = "fake-registry-password-6d1e0b"
IMAGE_NAME = "localhost:5000/app:0123456789ab"
# The versions in the fake venv's pulumi-plugin.json files: not the real ones, so a test can tell
# that up.sh read them rather than knowing them.
DOCKER_PLUGIN = "5.9.1"
RANDOM_PLUGIN = "4.99.2"
DEFAULT_OUTPUTS: dict[str, Any] = {
    "cloud": "local",
    "registryServer": "localhost:5000",
    "imageName": IMAGE_NAME,
    "credentials": {"server": "localhost:5000", "username": "admin", "password": FAKE_PASSWORD},
}
SCRIPT_TIMEOUT_S = 60

# Each call appends one record to FAKE_LOG: NUL-terminated fields, then \x1e. pulumi: the tool,
# its cwd, five environment variables ("=value", or "" when unset), then argv. It answers from
# the environment the Sandbox builds: FAKE_CONFIG_<key>, FAKE_OUTPUT_<name> (and _JSON_<name>),
# FAKE_OUTPUTS_JSON / FAKE_OUTPUTS_SECRET_JSON, FAKE_VERSION; FAKE_NOT_DEPLOYED makes every output
# missing, FAKE_NO_STACK fails `stack select` without --create, FAKE_UP_FAILS fails the update,
# and `install` copies FAKE_VENV (a venv with the SDKs' pulumi-plugin.json) into the project.
ENV_LOGGED = (
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "DOCKER_HOST",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
)
FAKE_PULUMI = r"""
{
    printf '%s\0' pulumi "$PWD"
    for name in __ENV__; do
        if [[ -n "${!name+x}" ]]; then printf '=%s\0' "${!name}"; else printf '\0'; fi
    done
    printf '%s\0' "$@"
    printf '\036'
} >>"$FAKE_LOG"
args=" $* "
if [[ "${1-}" == version ]]; then
    printf '%s\n' "${FAKE_VERSION:-v3.272.0}"
elif [[ "${1-}" == up && -n "${FAKE_UP_FAILS:-}" ]]; then
    echo "error: update failed" >&2
    exit 1
elif [[ "${1-} ${2-}" == "stack select" && "$args" != *" --create "* &&
        -n "${FAKE_NO_STACK:-}" ]]; then
    echo "error: no stack named '${!#}' found" >&2
    exit 1
elif [[ "${1-}" == install && -n "${FAKE_VENV:-}" ]]; then
    __CP__ -R "$FAKE_VENV" "$PWD/venv"
elif [[ "${1-} ${2-}" == "config get" ]]; then
    var="FAKE_CONFIG_${3//[^A-Za-z0-9_]/_}"
    if [[ -z "${!var+x}" ]]; then
        echo "error: configuration key '$3' not found for stack" >&2
        exit 1
    fi
    printf '%s\n' "${!var}"
elif [[ "${1-} ${2-}" == "stack output" ]]; then
    name="${3-}"
    [[ "$name" == -* ]] && name=""
    var="FAKE_OUTPUT_$name"
    if [[ -n "${FAKE_NOT_DEPLOYED:-}" || ( -n "$name" && -z "${!var+x}" ) ]]; then
        echo "error: current stack does not have output property '$name'" >&2
        exit 1
    fi
    if [[ -z "$name" && "$args" == *" --json "* && "$args" == *" --show-secrets "* ]]; then
        printf '%s\n' "$FAKE_OUTPUTS_SECRET_JSON"
    elif [[ -z "$name" && "$args" == *" --json "* ]]; then
        printf '%s\n' "$FAKE_OUTPUTS_JSON"
    elif [[ -z "$name" ]]; then
        printf 'Current stack outputs (2):\n    registryServer  localhost:5000\n'
        printf '    credentials     [secret]\n'
    elif [[ "$name" == credentials && "$args" != *" --show-secrets "* ]]; then
        printf '[secret]\n'
    elif [[ "$args" == *" --json "* ]]; then
        var="FAKE_OUTPUT_JSON_$name"
        printf '%s\n' "${!var}"
    else
        printf '%s\n' "${!var}"
    fi
fi
""".replace("__ENV__", " ".join(ENV_LOGGED)).replace("__CP__", CP)

# docker: the tool, stdin ("=..." for `docker login --password-stdin`), DOCKER_HOST, then argv.
# FAKE_PS is what `docker ps` prints (the ports of the container that matches its filters).
FAKE_DOCKER = r"""
stdin=""
if [[ " $* " == *" --password-stdin "* ]]; then
    stdin="=$(cat; printf x)"
    stdin="${stdin%x}"
fi
{
    printf '%s\0' docker "$stdin"
    if [[ -n "${DOCKER_HOST+x}" ]]; then printf '=%s\0' "$DOCKER_HOST"; else printf '\0'; fi
    printf '%s\0' "$@"
    printf '\036'
} >>"$FAKE_LOG"
if [[ "${1-} ${2-}" == "context inspect" ]]; then
    printf '%s\n' "${FAKE_CONTEXT_HOST:-unix:///var/run/docker.sock}"
elif [[ "${1-}" == info && -n "${FAKE_ENGINE_DOWN:-}" ]]; then
    echo "Cannot connect to the Docker daemon. Is the docker daemon running?" >&2
    exit 1
elif [[ "${1-}" == ps && -n "${FAKE_PS:-}" ]]; then
    printf '%s\n' "$FAKE_PS"
fi
"""


def _unset_or(field: str) -> str | None:
    return field[1:] if field.startswith("=") else None


def _parse_call(record: str) -> dict[str, Any]:
    fields = record.split("\0")[:-1]
    if fields[0] == "pulumi":
        env_fields = fields[2 : 2 + len(ENV_LOGGED)]
        return {
            "tool": "pulumi",
            "cwd": fields[1],
            "env": {k: _unset_or(v) for k, v in zip(ENV_LOGGED, env_fields, strict=True)},
            "args": fields[2 + len(ENV_LOGGED) :],
        }
    return {
        "tool": "docker",
        "stdin": _unset_or(fields[1]),
        "env": {"DOCKER_HOST": _unset_or(fields[2])},
        "args": fields[3:],
    }


def fake_environment(config: Mapping[str, str], outputs: Mapping[str, Any]) -> dict[str, str]:
    """What the fake pulumi answers with: config values and stack outputs (None: not there)."""
    env = {f"FAKE_CONFIG_{key.replace(':', '_')}": value for key, value in config.items()}
    present = {name: value for name, value in outputs.items() if value is not None}
    for name, value in present.items():
        env[f"FAKE_OUTPUT_{name}"] = value if isinstance(value, str) else json.dumps(value)
        env[f"FAKE_OUTPUT_JSON_{name}"] = json.dumps(value)
    env["FAKE_OUTPUTS_SECRET_JSON"] = json.dumps(present)
    shown = {**present, "credentials": "[secret]"} if "credentials" in present else present
    env["FAKE_OUTPUTS_JSON"] = json.dumps(shown)
    return env


@dataclass
class Sandbox:
    project: Path
    tools: Path
    fakes: Path
    log: Path
    home: Path
    venv: Path
    free_port: int

    def add_fake(self, name: str, body: str) -> None:
        path = self.fakes / name
        path.write_text(f"#!{BASH}\n{body}", encoding="utf-8")
        path.chmod(0o755)

    def link_tool(self, name: str, target: str) -> None:
        (self.tools / name).symlink_to(target)

    def run(
        self,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        args: tuple[str, ...] = (),
        stdin: str = "",
        config: Mapping[str, str] | None = None,
        outputs: Mapping[str, Any] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run up.sh with args. `config` and `outputs` are what the fake pulumi reports, over
        a free localPort (so the port check passes) and DEFAULT_OUTPUTS."""
        base = {
            "PATH": f"{self.fakes}:{self.tools}",
            "HOME": str(self.home),
            "DOCKER_CONFIG": str(self.home / ".docker"),
            "FAKE_LOG": str(self.log),
            "FAKE_VENV": str(self.venv),
            "LANG": "C.UTF-8",
            **fake_environment(
                {"localPort": str(self.free_port), **(config or {})},
                {**DEFAULT_OUTPUTS, **(outputs or {})},
            ),
        }
        return subprocess.run(
            [str(self.project / "up.sh"), *args],
            cwd=cwd or self.home,
            env={**base, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            check=False,
        )

    def calls(self, tool: str) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        records = self.log.read_text(encoding="utf-8").split("\x1e")[:-1]
        return [c for c in map(_parse_call, records) if c["tool"] == tool]

    def stack_calls(self) -> list[dict[str, Any]]:
        """Every `pulumi` call but `pulumi version`, which runs before any stack is touched."""
        return [c for c in self.calls("pulumi") if c["args"][:1] != ["version"]]

    def commands(self) -> list[list[str]]:
        return [c["args"] for c in self.stack_calls()]

    def pulumi_call(self, *prefix: str) -> dict[str, Any]:
        found = [c for c in self.calls("pulumi") if c["args"][: len(prefix)] == list(prefix)]
        assert len(found) == 1, f"expected one `pulumi {' '.join(prefix)}`: {self.commands()}"
        return found[0]

    def ran(self, *prefix: str) -> bool:
        return any(args[: len(prefix)] == list(prefix) for args in self.commands())


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    project = tmp_path / "project with space"
    project.mkdir()
    shutil.copy2(SCRIPT, project / "up.sh")
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, project / name)
    box = Sandbox(
        project=project.resolve(),
        tools=tmp_path / "tools",
        fakes=tmp_path / "fakes",
        log=tmp_path / "calls.log",
        home=tmp_path / "home",
        venv=tmp_path / "venv-template",
        free_port=unused_port(),
    )
    for folder in (box.tools, box.fakes, box.home):
        folder.mkdir()
    # What `pulumi install` leaves in venv/: the SDKs with their pulumi-plugin.json.
    site = box.venv / "lib" / "python3.11" / "site-packages"
    for package, version in (("docker", DOCKER_PLUGIN), ("random", RANDOM_PLUGIN)):
        (site / f"pulumi_{package}").mkdir(parents=True)
        plugin = {"resource": True, "name": package, "version": version}
        (site / f"pulumi_{package}" / "pulumi-plugin.json").write_text(json.dumps(plugin))
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
    assert sandbox.commands() == [], "nothing may run before the checks pass"


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
    assert sandbox.commands() == [], "nothing may run before the checks pass"
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
    # --refresh: a registry container that was stopped or removed comes back (issue 9).
    assert up["args"] == ["up", "--yes", "--refresh", "--stack", "dev"]
    names = [args[0] for args in fakes.commands()]
    assert names.index("stack") < names.index("up"), "the stack is selected before the update"
    for call in fakes.stack_calls():
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
    assert f"docker run --rm -p 127.0.0.1:8080:8080 {IMAGE_NAME}" in done.stdout
    assert "curl -fsS localhost:8080/healthz" in done.stdout


def test_printed_login_line_pipes_the_password_into_docker_login(fakes: Sandbox) -> None:
    done = fakes.run()
    assert done.returncode == 0, output_of(done)
    login = [line.strip() for line in done.stdout.splitlines() if "docker login" in line]
    assert len(login) == 1, done.stdout
    subprocess.run(
        [str(fakes.tools / "bash"), "-euo", "pipefail", "-c", login[0]],
        env={
            "PATH": f"{fakes.fakes}:{fakes.tools}",
            "FAKE_LOG": str(fakes.log),
            **fake_environment({}, DEFAULT_OUTPUTS),
        },
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


def test_a_failed_update_stops_the_script_and_still_says_how_to_reach_the_stack(
    fakes: Sandbox,
) -> None:
    done = fakes.run({"FAKE_UP_FAILS": "1"})
    assert done.returncode != 0
    assert "docker pull" not in done.stdout
    assert "error: update failed" in done.stderr
    state = fakes.project / ".pulumi-state"
    quoted = f"file://{state}".replace(" ", "\\ ")  # as bash's printf %q writes it
    assert f"export PULUMI_BACKEND_URL={quoted}" in done.stdout
    assert "export PULUMI_CONFIG_PASSPHRASE_FILE=" in done.stdout


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_usage_and_touches_nothing(fakes: Sandbox, flag: str) -> None:
    done = fakes.run(args=("--stack", "aws", flag))
    assert done.returncode == 0, output_of(done)
    for option in ("--stack NAME", "--preview", "--outputs", "--destroy", "--yes", "--help"):
        assert option in done.stdout, f"the usage does not mention {option}"
    assert done.stderr == ""
    assert fakes.calls("pulumi") == [] and fakes.calls("docker") == [], "--help ran a command"
    assert not (fakes.project / ".pulumi-state").exists()
    assert not (fakes.project / ".pulumi-passphrase").exists()


def test_every_flag_the_docs_show_is_in_the_usage(fakes: Sandbox) -> None:
    usage = fakes.run(args=("--help",)).stdout
    docs = "\n".join(
        (ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "docs/stacks.md")
    )
    shown = set(re.findall(r"\./up\.sh((?: --?[a-z]+(?:[ =][a-z]+)?)+)", docs))
    flags = {flag for found in shown for flag in re.findall(r"--?[a-z]+", found)}
    assert {"--stack", "--preview", "--outputs", "--destroy", "--help"} <= flags, flags
    for flag in flags:
        listed = re.search(rf"(?m)^\s+(?:-h, )?{flag}\b", usage)
        assert listed, f"the docs show ./up.sh {flag}, which the usage does not list"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--frobnicate",), "unknown argument: --frobnicate"),
        (("up",), "unknown argument: up"),
        (("--stack",), "--stack needs a stack name"),
        (("--stack", "--preview"), "--stack needs a stack name"),
        (("--stack", "my/stack"), "is not a stack name"),
        (("--stack=",), "is not a stack name"),
        (("--preview", "--destroy"), "choose one of --preview, --outputs and --destroy"),
        (("--yes",), "--yes only goes with --destroy"),
    ],
)
def test_a_wrong_argument_prints_the_usage_exits_2_and_touches_nothing(
    fakes: Sandbox, args: tuple[str, ...], says: str
) -> None:
    done = fakes.run(args=args)
    assert done.returncode == 2, output_of(done)
    assert says in done.stderr
    assert "Usage: ./up.sh" in done.stderr
    assert done.stdout == ""
    assert fakes.calls("pulumi") == [] and fakes.calls("docker") == []
    assert not (fakes.project / ".pulumi-state").exists()
    assert not (fakes.project / ".pulumi-passphrase").exists()


def test_stack_flag_selects_or_creates_that_stack(fakes: Sandbox) -> None:
    aws = {
        "cloud": "aws",
        "registryServer": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "imageName": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:0123456789ab",
        "credentials": {
            "server": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "username": "AWS",
            "password": FAKE_PASSWORD,
        },
    }
    done = fakes.run(args=("--stack=aws",), config={"cloud": "aws"}, outputs=aws)
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("stack", "select")["args"][-1] == "aws"
    assert fakes.pulumi_call("up")["args"] == ["up", "--yes", "--refresh", "--stack", "aws"]
    for args in fakes.commands():
        if args[0] in ("config", "up", "preview") or args[:2] == ["stack", "output"]:
            assert args[-2:] == ["--stack", "aws"], f"`pulumi {' '.join(args)}` is not on aws"
    # A cloud stack: `pulumi install` as usual, with every plugin; no local port check.
    assert fakes.pulumi_call("install")["args"] == ["install"]
    assert not fakes.ran("plugin")
    assert fakes.pulumi_call("up")["env"]["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] is None
    assert [c for c in fakes.calls("docker") if c["args"][:1] == ["ps"]] == []
    # The login line uses the stack's own user and server, never `admin`.
    server = aws["registryServer"]
    assert f"docker login {server} -u AWS --password-stdin" in done.stdout
    assert f"docker run --rm -p 127.0.0.1:8080:8080 {aws['imageName']}" in done.stdout
    assert FAKE_PASSWORD not in output_of(done)


def test_preview_shows_the_changes_and_changes_nothing(fakes: Sandbox) -> None:
    done = fakes.run(args=("--preview",))
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("preview")["args"] == ["preview", "--refresh", "--stack", "dev"]
    assert not fakes.ran("up") and not fakes.ran("destroy")
    assert "docker pull" not in done.stdout


def test_outputs_prints_the_outputs_and_commands_and_changes_nothing(fakes: Sandbox) -> None:
    first = fakes.run()
    assert first.returncode == 0, output_of(first)
    fakes.log.unlink()
    (fakes.fakes / "docker").unlink()  # reading outputs needs no Docker

    done = fakes.run(args=("--outputs",))
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("stack", "select")["args"] == [
        "stack",
        "select",
        "--non-interactive",
        "dev",
    ], "--outputs must not create a stack"
    changing = ("up", "preview", "destroy", "install", "plugin", "refresh")
    assert [a for a in fakes.commands() if a[0] in changing] == [], "--outputs changed something"
    assert "[secret]" in done.stdout
    assert "export PULUMI_BACKEND_URL=" in done.stdout
    assert "docker login localhost:5000 -u admin --password-stdin" in done.stdout
    assert f"docker pull {IMAGE_NAME}" in done.stdout
    assert f"docker run --rm -p 127.0.0.1:8080:8080 {IMAGE_NAME}" in done.stdout
    assert "curl -fsS localhost:8080/healthz" in done.stdout
    assert FAKE_PASSWORD not in output_of(done)


def test_outputs_before_any_update_creates_nothing(fakes: Sandbox) -> None:
    done = fakes.run(args=("--outputs",))
    assert done.returncode == 2, output_of(done)
    assert "run ./up.sh --stack dev first" in done.stderr
    assert fakes.commands() == []
    assert not (fakes.project / ".pulumi-state").exists()
    assert not (fakes.project / ".pulumi-passphrase").exists()


def test_outputs_of_a_missing_or_empty_stack_say_so(fakes: Sandbox) -> None:
    assert fakes.run().returncode == 0
    missing = fakes.run(args=("--outputs", "--stack", "gcp"), env={"FAKE_NO_STACK": "1"})
    assert missing.returncode == 2, output_of(missing)
    assert "there is no stack 'gcp'" in missing.stderr
    empty = fakes.run(args=("--outputs", "--stack", "gcp"), env={"FAKE_NOT_DEPLOYED": "1"})
    assert empty.returncode == 2, output_of(empty)
    assert "stack 'gcp' has no outputs yet: run ./up.sh --stack gcp" in empty.stderr


# --------------------------------------------------------------------------- --destroy


def deploy_then_forget(fakes: Sandbox) -> None:
    """An update first, as a real destroy would follow one; then a fresh log."""
    done = fakes.run()
    assert done.returncode == 0, output_of(done)
    fakes.log.unlink()


def test_destroy_with_yes_keeps_the_protected_images_and_says_so(fakes: Sandbox) -> None:
    deploy_then_forget(fakes)
    done = fakes.run(args=("--destroy", "--yes"))
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("destroy")["args"] == [
        "destroy",
        "--yes",
        "--exclude-protected",
        "--stack",
        "dev",
    ]
    assert not fakes.ran("up") and not fakes.ran("install")
    assert "--create" not in fakes.pulumi_call("stack", "select")["args"]
    assert "The data volume (your images) is protected while forceDelete is false" in done.stdout
    assert "pulumi config set forceDelete true --stack dev" in done.stdout
    assert "Type the stack name" not in done.stdout


@pytest.mark.parametrize(("answer", "confirmed"), [("dev\n", True), ("y\n", False), ("", False)])
def test_destroy_asks_for_the_stack_name(fakes: Sandbox, answer: str, confirmed: bool) -> None:
    deploy_then_forget(fakes)
    done = fakes.run(args=("--destroy",), stdin=answer)
    assert "Type the stack name (dev) to destroy it" in done.stdout
    assert fakes.ran("destroy") is confirmed
    if confirmed:
        assert done.returncode == 0, output_of(done)
    else:
        assert done.returncode == 1, output_of(done)
        assert "not confirmed; nothing was destroyed" in done.stderr


@pytest.mark.parametrize(
    ("cloud", "config", "says"),
    [
        ("aws", {}, "ECR refuses to delete a repository that still holds images"),
        ("azure", {}, "The container registry (your images) is protected"),
        ("gcp", {}, "The Artifact Registry repository (your images) is protected"),
        ("gcp", {"forceDelete": "true"}, "every image in it are deleted too"),
    ],
)
def test_destroy_says_what_keeps_the_images_on_each_target(
    fakes: Sandbox, cloud: str, config: dict[str, str], says: str
) -> None:
    (fakes.project / ".pulumi-state").mkdir()
    done = fakes.run(
        args=("--destroy", "--yes", "--stack", cloud),
        env={"PULUMI_CONFIG_PASSPHRASE": "a passphrase"},
        config={"cloud": cloud, **config},
    )
    assert done.returncode == 0, output_of(done)
    assert says in done.stdout
    assert fakes.pulumi_call("destroy")["args"][-2:] == ["--stack", cloud]


# --------------------------------------------------------------------------- one stack per target


def test_a_stack_switched_to_another_target_stops_before_the_update(fakes: Sandbox) -> None:
    for mode in ((), ("--preview",)):
        done = fakes.run(args=mode, config={"cloud": "aws"}, outputs={"cloud": "local"})
        assert done.returncode == 2, output_of(done)
        assert "stack 'dev' was last deployed to local" in done.stderr
        assert "`cloud` setting now says aws" in done.stderr
        assert "pulumi config set cloud local --stack dev" in done.stderr
        assert "./up.sh --stack aws" in done.stderr, "the checked-in Pulumi.aws.yaml stack"
    assert not fakes.ran("up") and not fakes.ran("preview") and not fakes.ran("install")
    # The lines to reach the stack come first all the same.
    assert "export PULUMI_BACKEND_URL=" in done.stdout


def test_the_switch_message_makes_a_stack_when_none_is_checked_in(fakes: Sandbox) -> None:
    (fakes.project / "Pulumi.azure.yaml").unlink()
    done = fakes.run(args=("--stack", "team"), config={"cloud": "azure"}, outputs={"cloud": "aws"})
    assert done.returncode == 2, output_of(done)
    assert (
        "pulumi stack init azure --secrets-provider passphrase && "
        "pulumi config set cloud azure --stack azure && ./up.sh --stack azure"
    ) in done.stderr
    back = fakes.run(args=("--stack", "aws"), config={"cloud": "local"}, outputs={"cloud": "aws"})
    assert "./up.sh --stack dev" in back.stderr, "local goes back to the dev stack"


def test_a_first_deployment_or_the_same_target_is_not_stopped(fakes: Sandbox) -> None:
    done = fakes.run(args=("--stack", "gcp"), config={"cloud": "gcp"}, outputs={"cloud": None})
    assert done.returncode == 0, output_of(done)
    again = fakes.run(args=("--stack", "gcp"), config={"cloud": "gcp"}, outputs={"cloud": "gcp"})
    assert again.returncode == 0, output_of(again)


# --------------------------------------------------------------------------- local port check


def test_a_taken_port_is_named_with_the_line_that_moves_the_registry(fakes: Sandbox) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = fakes.run(config={"localPort": str(port)})
    assert done.returncode == 2, output_of(done)
    assert f"127.0.0.1:{port} is already taken by another program" in done.stderr
    assert f"pulumi config set localPort {port + 1} --stack dev" in done.stderr
    assert not fakes.ran("up") and not fakes.ran("install")
    ps = [c["args"] for c in fakes.calls("docker") if c["args"][:1] == ["ps"]]
    assert ps == [
        [
            "ps",
            "--filter",
            "label=container-registry.project=container-registry",
            "--filter",
            "label=container-registry.stack=dev",
            "--format",
            "{{.Ports}}",
        ]
    ]


def test_port_5000_taken_gives_the_5001_line(fakes: Sandbox) -> None:
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 5000))
        holder.listen()
    except OSError:
        pass  # something else holds 5000 already: the same case for up.sh
    try:
        done = fakes.run(config={"localPort": "5000"})
    finally:
        holder.close()
    assert done.returncode == 2, output_of(done)
    assert "on macOS, AirPlay Receiver holds 5000" in done.stderr
    assert "  pulumi config set localPort 5001 --stack dev" in done.stderr


def test_the_port_held_by_this_stacks_registry_or_a_remote_engine_is_fine(fakes: Sandbox) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = str(holder.getsockname()[1])
        published = f"127.0.0.1:{port}->5000/tcp"
        ours = fakes.run(config={"localPort": port}, env={"FAKE_PS": published})
        remote = fakes.run(config={"localPort": port}, env={"DOCKER_HOST": "ssh://me@builder"})
        # This stack's registry on another port does not make the port free.
        moved = fakes.run(config={"localPort": port}, env={"FAKE_PS": "127.0.0.1:1->5000/tcp"})
    assert ours.returncode == 0, output_of(ours)
    assert remote.returncode == 0, output_of(remote)
    assert moved.returncode == 2, output_of(moved)
    assert len([c for c in fakes.calls("docker") if c["args"][:1] == ["ps"]]) == 2


# --------------------------------------------------------------------------- plugins


def test_a_local_stack_installs_exactly_the_docker_and_random_plugins(fakes: Sandbox) -> None:
    done = fakes.run()
    assert done.returncode == 0, output_of(done)
    commands = fakes.commands()
    install = commands.index(["install", "--no-plugins"])
    docker = commands.index(["plugin", "install", "resource", "docker", DOCKER_PLUGIN])
    random = commands.index(["plugin", "install", "resource", "random", RANDOM_PLUGIN])
    up = commands.index(["up", "--yes", "--refresh", "--stack", "dev"])
    assert install < docker < random < up
    assert len([a for a in commands if a[:1] == ["plugin"]]) == 2, commands
    env = fakes.pulumi_call("up")["env"]
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"


def test_automatic_acquisition_chosen_by_the_user_is_kept(fakes: Sandbox) -> None:
    done = fakes.run(env={"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "false"})
    assert done.returncode == 0, output_of(done)
    env = fakes.pulumi_call("up")["env"]
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "false"


def test_without_the_sdks_plugin_files_pulumi_downloads_as_usual(fakes: Sandbox) -> None:
    done = fakes.run(env={"FAKE_VENV": ""})
    assert done.returncode == 0, output_of(done)
    assert "no pulumi-plugin.json of pulumi_docker/pulumi_random" in done.stderr
    assert not fakes.ran("plugin")
    assert fakes.pulumi_call("up")["env"]["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] is None


# --------------------------------------------------------------------------- CLI version


@pytest.mark.parametrize("version", ["v3.118.9", "v2.25.2"])
def test_a_pulumi_cli_older_than_the_minimum_is_refused(fakes: Sandbox, version: str) -> None:
    done = fakes.run(env={"FAKE_VERSION": version})
    assert done.returncode == 2, output_of(done)
    assert f"the Pulumi CLI is {version}; this project needs 3.119.0 or newer" in done.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in done.stderr
    assert fakes.commands() == []


@pytest.mark.parametrize("version", ["v3.119.0", "v3.272.0", "v4.0.0-alpha.1"])
def test_the_minimum_pulumi_cli_and_newer_pass(fakes: Sandbox, version: str) -> None:
    done = fakes.run(args=("--preview",), env={"FAKE_VERSION": version})
    assert done.returncode == 0, output_of(done)
    assert "Pulumi CLI" not in done.stderr


def test_an_unreadable_pulumi_version_only_warns(fakes: Sandbox) -> None:
    done = fakes.run(args=("--preview",), env={"FAKE_VERSION": "a development build"})
    assert done.returncode == 0, output_of(done)
    assert "warning: cannot tell the Pulumi CLI version" in done.stderr
