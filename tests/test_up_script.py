"""Tests for ./up.sh, the one command of the quickstart, for every flag.

The script runs for real under bash, from a copy in a temporary project folder (so no state or
passphrase lands in the repository), with a PATH built for each test: bash, the few coreutils it
uses and python3, plus fake `pulumi` and `docker` executables that log every call. The fakes are
bash scripts, not Python, so that the dozens of calls per run stay cheap on a busy machine. The
check of an unreachable engine uses the real docker CLI when there is one.
"""

from __future__ import annotations

import copy
import json
import os
import pty
import re
import shlex
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
from stack_config.errors import SettingsError
from stack_config.keys import PLAINTEXT_SET
from stack_config.parse import parse_settings

SCRIPT = ROOT / "up.sh"
# What up.sh reads besides itself: the project name, the checked-in stack files and the
# requirement files of the cloud stacks.
PROJECT_FILES = (
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.aws.yaml",
    "Pulumi.azure.yaml",
    "Pulumi.gcp.yaml",
    "requirements.txt",
    "requirements-aws.txt",
    "requirements-azure.txt",
    "requirements-gcp.txt",
    ".gitignore",
)
TOOLS = ("bash", "cat", "dirname", "mkdir", "chmod", "rm", "tr")
BASH = shutil.which("bash") or "/bin/bash"
CP = shutil.which("cp") or "/bin/cp"
RM = shutil.which("rm") or "/bin/rm"
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
# FAKE_OUTPUTS_JSON / FAKE_OUTPUTS_SECRET_JSON, FAKE_VERSION, FAKE_STATE_JSON (`stack export`);
# FAKE_NOT_DEPLOYED makes every output missing, FAKE_NO_STACK fails `stack select` without
# --create, FAKE_UP_FAILS fails the update, FAKE_DESTROY_FAILS the destroy, and `install` copies
# FAKE_VENV (a venv with the SDKs' pulumi-plugin.json and a logging bin/python) into the project.
# The stacks live as files in FAKE_STACKS: `stack select --create` of a new one adds the
# `encryptionsalt:` line to Pulumi.<stack>.yaml as the real CLI does, `stack rm` removes it from
# FAKE_STACKS, `stack ls --json` lists them.
ENV_LOGGED = (
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "DOCKER_HOST",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
)
# How up.sh selects (or creates) the dev stack: passphrase secrets, never a prompt.
SELECT_DEV = [
    "stack",
    "select",
    "--create",
    "--secrets-provider",
    "passphrase",
    "--non-interactive",
    "dev",
]

FAKE_PULUMI = (
    r"""
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
elif [[ "${1-}" == destroy && -n "${FAKE_DESTROY_FAILS:-}" ]]; then
    echo "error: RepositoryNotEmptyException" >&2
    exit 1
elif [[ "${1-} ${2-}" == "stack select" && "$args" != *" --create "* &&
        -n "${FAKE_NO_STACK:-}" ]]; then
    echo "error: no stack named '${!#}' found" >&2
    exit 1
elif [[ "${1-} ${2-}" == "stack select" && "$args" == *" --create "* ]]; then
    if [[ ! -e "$FAKE_STACKS/${!#}" ]]; then
        : >"$FAKE_STACKS/${!#}"
        printf 'encryptionsalt: v1:c2FsdA==:v1:fake:salt==\n' >>"$PWD/Pulumi.${!#}.yaml"
    fi
elif [[ "${1-} ${2-}" == "stack rm" ]]; then
    __RM__ -f "$FAKE_STACKS/${!#}"
elif [[ "${1-} ${2-}" == "stack ls" ]]; then
    names=("$FAKE_STACKS"/*)
    [[ -e "${names[0]}" ]] || names=()
    printf '['
    sep=""
    for name in "${names[@]}"; do printf '%s{"name": "%s"}' "$sep" "${name##*/}"; sep=", "; done
    printf ']\n'
elif [[ "${1-} ${2-}" == "stack export" ]]; then
    empty='{"version": 3, "deployment": {"resources": []}}'
    printf '%s\n' "${FAKE_STATE_JSON:-$empty}"
elif [[ "${1-}" == install && -n "${FAKE_VENV:-}" && ! -e "$PWD/venv" ]]; then
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
""".replace("__ENV__", " ".join(ENV_LOGGED))
    .replace("__CP__", CP)
    .replace("__RM__", RM)
)

# docker: the tool, stdin ("=..." for `docker login --password-stdin`), DOCKER_HOST, then argv.
# `docker ps --filter publish=<port>` prints FAKE_PUBLISH_<port> (a container's "ID NAME"),
# `docker ps -aq --filter name=^/<name>$` prints FAKE_NAMED_<name, - as _>; FAKE_ENGINE_DOWN and
# FAKE_TEMPLATE_ERROR fail `docker info` as an unreachable engine makes the CLI 28 and 20.10 do.
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
args=" $* "
if [[ "${1-} ${2-}" == "context inspect" ]]; then
    printf '%s\n' "${FAKE_CONTEXT_HOST:-unix:///var/run/docker.sock}"
