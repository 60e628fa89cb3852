"""./up.sh itself: the bootstrap (find Python 3.10+, make venv/, install requirements.lock, hand
over to `python -m stack.cli`), and a few whole runs through it with fake `pulumi`
and `docker` binaries, so the real boundaries (the Automation API's commands, the docker CLI,
a real terminal) are exercised too. Every flag's behaviour is tested in process in
tests/test_cli.py.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli_fakes import DEFAULT_OUTPUTS, DOCKER_PLUGIN, FAKE_PASSWORD, PROJECT_FILES, RANDOM_PLUGIN
from conftest import ROOT
from stack.config.errors import SettingsError
from stack.config.keys import PLAINTEXT_SET
from stack.config.parse import parse_settings

SCRIPT = ROOT / "up.sh"
BASH = shutil.which("bash") or "/bin/bash"
# The tools ./up.sh and the fakes use; the rest of PATH is the fakes.
TOOLS = ("bash", "cat", "chmod", "dirname", "mkdir", "rm", "cp")
TIMEOUT_S = 120
ENV_LOGGED = (
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "DOCKER_HOST",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
)

# pulumi, as the Automation API calls it (`--non-interactive` first; pulumi/automation/_cmd.py).
# Each call appends a JSON line to FAKE_LOG: argv, cwd and the logged environment.
FAKE_PULUMI = r"""
log() {
    local env="" name
    for name in __ENV__; do
        if [[ -n "${!name+x}" ]]; then env+="\"$name\": \"${!name}\", "; fi
    done
    local args="" arg
    for arg in "$@"; do args+="\"${arg//\"/\\\"}\", "; done
    printf '{"cwd": "%s", "env": {%s"_": 0}, "args": [%s"."]}\n' "$PWD" "$env" "$args" >>"$FAKE_LOG"
}
log "$@"
prev=""
[[ "${1-}" == --non-interactive ]] && shift
stack="${*: -1}"
case "$1 ${2-}" in
"version ")
    printf '%s\n' "${FAKE_VERSION:-v3.272.0}" ;;
"stack select")
    [[ -e "$FAKE_STACKS/$stack" ]] && exit 0
    echo "error: no stack named '$stack' found" >&2
    exit 255 ;;
"stack init")
    : >"$FAKE_STACKS/$3"
    printf 'encryptionsalt: v1:c2FsdA==:v1:fake:salt==\n' >>"$PWD/Pulumi.$3.yaml" ;;
"config --json")
    printf '%s\n' "${FAKE_CONFIG_JSON:-{\}}" ;;
"stack output")
    if [[ " $* " == *" --show-secrets "* ]]; then printf '%s\n' "$FAKE_OUTPUTS_SECRET_JSON"
    else printf '%s\n' "$FAKE_OUTPUTS_JSON"; fi ;;
"stack export")
    printf '{"version": 3, "deployment": {"resources": []}}\n' ;;
"stack history")
    printf '[{"kind": "update", "startTime": "2026-01-01T00:00:00.000Z", "message": "",'
    printf ' "environment": {}, "config": {}, "result": "succeeded"}]\n' ;;
"up --yes")
    echo "Updating ($stack)"
    if [[ -n "${FAKE_UP_ERROR:-}" ]]; then printf '%s\n' "$FAKE_UP_ERROR"; exit 255; fi ;;
"preview "*)
    echo "Previewing update ($stack)"
    # The summary the Automation API waits for, in its file event log (CLIs before 3.206),
    # then the event that ends the log (_watch_logs in pulumi/automation/_stack.py).
    events=""
    for arg in "$@"; do [[ "$prev" == --event-log ]] && events="$arg"; prev="$arg"; done
    printf '%s\n' '{"sequence": 1, "timestamp": 0, "summaryEvent": {"durationSeconds": 0}}' \
        '{"sequence": 2, "timestamp": 0, "cancelEvent": {}}' >>"$events" ;;
esac
exit 0
""".replace("__ENV__", " ".join(ENV_LOGGED))

FAKE_DOCKER = r"""
printf '%s\n' "$*" >>"$FAKE_DOCKER_LOG"
[[ "$1 ${2-}" == "context inspect" ]] && echo unix:///var/run/docker.sock
exit 0
"""

# venv/bin/python: pip is recorded, not run; everything else is the interpreter of this test run
# (which has the project's requirements).
FAKE_VENV_PYTHON = f"""
if [[ "${{1-}} ${{2-}}" == "-m pip" ]]; then printf '%s\\n' "$*" >>"$FAKE_PIP_LOG"; exit 0; fi
exec {sys.executable} "$@"
"""

# python3 on PATH: new enough unless FAKE_OLD_PYTHON; `-m venv venv` makes the venv above.
FAKE_PYTHON3 = f"""
if [[ "${{1-}}" == -c ]]; then [[ -z "${{FAKE_OLD_PYTHON:-}}" ]]; exit; fi
if [[ "${{1-}} ${{2-}}" == "-m venv" ]]; then
    mkdir -p "$3/bin"
    cat >"$3/bin/python" <<'PY'