elif [[ "${1-}" == info && -n "${FAKE_ENGINE_DOWN:-}" ]]; then
    echo "Cannot connect to the Docker daemon. Is the docker daemon running?" >&2
    exit 1
elif [[ "${1-}" == info && -n "${FAKE_TEMPLATE_ERROR:-}" ]]; then
    printf '%s %s\n' 'template: :1:2: executing "" at <.ServerVersion>: reflect: indirection' \
        'through nil pointer to embedded struct field Info' >&2
    exit 1
elif [[ "${1-}" == version ]]; then
    printf '20.10.24+dfsg1\n'
elif [[ "${1-}" == ps && "$args" == *" --filter publish="* ]]; then
    port="${args#* --filter publish=}"
    var="FAKE_PUBLISH_${port%% *}"
    [[ -n "${!var:-}" ]] && printf '%s\n' "${!var}"
elif [[ "${1-}" == ps && "$args" == *" --filter name=^/"* ]]; then
    name="${args#* --filter name=^/}"
    name="${name%%\$*}"
    var="FAKE_NAMED_${name//[^A-Za-z0-9_]/_}"
    [[ -n "${!var:-}" ]] && printf '%s\n' "${!var}"
fi
exit 0
"""

# venv/bin/python: "venv-python", then argv.
FAKE_VENV_PYTHON = r"""
{
    printf '%s\0' venv-python
    printf '%s\0' "$@"
    printf '\036'
} >>"$FAKE_LOG"
"""


def _unset_or(field: str) -> str | None:
    return field[1:] if field.startswith("=") else None


def _parse_call(record: str) -> dict[str, Any]:
    fields = record.split("\0")[:-1]
    if fields[0] == "venv-python":
        return {"tool": "venv-python", "args": fields[1:]}
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
    stacks: Path
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
        return subprocess.run(
            [str(self.project / "up.sh"), *args],
            cwd=cwd or self.home,
            env=self.environment(env, config, outputs),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            check=False,
        )

    def environment(
        self,
        env: Mapping[str, str] | None = None,
        config: Mapping[str, str] | None = None,
        outputs: Mapping[str, Any] | None = None,
    ) -> dict[str, str]:
        base = {
            "PATH": f"{self.fakes}:{self.tools}",
            "HOME": str(self.home),
            "DOCKER_CONFIG": str(self.home / ".docker"),
            "FAKE_LOG": str(self.log),
            "FAKE_VENV": str(self.venv),
            "FAKE_STACKS": str(self.stacks),
            "LANG": "C.UTF-8",
            **fake_environment(
                {"localPort": str(self.free_port), **(config or {})},
                {**DEFAULT_OUTPUTS, **(outputs or {})},
            ),
        }
        return {**base, **(env or {})}

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
        stacks=tmp_path / "stacks",
        free_port=unused_port(),
    )
    for folder in (box.tools, box.fakes, box.home, box.stacks):
        folder.mkdir()
    # What `pulumi install` leaves in venv/: the SDKs with their pulumi-plugin.json.
    site = box.venv / "lib" / "python3.11" / "site-packages"
    for package, version in (("docker", DOCKER_PLUGIN), ("random", RANDOM_PLUGIN)):
        (site / f"pulumi_{package}").mkdir(parents=True)
        plugin = {"resource": True, "name": package, "version": version}
        (site / f"pulumi_{package}" / "pulumi-plugin.json").write_text(json.dumps(plugin))
    (box.venv / "bin").mkdir()
    (box.venv / "bin" / "python").write_text(f"#!{BASH}\n{FAKE_VENV_PYTHON}", encoding="utf-8")
    (box.venv / "bin" / "python").chmod(0o755)
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


TRY_RUN = re.compile(r"^  docker run -d --rm --name (\S+) -p 127\.0\.0\.1:(\d+):8080 (\S+)$", re.M)


def assert_try_lines(stdout: str, image: str, avoid: set[int] | None = None) -> int:
    """The "try the image" lines: the app runs detached on a loopback port away from `avoid`,
    with the browser URL, a curl line and how to stop it. Returns the port."""
    found = TRY_RUN.findall(stdout)
    assert len(found) == 1, stdout
    name, port_text, shown_image = found[0]
    port = int(port_text)
    assert shown_image == image
    assert port not in (avoid or set()), f"the app would run on {port}, which is taken"
    assert f"  curl -fsS http://127.0.0.1:{port}/healthz\n" in stdout
    assert f"open http://127.0.0.1:{port}/ in your browser" in stdout
    assert f"docker stop {name}" in stdout
    return port


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
    assert "DOCKER_HOST=<unset: the default socket, unix:///var/run/docker.sock>" in done.stderr
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
    assert select["args"] == SELECT_DEV
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
    assert_try_lines(done.stdout, IMAGE_NAME, {fakes.free_port})
    assert "./up.sh --stack dev --destroy" in done.stdout


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
    for option in (
        "--stack NAME",
        "--config KEY VALUE",
        "--preview",
        "--outputs",
        "--env",
        "--destroy",
        "--yes",
        "--help",
    ):
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
        (("--preview", "--destroy"), "choose one of --preview, --outputs, --env and --destroy"),
        (("--env", "--outputs"), "choose one of --preview, --outputs, --env and --destroy"),
        (("--yes", "--preview"), "--yes goes only with an update or --destroy"),
        (("--config", "localPort"), "--config needs a key and a value"),
        (("--config", "--yes", "1"), "--config needs a key and a value"),
        (("--preview", "--config", "localPort", "5006"), "--config goes only with an update"),
        (
            ("--config", "dockerHubToken", "dckr_pat_x", "--stack", "team"),
            "--config does not take the secret dockerHubToken; set it at a hidden prompt:\n"
            '  eval "$(./up.sh --stack team --env)" && '
            "pulumi config set --secret dockerHubToken --stack team",
        ),
        (
            ("--config", "container-registry:dockerHubToken", "dckr_pat_x"),
            "--config does not take the secret dockerHubToken",
        ),
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
    done = fakes.run(args=("--stack=aws", "--yes"), config={"cloud": "aws"}, outputs=aws)
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("stack", "select")["args"][-1] == "aws"
    assert fakes.pulumi_call("up")["args"] == ["up", "--yes", "--refresh", "--stack", "aws"]
    for args in fakes.commands():
        if args[0] in ("config", "up", "preview") or args[:2] == ["stack", "output"]:
            assert args[-2:] == ["--stack", "aws"], f"`pulumi {' '.join(args)}` is not on aws"
    # A cloud stack: the local set, then its own SDK with venv/'s pip, then the plugins of what
    # is installed; no local port check.
    commands = fakes.commands()
    first = commands.index(["install", "--no-plugins"])
    last = commands.index(["install", "--no-dependencies"])
    assert first < last < commands.index(["up", "--yes", "--refresh", "--stack", "aws"])
    pips = [c["args"] for c in fakes.calls("venv-python")]
    pip = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    assert pips == [[*pip, "-r", "requirements-aws.txt"]]
    assert not fakes.ran("plugin")
    assert fakes.pulumi_call("up")["env"]["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] is None
    assert [c for c in fakes.calls("docker") if c["args"][:1] == ["ps"]] == []
    # The login line uses the stack's own user and server, never `admin`.
    server = aws["registryServer"]
    assert f"docker login {server} -u AWS --password-stdin" in done.stdout
    assert_try_lines(done.stdout, aws["imageName"])
    assert FAKE_PASSWORD not in output_of(done)


def test_preview_shows_the_changes_and_changes_nothing(fakes: Sandbox) -> None:
    done = fakes.run(args=("--preview",))
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("preview")["args"] == ["preview", "--refresh", "--stack", "dev"]
    assert not fakes.ran("up") and not fakes.ran("destroy")
    assert "docker pull" not in done.stdout
    # What --help says it makes, it makes: the state folder, the passphrase and the stack.
    usage = fakes.run(args=("--help",)).stdout
    assert "changes no resource, but creates the\n" in usage
    assert "state folder, the passphrase and the empty stack if they do not exist yet" in usage
    assert (fakes.project / ".pulumi-state").is_dir()
    assert (fakes.project / ".pulumi-passphrase").is_file()
    assert "--create" in fakes.pulumi_call("stack", "select")["args"]


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
    assert_try_lines(done.stdout, IMAGE_NAME, {fakes.free_port})
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


def deploy_then_forget(fakes: Sandbox, **run: Any) -> None:
    """An update first, as a real destroy would follow one; then a fresh log."""
    done = fakes.run(**run)
    assert done.returncode == 0, output_of(done)
    fakes.log.unlink()


OUR_CONTAINER_ID = "f00dcafe" + "0" * 56
# A local stack's state as `pulumi stack export` prints it: the pulled registry image, the
# protected data volume, the registry container and the built app image.
LOCAL_STATE: dict[str, Any] = {
    "version": 3,
    "deployment": {
        "resources": [
            {"type": "pulumi:pulumi:Stack", "urn": "urn:pulumi:dev::container-registry::stack"},
            {
                "type": "docker:index/remoteImage:RemoteImage",
                "id": "sha256:1f2e",
                "outputs": {"name": "registry:2.8.3", "keepLocally": True},
            },
            {
                "type": "docker:index/volume:Volume",
                "id": "container-registry-dev-registry-data",
                "protect": True,
                "outputs": {"name": "container-registry-dev-registry-data"},
            },
            {
                "type": "docker:index/container:Container",
                "id": OUR_CONTAINER_ID,
                "outputs": {"name": "container-registry-dev-registry"},
            },
            {"type": "docker:index/image:Image", "id": "a", "outputs": {"imageName": IMAGE_NAME}},
        ]
    },
}
WITH_STATE = {"FAKE_STATE_JSON": json.dumps(LOCAL_STATE)}


def git(project: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(project), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_a_round_trip_leaves_the_machine_and_the_checkout_as_they_were(fakes: Sandbox) -> None:
    if shutil.which("git") is None:
        pytest.skip("no git on this machine")
    project = fakes.project
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")
    env = {**WITH_STATE, "FAKE_NAMED_container_registry_dev_app": "0a9b8c7d6e5f"}
    up = fakes.run(env=env)
    assert up.returncode == 0, output_of(up)
    # What the real CLI does to a checked-in stack file when it creates the stack.
    assert "encryptionsalt:" in (project / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    fakes.log.unlink()

    done = fakes.run(args=("--destroy", "--yes"), env=env)
    assert done.returncode == 0, output_of(done)
    commands = fakes.commands()
    order = [
        ["state", "unprotect", "--all", "--yes", "--stack", "dev"],
        ["destroy", "--yes", "--stack", "dev"],
        ["stack", "rm", "--yes", "--preserve-config", "dev"],
        ["stack", "ls", "--json"],
    ]
    positions = [commands.index(command) for command in order]
    assert positions == sorted(positions), commands
    docker = [c["args"] for c in fakes.calls("docker")]
    for removal in (
        ["rm", "-f", "container-registry-dev-app"],
        ["image", "rm", "registry:2.8.3"],
        ["image", "rm", IMAGE_NAME],
        ["logout", "localhost:5000"],
    ):
        assert removal in docker, f"`docker {' '.join(removal)}` did not run: {docker}"
    assert not (project / ".pulumi-state").exists()
    assert not (project / ".pulumi-passphrase").exists()
    assert "no stack is left: removed .pulumi-state/ and .pulumi-passphrase" in done.stdout
    assert git(project, "status", "--porcelain") == "", "the round trip left the checkout dirty"


def test_destroy_from_a_shell_with_the_env_lines_still_cleans_up(fakes: Sandbox) -> None:
    deploy_then_forget(fakes, env=WITH_STATE)
    lines = fakes.run(args=("--env",)).stdout
    shell = evaluate_in_a_new_shell(fakes, lines)
    exported = {k: v for k, v in shell.items() if k != "PWD" and v is not None}
    done = fakes.run(args=("--destroy", "--yes"), env={**WITH_STATE, **exported})
    assert done.returncode == 0, output_of(done)
    assert not (fakes.project / ".pulumi-state").exists()
    assert not (fakes.project / ".pulumi-passphrase").exists()


def test_destroy_keeps_a_backend_and_passphrase_of_the_users_own(
    fakes: Sandbox, tmp_path: Path
) -> None:
    own = {"PULUMI_BACKEND_URL": f"file://{tmp_path}/elsewhere", "PULUMI_CONFIG_PASSPHRASE": "x"}
    (tmp_path / "elsewhere").mkdir()
    deploy_then_forget(fakes, env=own)
    done = fakes.run(args=("--destroy", "--yes"), env=own)
    assert done.returncode == 0, output_of(done)
    assert (tmp_path / "elsewhere").is_dir()
    assert not fakes.ran("stack", "ls"), "not up.sh's backend: nothing of it is removed"


def test_destroy_keeps_the_state_while_another_stack_is_in_it(fakes: Sandbox) -> None:
    deploy_then_forget(fakes, env=WITH_STATE)
    (fakes.stacks / "aws").touch()
    done = fakes.run(args=("--destroy", "--yes"), env=WITH_STATE)
    assert done.returncode == 0, output_of(done)
    assert fakes.ran("stack", "rm")
    assert (fakes.project / ".pulumi-state").is_dir()
    assert (fakes.project / ".pulumi-passphrase").is_file()
    assert "removed .pulumi-state" not in done.stdout


def test_destroy_removes_a_stack_file_that_only_its_creation_wrote(fakes: Sandbox) -> None:
    deploy_then_forget(fakes, args=("--stack", "team"))
    stack_file = fakes.project / "Pulumi.team.yaml"
    assert stack_file.read_text(encoding="utf-8").startswith("encryptionsalt:")
    done = fakes.run(args=("--stack", "team", "--destroy", "--yes"))
    assert done.returncode == 0, output_of(done)
    assert not stack_file.exists()
    # A stack that never had a protected resource needs no unprotect (it would fail on an
    # empty state).
    assert not fakes.ran("state", "unprotect")


@pytest.mark.parametrize(("answer", "confirmed"), [("dev\n", True), ("y\n", False), ("", False)])
def test_destroy_asks_for_the_stack_name(fakes: Sandbox, answer: str, confirmed: bool) -> None:
    deploy_then_forget(fakes, env=WITH_STATE)
    done = fakes.run(args=("--destroy",), stdin=answer, env=WITH_STATE)
    assert "Type the stack name (dev) to destroy it" in done.stdout
    assert "with the registry and every image pushed to it" in done.stdout
    assert "registry:2.8.3" in done.stdout and "the docker login for localhost:5000" in done.stdout
    assert fakes.ran("destroy") is confirmed
    assert fakes.ran("state", "unprotect") is confirmed
    if confirmed:
        assert done.returncode == 0, output_of(done)
    else:
        assert done.returncode == 1, output_of(done)
        assert "not confirmed; nothing was destroyed" in done.stderr
        assert (fakes.project / ".pulumi-state").is_dir()


def test_an_ecr_repository_with_images_names_the_command_that_deletes_it(fakes: Sandbox) -> None:
    (fakes.project / ".pulumi-state").mkdir()
    done = fakes.run(
        args=("--destroy", "--yes", "--stack", "aws"),
        env={"PULUMI_CONFIG_PASSPHRASE": "a passphrase", "FAKE_DESTROY_FAILS": "1"},
        config={"cloud": "aws"},
    )
    assert done.returncode == 2, output_of(done)
    assert (
        "./up.sh --stack aws --config forceDelete true --yes && ./up.sh --stack aws --destroy"
    ) in done.stderr
    assert not fakes.ran("stack", "rm"), "the stack must stay while it holds resources"


# --------------------------------------------------------------------------- a cloud update asks


def run_on_terminal(
    fakes: Sandbox, args: tuple[str, ...], config: Mapping[str, str], outputs: Mapping[str, Any]
) -> str:
    """up.sh with a pseudo-terminal as stdin, stdout and stderr, as in an interactive shell."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(fakes.project / "up.sh"), *args],
        cwd=fakes.home,
        env=fakes.environment(config=config, outputs=outputs),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the script and its children closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=SCRIPT_TIMEOUT_S) == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace")


def test_a_cloud_update_on_a_terminal_shows_the_preview_and_asks(fakes: Sandbox) -> None:
    run_on_terminal(fakes, ("--stack", "aws"), {"cloud": "aws"}, {"cloud": "aws"})
    # Without --yes, `pulumi up` shows the preview and asks before it changes anything.
    assert fakes.pulumi_call("up")["args"] == ["up", "--refresh", "--stack", "aws"]


@pytest.mark.parametrize(
    ("args", "config", "cloud"),
    [
        (("--stack", "aws"), {}, "aws"),  # Pulumi.aws.yaml says so
        (("--stack", "team", "--config", "cloud", "gcp"), {}, "gcp"),
        (("--stack", "team"), {"cloud": "azure"}, "azure"),  # the stack's own setting
    ],
)
def test_a_cloud_update_without_a_terminal_or_yes_stops_with_one_line(
    fakes: Sandbox, args: tuple[str, ...], config: dict[str, str], cloud: str
) -> None:
    done = fakes.run(args=args, config=config, outputs={"cloud": None})
    assert done.returncode == 2, output_of(done)
    stack = args[1]
    assert done.stderr == (
        f"up.sh: stack '{stack}' is on {cloud}, which bills: an update shows its preview and asks "
        "first, and there is no terminal to ask on. Nothing was changed; run "
        f"./up.sh --stack {stack} --yes to update without asking "
        f"(./up.sh --stack {stack} --preview shows the changes).\n"
    )
    assert not fakes.ran("up") and not fakes.ran("install") and not fakes.ran("config", "set")
    if not config:  # known from the stack file or --config: refused before anything is made
        assert fakes.commands() == []
        assert not (fakes.project / ".pulumi-state").exists()
        assert not (fakes.project / ".pulumi-passphrase").exists()