#!{BASH}
{FAKE_VENV_PYTHON}
PY
    chmod +x "$3/bin/python"
    exit 0
fi
exit 3
"""


@dataclass
class Box:
    project: Path
    bin: Path
    log: Path
    stacks: Path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        outputs = DEFAULT_OUTPUTS
        shown = {**outputs, "credentials": "[secret]"}
        return {
            "PATH": str(self.bin),
            "HOME": str(self.project.parent),
            "LANG": "C.UTF-8",
            "FAKE_LOG": str(self.log),
            "FAKE_DOCKER_LOG": str(self.log.with_suffix(".docker")),
            "FAKE_PIP_LOG": str(self.log.with_suffix(".pip")),
            "FAKE_STACKS": str(self.stacks),
            "FAKE_OUTPUTS_JSON": json.dumps(shown),
            "FAKE_OUTPUTS_SECRET_JSON": json.dumps(outputs),
            **(extra or {}),
        }

    def run(self, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None):
        return subprocess.run(
            [str(self.project / "up.sh"), *args],
            cwd=cwd or self.project.parent,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        found = [json.loads(line) for line in self.log.read_text().splitlines()]
        for call in found:
            call["args"] = call["args"][:-1]
            call["env"].pop("_")
        return found

    def pip(self) -> list[str]:
        pip_log = self.log.with_suffix(".pip")
        return pip_log.read_text().splitlines() if pip_log.exists() else []


def _script(path: Path, body: str) -> None:
    path.write_text(f"#!{BASH}\n{body}", encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def box(tmp_path: Path) -> Box:
    project = tmp_path / "project with space"
    project.mkdir()
    shutil.copy2(SCRIPT, project / "up.sh")
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, project / name)
    for package in ("container_registry", "stack"):
        if (ROOT / package).is_dir():
            (project / package).symlink_to(ROOT / package)
    made = Box(
        project=project.resolve(),
        bin=tmp_path / "bin",
        log=tmp_path / "calls.log",
        stacks=tmp_path / "stacks",
    )
    made.bin.mkdir()
    made.stacks.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed"
        (made.bin / tool).symlink_to(found)
    _script(made.bin / "python3", FAKE_PYTHON3)
    _script(made.bin / "pulumi", FAKE_PULUMI)
    _script(made.bin / "docker", FAKE_DOCKER)
    return made


def with_venv(box: Box) -> Box:
    """venv/ as a first run leaves it: the SDKs' plugin files, requirements.lock installed."""
    venv = box.project / "venv"
    (venv / "bin").mkdir(parents=True)
    _script(venv / "bin" / "python", FAKE_VENV_PYTHON)
    shutil.copy2(box.project / "requirements.lock", venv / ".up-requirements.lock")
    site = venv / "lib" / "python3.11" / "site-packages"
    for package, version in (("docker", DOCKER_PLUGIN), ("random", RANDOM_PLUGIN)):
        (site / f"pulumi_{package}").mkdir(parents=True)
        (site / f"pulumi_{package}" / "pulumi-plugin.json").write_text(
            json.dumps({"resource": True, "name": package, "version": version})
        )
    return box


# --------------------------------------------------------------------------- the script