def test_a_cloud_update_with_yes_does_not_ask(fakes: Sandbox) -> None:
    done = fakes.run(
        args=("--stack", "gcp", "--yes"), config={"cloud": "gcp"}, outputs={"cloud": "gcp"}
    )
    assert done.returncode == 0, output_of(done)
    assert fakes.pulumi_call("up")["args"] == ["up", "--yes", "--refresh", "--stack", "gcp"]


# --------------------------------------------------------------------------- --config and --env


def test_config_flags_set_the_stack_then_update_it(fakes: Sandbox) -> None:
    done = fakes.run(
        args=("--stack", "dev", "--config", "localPort", "5006", "--config", "mirror", "true")
    )
    assert done.returncode == 0, output_of(done)
    commands = fakes.commands()
    first = commands.index(["config", "set", "--plaintext", "localPort", "5006", "--stack", "dev"])
    second = commands.index(["config", "set", "--plaintext", "mirror", "true", "--stack", "dev"])
    select = commands.index(SELECT_DEV)
    assert select < first < second < commands.index(["up", "--yes", "--refresh", "--stack", "dev"])


def evaluate_in_a_new_shell(fakes: Sandbox, lines: str) -> dict[str, str | None]:
    """`eval` the lines in a fresh bash with none of up.sh's variables; report the variables
    and the folder they leave."""
    script = 'eval "$LINES"; for n in ' + " ".join(ENV_LOGGED)
    script += '; do if [[ -n "${!n+x}" ]]; then printf "%s=%s\\0" "$n" "${!n}"; fi; done; '
    script += 'printf "PWD=%s\\0" "$PWD"'
    done = subprocess.run(
        [BASH, "-c", script],
        env={"PATH": f"{fakes.tools}", "LINES": lines},
        cwd=fakes.home,
        capture_output=True,
        text=True,
        check=True,
    )
    found = dict(field.split("=", 1) for field in done.stdout.split("\0") if field)
    return {name: found.get(name) for name in (*ENV_LOGGED, "PWD")}