def test_up_sh_is_a_short_strict_bootstrap() -> None:
    assert SCRIPT.stat().st_mode & stat.S_IXUSR, "up.sh must be executable"
    text = SCRIPT.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert len(text.splitlines()) <= 80, "issue 22: at most 80 lines of shell"
    assert text.rstrip().endswith('exec venv/bin/python -m stack.cli "$@"')


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed (Debian/Ubuntu: apt-get install -y shellcheck)")
    done = subprocess.run(
        [shellcheck, "--shell=bash", str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_without_python_3_10_it_says_so_and_makes_nothing(box: Box) -> None:
    done = box.run(env={"FAKE_OLD_PYTHON": "1"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no Python 3.10 or newer on PATH" in done.stderr
    assert not (box.project / "venv").exists()
    assert box.calls() == []


def test_the_first_run_makes_venv_installs_once_then_hands_over(box: Box) -> None:
    first = box.run("--help")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("Usage: ./up.sh")
    assert (box.project / "venv" / "bin" / "python").is_file()
    pip = [
        "-m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock"
    ]
    assert box.pip() == pip
    again = box.run("--frobnicate")
    assert again.returncode == 2
    assert "up.sh: unknown argument: --frobnicate" in again.stderr
    assert box.pip() == pip, "an unchanged requirements.lock is not installed again"
    assert box.calls() == [] and not (box.project / ".pulumi-state").exists()


FAKE_GO = r"""
case "$1 ${2-}" in
"env GOVERSION") echo go1.26.8 ;;
"mod download")
    printf '{"Path": "%s", "Error": "403 Forbidden: %s"}\n' "${@: -1}" \
        "This module version is not available." ;;
*) exit 1 ;;
esac
"""


def test_without_pulumi_but_with_go_it_builds_the_toolchain_or_says_how_to_install(
    box: Box,
) -> None:
    """No pulumi on PATH, Go there: up.sh runs scripts/pulumi_toolchain.py and says so; when a
    module it needs is refused (as the proxy here refuses pulumi-language-python), it names the
    module, points at Pulumi's installer, and starts nothing."""
    (box.bin / "pulumi").unlink()
    _script(box.bin / "go", FAKE_GO)
    (box.project / "scripts").symlink_to(ROOT / "scripts")
    done = box.run("--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no pulumi on PATH: building the pinned Pulumi toolchain from Go modules" in done.stderr
    assert "pulumi-language-python cannot be built" in done.stderr
    assert "403 Forbidden" in done.stderr
    assert "Install Pulumi instead" in done.stderr
    assert "https://www.pulumi.com/docs/install/" in done.stderr
    assert box.calls() == [] and not (box.project / ".pulumi-state").exists()


# --------------------------------------------------------------------------- whole runs


def test_a_local_update_drives_pulumi_through_the_automation_api(box: Box) -> None:
    with_venv(box)
    done = box.run()
    assert done.returncode == 0, done.stdout + done.stderr
    calls = box.calls()
    commands = [call["args"] for call in calls if call["args"] != ["version"]]
    assert all(args[0] == "--non-interactive" for args in commands), commands
    commands = [args[1:] for args in commands]
    assert commands[:2] == [
        ["stack", "select", "--stack", "dev"],
        ["stack", "init", "dev", "--secrets-provider", "passphrase"],
    ]
    for expected in (
        ["plugin", "install", "resource", "docker", DOCKER_PLUGIN],
        ["plugin", "install", "resource", "random", RANDOM_PLUGIN],
        ["stack", "export", "--stack", "dev"],
    ):
        assert expected in commands, commands
    up = [args for args in commands if args[0] == "up"]
    assert len(up) == 1 and {"--yes", "--skip-preview", "--refresh"} <= set(up[0]), up
    # Secrets are decrypted only where the outputs are read into the process.
    decrypting = [args for args in commands if "--show-secrets" in args]
    assert all(args[:2] == ["stack", "output"] for args in decrypting), decrypting
    state = box.project / ".pulumi-state"
    for call in calls:
        assert call["cwd"] == str(box.project)
    for call in calls[1:]:
        if call["args"] == ["version"]:
            continue
        assert call["env"]["PULUMI_BACKEND_URL"] == f"file://{state}"
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(
            box.project / ".pulumi-passphrase"
        )
        if call["args"][1] in ("plugin", "up"):
            assert call["env"]["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert FAKE_PASSWORD not in done.stdout + done.stderr
    assert "docker login localhost:5000 -u admin --password-stdin" in done.stdout


def test_a_cloud_update_on_a_real_terminal_previews_asks_then_updates(box: Box) -> None:
    with_venv(box)
    controller, terminal = pty.openpty()
    outputs = {**DEFAULT_OUTPUTS, "cloud": "aws"}
    env = box.env(
        {
            # A version the SDK cannot read: the CLI warns, and the Automation API gets the
            # oldest supported one, so an event log in a file (Stack._setup_event_log: gRPC
            # from 3.206 on).
            "FAKE_VERSION": "a development build",
            "FAKE_CONFIG_JSON": json.dumps(
                {"container-registry:cloud": {"value": "aws", "secret": False}}
            ),
            "FAKE_OUTPUTS_JSON": json.dumps({**outputs, "credentials": "[secret]"}),
            "FAKE_OUTPUTS_SECRET_JSON": json.dumps(outputs),
        }
    )
    process = subprocess.Popen(
        [str(box.project / "up.sh"), "--stack", "aws"],
        cwd=box.project.parent,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    shown = b""
    answered = False
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the script and its children closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        if not answered and b"Do you want to perform this update?" in shown:
            os.write(controller, b"yes\n")
            answered = True
    os.close(controller)
    text = shown.decode(errors="replace")
    assert process.wait(timeout=TIMEOUT_S) == 0, text
    assert "warning: cannot tell the Pulumi CLI version" in text
    commands = [call["args"][1:] for call in box.calls() if call["args"] != ["version"]]
    kinds = [args[0] for args in commands if args[0] in ("preview", "up")]
    assert kinds == ["preview", "up"], commands
    assert box.pip() == [
        "-m pip install --quiet --disable-pip-version-check -r requirements-aws.txt"
    ]


# ------------------------------------------------------------------ the program's own lines


def deployed_box(box: Box) -> Box:
    """A box as a first local update leaves it (test_a_local_update_... runs one): venv/, the
    state folder, the passphrase and the dev stack."""
    with_venv(box)
    (box.project / ".pulumi-state").mkdir()
    (box.project / ".pulumi-passphrase").write_text("a passphrase\n", encoding="utf-8")
    (box.project / ".pulumi-passphrase").chmod(0o600)
    (box.stacks / "dev").touch()
    return box


def run_the_last_command_in_a_new_shell(box: Box, message: str) -> list[dict[str, Any]]:
    """Run the message's last `...` as printed, in a new shell (none of the CLI's variables, in
    the project folder); every pulumi call it made must reach this stack's backend and
    passphrase. Returns those calls."""
    command = message.split("`")[-2]
    environment = {k: v for k, v in box.env().items() if not k.startswith("PULUMI_")}
    done = subprocess.run(
        [BASH, "-c", command],
        cwd=box.project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    calls = [call for call in box.calls() if call["args"] != ["version"]]
    assert calls, "the command ran no pulumi"
    for call in calls:
        assert call["env"].get("PULUMI_BACKEND_URL") == f"file://{box.project}/.pulumi-state", call
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == f"{box.project}/.pulumi-passphrase"
    return calls


@pytest.mark.parametrize(
    ("raw", "set_keys", "key"),
    [
        ({}, ["cloudd"], "cloudd"),  # an unknown key (issue 17 item 6)
        ({"pullPrincipals": '["arn:aws:iam::210987654321:root"]'}, ["pullPrincipals"], ""),
    ],
)
def test_the_programs_remove_this_key_line_works_as_printed_in_a_new_shell(
    box: Box, raw: dict[str, str], set_keys: list[str], key: str
) -> None:
    """Issue 17 item 3: `pulumi up` prints the program's warnings through ./up.sh; the command
    in one must reach this stack from a new shell, not pulumi's default backend."""
    key = key or set_keys[0]
    deployed_box(box)
    (warning,) = parse_settings(raw, stack="dev", set_keys=set_keys).warnings
    calls = run_the_last_command_in_a_new_shell(box, warning)
    assert calls[-1]["args"] == ["config", "rm", key, "--stack", "dev"]


@pytest.mark.parametrize(
    "raw",
    [
        {"dockerHubUser": "someone", "dockerHubToken": PLAINTEXT_SET},  # stored in plain text
        {"dockerHubUser": "someone"},  # the user without the token
    ],
)
def test_the_programs_set_the_token_line_works_as_printed_and_keeps_it_off_the_line(
    box: Box, raw: dict[str, str]
) -> None:
    """The token goes in at pulumi's hidden prompt (`config set --secret KEY` with no value, as
    docs/mirror.md shows), never as an argument that the shell's history keeps."""
    deployed_box(box)
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, stack="dev")
    assert caught.value.key == "dockerHubToken"
    calls = run_the_last_command_in_a_new_shell(box, str(caught.value))
    assert calls[-1]["args"] == ["config", "set", "--secret", "dockerHubToken", "--stack", "dev"]


def test_the_programs_missing_gcp_project_line_works_with_a_value_filled_in(box: Box) -> None:
    """The fix a gcp stack prints names ./up.sh, which brings the stack's backend along."""
    deployed_box(box)
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "gcp", "gcp:region": "europe-west4"}, stack="dev")
    message = str(caught.value).replace("<project-id>", "my-project-123")
    calls = run_the_last_command_in_a_new_shell(box, message.split(" (or")[0])
    commands = [call["args"][1:] for call in calls]
    assert [
        "config",
        "set",
        "gcp:project",
        "--plaintext",
        "--stack",
        "dev",
        "--non-interactive",
        "--",
        "my-project-123",
    ] in [call["args"] for call in calls]
    assert any(args[0] == "up" for args in commands)