@pytest.mark.parametrize(
    ("cloud", "env"),
    [
        ("local", {}),
        ("local", {"FAKE_CONTEXT_HOST": "unix:///home/me/.colima/default/docker.sock"}),
        ("aws", {}),
    ],
)
def test_env_prints_exactly_what_up_sh_sets_for_the_stack(
    fakes: Sandbox, cloud: str, env: dict[str, str]
) -> None:
    stack = "dev" if cloud == "local" else cloud
    outputs = {"cloud": cloud}
    first = fakes.run(
        args=("--stack", stack, "--yes"), config={"cloud": cloud}, outputs=outputs, env=env
    )
    assert first.returncode == 0, output_of(first)
    up = fakes.pulumi_call("up")
    fakes.log.unlink()

    done = fakes.run(
        args=("--stack", stack, "--env"), config={"cloud": cloud}, outputs=outputs, env=env
    )
    assert done.returncode == 0, output_of(done)
    assert all(line.startswith(("cd ", "export ")) for line in done.stdout.splitlines())
    shell = evaluate_in_a_new_shell(fakes, done.stdout)
    assert shell["PWD"] == up["cwd"]
    for name in ENV_LOGGED:
        assert shell[name] == up["env"][name], f"{name}: up.sh ran pulumi up with another value"
    assert (shell["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true") is (cloud == "local")
    assert [a for a in fakes.commands() if a[0] in ("up", "install", "destroy", "config")] == [
        ["config", "get", "cloud", "--stack", stack]
    ]
    # The same lines come with every update, behind the one command that prints them.
    quoted = str(fakes.project / "up.sh").replace(" ", "\\ ")  # as bash's printf %q writes it
    assert f'  eval "$({quoted} --stack {stack} --env)"' in first.stdout


def test_env_before_any_update_creates_nothing(fakes: Sandbox) -> None:
    done = fakes.run(args=("--env",))
    assert done.returncode == 2, output_of(done)
    assert "run ./up.sh --stack dev first" in done.stderr
    assert done.stdout == ""
    assert not (fakes.project / ".pulumi-state").exists()


# --------------------------------------------------------------------------- one stack per target


def test_a_stack_switched_to_another_target_stops_before_the_update(fakes: Sandbox) -> None:
    for mode in ((), ("--preview",)):
        done = fakes.run(args=mode, config={"cloud": "aws"}, outputs={"cloud": "local"})
        assert done.returncode == 2, output_of(done)
        assert "stack 'dev' was last deployed to local" in done.stderr
        assert "`cloud` setting now says aws" in done.stderr
        assert "  ./up.sh --stack dev --config cloud local" in done.stderr
        assert "./up.sh --stack aws" in done.stderr, "the checked-in Pulumi.aws.yaml stack"
    assert not fakes.ran("up") and not fakes.ran("preview") and not fakes.ran("install")
    # The lines to reach the stack come first all the same.
    assert "export PULUMI_BACKEND_URL=" in done.stdout


def test_the_switch_message_makes_a_stack_when_none_is_checked_in(fakes: Sandbox) -> None:
    (fakes.project / "Pulumi.azure.yaml").unlink()
    done = fakes.run(args=("--stack", "team"), config={"cloud": "azure"}, outputs={"cloud": "aws"})
    assert done.returncode == 2, output_of(done)
    assert "  ./up.sh --stack azure --config cloud azure\n" in done.stderr
    back = fakes.run(
        args=("--stack", "aws", "--yes"), config={"cloud": "local"}, outputs={"cloud": "aws"}
    )
    assert "./up.sh --stack dev" in back.stderr, "local goes back to the dev stack"


def test_a_first_deployment_or_the_same_target_is_not_stopped(fakes: Sandbox) -> None:
    done = fakes.run(
        args=("--stack", "gcp", "--yes"), config={"cloud": "gcp"}, outputs={"cloud": None}
    )
    assert done.returncode == 0, output_of(done)
    again = fakes.run(
        args=("--stack", "gcp", "--yes"), config={"cloud": "gcp"}, outputs={"cloud": "gcp"}
    )
    assert again.returncode == 0, output_of(again)


# --------------------------------------------------------------------------- local port check


def held_port() -> socket.socket:
    """A socket listening on a free loopback port: "another program"."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def test_a_port_held_by_another_program_names_a_fix_that_works_as_printed(fakes: Sandbox) -> None:
    with held_port() as holder:
        port = holder.getsockname()[1]
        done = fakes.run(config={"localPort": str(port)})
        assert done.returncode == 2, output_of(done)
        assert f"127.0.0.1:{port} (localPort) is already taken by another program" in done.stderr
        fix = [line for line in done.stderr.splitlines() if "./up.sh" in line]
        assert len(fix) == 1, done.stderr
        assert not fakes.ran("up") and not fakes.ran("install")
        # The line, run as printed (in a new shell: only its own words), moves the registry.
        words = shlex.split(fix[0].removeprefix("up.sh:"))
        assert words[:5] == ["./up.sh", "--stack", "dev", "--config", "localPort"], words
        new_port = words[5]
        fakes.log.unlink()
        again = fakes.run(args=tuple(words[1:]), cwd=fakes.project, config={"localPort": new_port})
    assert again.returncode == 0, output_of(again)
    assert fakes.ran("config", "set", "--plaintext", "localPort", new_port, "--stack", "dev")
    assert int(new_port) != port


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
    assert "  ./up.sh --stack dev --config localPort 5001" in done.stderr


def test_a_port_held_by_another_clones_container_names_it(fakes: Sandbox) -> None:
    """Same project, same stack name, same labels: another clone's registry is still not this
    stack's, because its container ID is not in this stack's state."""
    with held_port() as holder:
        port = holder.getsockname()[1]
        done = fakes.run(
            config={"localPort": str(port)},
            env={
                **WITH_STATE,
                f"FAKE_PUBLISH_{port}": "0badc0ffee00 container-registry-dev-registry",
            },
        )
    assert done.returncode == 2, output_of(done)
    assert (
        f"127.0.0.1:{port} (localPort) is held by the container container-registry-dev-registry, "
        "which is not in stack 'dev'"
    ) in done.stderr
    assert "docker stop container-registry-dev-registry" in done.stderr
    assert "  ./up.sh --stack dev --config localPort " in done.stderr
    ps = [c["args"] for c in fakes.calls("docker") if c["args"][:1] == ["ps"]]
    assert not [args for args in ps if any("label=" in a for a in args)], "labels are not proof"


def test_the_port_held_by_this_stacks_own_container_or_a_remote_engine_is_fine(
    fakes: Sandbox,
) -> None:
    with held_port() as holder:
        port = str(holder.getsockname()[1])
        ours = fakes.run(
            config={"localPort": port},
            env={**WITH_STATE, f"FAKE_PUBLISH_{port}": f"{OUR_CONTAINER_ID[:12]} some-name"},
        )
        remote = fakes.run(config={"localPort": port}, env={"DOCKER_HOST": "ssh://me@builder"})
    assert ours.returncode == 0, output_of(ours)
    assert remote.returncode == 0, output_of(remote)


def test_the_mirror_port_is_checked_only_with_the_mirror(fakes: Sandbox) -> None:
    with held_port() as holder:
        port = str(holder.getsockname()[1])
        config = {"localMirrorPort": port}
        on = fakes.run(config={**config, "mirror": "true"})
        off = fakes.run(config={**config, "mirror": "false"})
    assert on.returncode == 2, output_of(on)
    assert f"127.0.0.1:{port} (localMirrorPort) is already taken" in on.stderr
    assert "  ./up.sh --stack dev --config localMirrorPort " in on.stderr
    assert off.returncode == 0, output_of(off)


def test_the_mirror_port_defaults_to_the_next_port(fakes: Sandbox) -> None:
    with held_port() as holder:
        taken = holder.getsockname()[1]
        done = fakes.run(config={"localPort": str(taken - 1), "mirror": "true"})
    if done.returncode == 2 and f"127.0.0.1:{taken - 1} (localPort)" in done.stderr:
        pytest.skip(f"port {taken - 1} is in use on this machine")
    assert done.returncode == 2, output_of(done)
    assert f"127.0.0.1:{taken} (localMirrorPort) is already taken" in done.stderr


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("container-registry-dev-registry", {}),
        ("container-registry-dev-registry-mirror", {"mirror": "true"}),
    ],
)
def test_a_container_name_held_by_another_container_is_named(
    fakes: Sandbox, name: str, config: dict[str, str]
) -> None:
    named = {f"FAKE_NAMED_{name.replace('-', '_')}": "0badc0ffee00"}
    done = fakes.run(config=config, env={**WITH_STATE, **named})
    assert done.returncode == 2, output_of(done)
    assert f"a container named {name} exists, but it is not in stack 'dev'" in done.stderr
    assert f"docker rm -f {name}" in done.stderr
    assert "./up.sh --stack dev-2 --config cloud local" in done.stderr
    assert not fakes.ran("up")
    # The same name held by this stack's own container (its ID in the state) is fine.
    fakes.log.unlink()
    mine = {f"FAKE_NAMED_{name.replace('-', '_')}": OUR_CONTAINER_ID[:12]}
    if "mirror" in config:
        state = copy.deepcopy(LOCAL_STATE)
        state["deployment"]["resources"].append(
            {"type": "docker:index/container:Container", "id": "ab" * 32, "outputs": {"name": name}}
        )
        mine = {f"FAKE_NAMED_{name.replace('-', '_')}": "abababababab"}
        again = fakes.run(config=config, env={"FAKE_STATE_JSON": json.dumps(state), **mine})
    else:
        again = fakes.run(config=config, env={**WITH_STATE, **mine})
    assert again.returncode == 0, output_of(again)


# --------------------------------------------------------------------------- see the app


def test_the_app_runs_away_from_the_registry_port_and_a_taken_8080(fakes: Sandbox) -> None:
    remote = {"DOCKER_HOST": "ssh://me@builder"}  # no port check: localPort may be anything
    done = fakes.run(config={"localPort": "8080"}, env=remote)
    assert done.returncode == 0, output_of(done)
    assert_try_lines(done.stdout, IMAGE_NAME, {8080})
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8080))
        holder.listen()
    except OSError:
        pass  # something holds 8080 already: the same case
    try:
        busy = fakes.run()
    finally:
        holder.close()
    assert busy.returncode == 0, output_of(busy)
    assert_try_lines(busy.stdout, IMAGE_NAME, {8080, fakes.free_port})


# --------------------------------------------------------------------------- old engines


def test_the_20_10_cli_template_error_says_no_engine_answers_and_where(fakes: Sandbox) -> None:
    done = fakes.run({"FAKE_TEMPLATE_ERROR": "1", "DOCKER_HOST": "unix:///run/nothing.sock"})
    assert done.returncode == 2, output_of(done)
    assert "cannot reach a Docker engine (DOCKER_HOST=unix:///run/nothing.sock)" in done.stderr
    assert "no Docker engine answers there" in done.stderr
    assert "reflect: indirection" not in done.stderr
    assert fakes.commands() == []


def test_debians_20_10_docker_cli_without_an_engine(sandbox: Sandbox) -> None:
    """The real Debian docker.io 20.10 CLI, when this machine has it at /usr/bin/docker."""
    docker = Path("/usr/bin/docker")
    version = (
        subprocess.run([str(docker), "--version"], capture_output=True, text=True, check=False)
        if docker.exists()
        else None
    )
    if version is None or "20.10" not in version.stdout:
        pytest.skip("no docker CLI 20.10 at /usr/bin/docker")
    sandbox.add_fake("pulumi", FAKE_PULUMI)
    sandbox.link_tool("docker", str(docker))
    done = sandbox.run({"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert done.returncode == 2, output_of(done)
    assert "cannot reach a Docker engine (DOCKER_HOST=unix:///nonexistent.sock)" in done.stderr
    assert "no Docker engine answers there (the docker CLI 20.10" in done.stderr
    assert "reflect: indirection" not in done.stderr


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


# ------------------------------------------------------------------ the program's own lines


@pytest.mark.parametrize(
    ("raw", "set_keys", "key"),
    [
        ({}, ["cloudd"], "cloudd"),  # an unknown key (issue 17 item 6)
        ({"pullPrincipals": '["arn:aws:iam::210987654321:root"]'}, ["pullPrincipals"], ""),
    ],
)
def test_the_programs_remove_this_key_line_works_as_printed_in_a_new_shell(
    fakes: Sandbox, raw: dict[str, str], set_keys: list[str], key: str
) -> None:
    """Issue 17 item 3: `pulumi up` prints its warnings through ./up.sh; the command in one must
    reach this stack from a new shell, not pulumi's default backend (a Pulumi Cloud login)."""
    key = key or set_keys[0]
    up = fakes.run()
    assert up.returncode == 0, output_of(up)
    fakes.log.unlink()
    (warning,) = parse_settings(raw, stack="dev", set_keys=set_keys).warnings
    removed = run_the_last_command_in_a_new_shell(fakes, warning, "config", "rm")
    assert removed["args"] == ["config", "rm", key, "--stack", "dev"]


def run_the_last_command_in_a_new_shell(
    fakes: Sandbox, message: str, *pulumi_command: str
) -> dict[str, Any]:
    """Run the message's last `...` as printed in a new shell (none of up.sh's variables, in the
    project folder); the `pulumi <pulumi_command>` call it made must reach this stack's backend
    and passphrase. Returns that call."""
    command = message.split("`")[-2]
    environment = {k: v for k, v in fakes.environment().items() if not k.startswith("PULUMI_")}
    done = subprocess.run(
        [BASH, "-c", command],
        cwd=fakes.project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, output_of(done)
    call = fakes.pulumi_call(*pulumi_command)
    assert call["env"]["PULUMI_BACKEND_URL"] == f"file://{fakes.project}/.pulumi-state"
    assert call["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == f"{fakes.project}/.pulumi-passphrase"
    return call


@pytest.mark.parametrize(
    "raw",
    [
        {"dockerHubUser": "someone", "dockerHubToken": PLAINTEXT_SET},  # stored in plain text
        {"dockerHubUser": "someone"},  # the user without the token
    ],
)
def test_the_programs_set_the_token_line_works_as_printed_and_keeps_it_off_the_line(
    fakes: Sandbox, raw: dict[str, str]
) -> None:
    """The token goes in at pulumi's hidden prompt (`config set --secret KEY` with no value, as
    docs/mirror.md shows), never as an argument that the shell's history keeps."""
    up = fakes.run()
    assert up.returncode == 0, output_of(up)
    fakes.log.unlink()
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, stack="dev")
    assert caught.value.key == "dockerHubToken"
    set_call = run_the_last_command_in_a_new_shell(fakes, str(caught.value), "config", "set")
    assert set_call["args"] == ["config", "set", "--secret", "dockerHubToken", "--stack", "dev"]


def test_the_programs_missing_gcp_project_line_works_with_a_value_filled_in(
    fakes: Sandbox,
) -> None:
    """The fix a gcp stack prints names up.sh, which brings the stack's backend along."""
    up = fakes.run()
    assert up.returncode == 0, output_of(up)
    fakes.log.unlink()
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "gcp", "gcp:region": "europe-west4"}, stack="dev")
    message = str(caught.value).replace("<project-id>", "my-project-123")
    up_call = run_the_last_command_in_a_new_shell(fakes, message.split(" (or")[0], "up")
    assert fakes.ran(
        "config", "set", "--plaintext", "gcp:project", "my-project-123", "--stack", "dev"
    )
    assert up_call["args"][0] == "up"
