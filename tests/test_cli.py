"""The CLI behind ./up.sh (stack/cli), every flag and check, run in process with the
Pulumi and Docker boundaries faked (tests/cli_fakes.py). Ported from the bash-level tests of the
old up.sh; tests/test_up_bootstrap.py runs the real ./up.sh and the real boundaries."""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from semver import VersionInfo

from cli_fakes import (
    DOCKER_PLUGIN,
    ENV_LOGGED,
    FAKE_PASSWORD,
    IMAGE_NAME,
    RANDOM_PLUGIN,
    ROOT,
    World,
    make_project,
    run_cli,
)
from stack.cli.docker_cli import DockerCli
from stack.cli.errors import Exit
from stack.cli.main import Session, check_tools
from stack.cli.options import parser
from stack.config.errors import SettingsError
from stack.config.parse import parse_settings

BASH = shutil.which("bash") or "/bin/bash"


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_project(tmp_path / "project with space", unused_port())


TRY_RUN = re.compile(r"^  docker run -d --rm --name (\S+) -p 127\.0\.0\.1:(\d+):8080 (\S+)$", re.M)


def assert_try_lines(stdout: str, image: str, avoid: set[int] | None = None) -> int:
    """The try-the-image lines: the app runs detached on a loopback port away from `avoid`,
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


def nothing_made(world: World) -> bool:
    return (
        not (world.project / ".pulumi-state").exists()
        and not (world.project / ".pulumi-passphrase").exists()
    )


# --------------------------------------------------------------------------- missing tools


def test_missing_pulumi_cli_says_how_to_install_it(world: World) -> None:
    world.has_pulumi = False
    done = run_cli(world)
    assert done.code == 2, done.output
    assert "Pulumi CLI (pulumi) is not on PATH" in done.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in done.stderr
    assert "brew install pulumi/tap/pulumi" in done.stderr
    assert nothing_made(world)


def test_missing_docker_cli_says_how_to_get_docker(world: World) -> None:
    world.has_docker = False
    done = run_cli(world)
    assert done.code == 2, done.output
    assert "docker CLI is not on PATH" in done.stderr
    assert "https://docs.docker.com/get-docker/" in done.stderr
    assert "DOCKER_HOST" in done.stderr
    assert world.commands() == [], "nothing may run before the checks pass"


def test_unreachable_engine_names_docker_host_with_the_real_docker_cli(tmp_path: Path) -> None:
    """The real DockerCli boundary and the real docker CLI, against a socket nobody serves."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI on this machine")
    env = {"PATH": os_path(), "HOME": str(tmp_path), "DOCKER_HOST": "unix:///nonexistent.sock"}
    with pytest.raises(Exit) as stopped:
        check_tools(real_docker_session(tmp_path, env), "up")
    assert stopped.value.code == 2
    text = "\n".join(stopped.value.lines)
    assert "cannot reach a Docker engine (DOCKER_HOST=unix:///nonexistent.sock)" in text
    assert "Start Docker" in text


def real_docker_session(folder: Path, env: dict[str, str]) -> Session:
    """The real DockerCli, with a Pulumi CLI that is there (its version unread)."""
    return Session(
        project_dir=folder,
        env=env,
        which=lambda name, path: f"/fake/bin/{name}",
        pulumi_version=lambda: VersionInfo(3, 272, 0),
    )


def os_path() -> str:
    import os

    return os.environ.get("PATH", "/usr/bin:/bin")


def test_unreachable_engine_without_docker_host_says_so(world: World) -> None:
    world.engine_error = "Cannot connect to the Docker daemon. Is the docker daemon running?"
    done = run_cli(world)
    assert done.code == 2, done.output
    assert "DOCKER_HOST=<unset: the default socket, unix:///var/run/docker.sock>" in done.stderr
    assert "Is the docker daemon running?" in done.stderr
    assert world.commands() == []
    assert nothing_made(world)


# --------------------------------------------------------------------------- the happy path


def test_up_creates_the_dev_stack_in_the_project_and_never_prints_the_password(
    world: World,
) -> None:
    done = run_cli(world)
    assert done.code == 0, done.output
    state = world.project / ".pulumi-state"
    passphrase_file = world.project / ".pulumi-passphrase"
    assert state.is_dir()
    assert stat.S_IMODE(passphrase_file.stat().st_mode) == 0o600
    passphrase = passphrase_file.read_text(encoding="utf-8").strip()
    assert len(passphrase) >= 32
    assert world.commands()[0] == ("select", True), "the stack is selected (created) first"
    assert world.ran("up")
    for call in world.of("pulumi"):
        assert call.env["PULUMI_BACKEND_URL"] == f"file://{state}"
        assert call.env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(passphrase_file)
        assert call.env["PULUMI_CONFIG_PASSPHRASE"] is None
    assert passphrase not in done.output, "the passphrase was printed"
    assert FAKE_PASSWORD not in done.output, "the registry password was printed"
    assert "[secret]" in done.stdout, "the stack outputs are shown"
    assert f"docker pull {IMAGE_NAME}" in done.stdout
    assert "docker login localhost:5000 -u admin --password-stdin" in done.stdout
    assert_try_lines(done.stdout, IMAGE_NAME, {int(world.config["localPort"])})
    assert "./up.sh --stack dev --destroy" in done.stdout


def test_printed_login_line_pipes_the_password_into_docker_login(
    world: World, tmp_path: Path
) -> None:
    """The line as printed, in bash, with a `pulumi` that answers the credentials output and a
    `docker` that records what reaches its stdin."""
    done = run_cli(world)
    assert done.code == 0, done.output
    login = [line.strip() for line in done.stdout.splitlines() if "docker login" in line]
    assert len(login) == 1, done.stdout
    fakes = tmp_path / "bin"
    fakes.mkdir()
    credentials = json.dumps(world.outputs["credentials"])
    (fakes / "pulumi").write_text(f"#!{BASH}\nprintf '%s\\n' {shlex.quote(credentials)}\n")
    (fakes / "docker").write_text(
        f'#!{BASH}\nprintf \'%s\\n\' "$*" >"{tmp_path}/args"; cat >"{tmp_path}/stdin"\n'
    )
    for fake in fakes.iterdir():
        fake.chmod(0o755)
    python = Path(shutil.which("python3") or "/usr/bin/python3").parent
    subprocess.run(
        [BASH, "-euo", "pipefail", "-c", login[0]],
        env={"PATH": f"{fakes}:{python}:/usr/bin:/bin"},
        check=True,
        timeout=30,
    )
    args = (tmp_path / "args").read_text().strip()
    assert args == "login localhost:5000 -u admin --password-stdin"
    assert (tmp_path / "stdin").read_text() == FAKE_PASSWORD + "\n"


def test_running_twice_reuses_the_stack_and_the_passphrase(world: World) -> None:
    first = run_cli(world)
    assert first.code == 0, first.output
    passphrase = (world.project / ".pulumi-passphrase").read_text(encoding="utf-8")
    second = run_cli(world)
    assert second.code == 0, second.output
    assert (world.project / ".pulumi-passphrase").read_text(encoding="utf-8") == passphrase
    ups = [c for c in world.of("pulumi") if c.args == ("up",)]
    assert len(ups) == 2 and ups[0].env == ups[1].env
    assert "generated a passphrase" in first.stdout
    assert "generated a passphrase" not in second.stdout


def test_passphrase_from_the_environment_is_used_and_no_file_is_made(world: World) -> None:
    secret = "correct horse battery staple from env"
    done = run_cli(world, env={"PULUMI_CONFIG_PASSPHRASE": secret})
    assert done.code == 0, done.output
    assert not (world.project / ".pulumi-passphrase").exists()
    up = world.call("up")
    assert up.env["PULUMI_CONFIG_PASSPHRASE"] == secret
    assert up.env["PULUMI_CONFIG_PASSPHRASE_FILE"] is None
    assert secret not in done.output


def test_passphrase_file_from_the_environment_is_used(world: World, tmp_path: Path) -> None:
    own = tmp_path / "my-passphrase"
    own.write_text("my own passphrase\n", encoding="utf-8")
    done = run_cli(world, env={"PULUMI_CONFIG_PASSPHRASE_FILE": str(own)})
    assert done.code == 0, done.output
    assert not (world.project / ".pulumi-passphrase").exists()
    assert world.call("up").env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(own)


def test_a_backend_chosen_by_the_user_is_kept(world: World, tmp_path: Path) -> None:
    backend = f"file://{tmp_path}/elsewhere"
    done = run_cli(world, env={"PULUMI_BACKEND_URL": backend})
    assert done.code == 0, done.output
    assert world.call("up").env["PULUMI_BACKEND_URL"] == backend
    assert not (world.project / ".pulumi-state").exists()


def test_the_docker_context_socket_is_handed_to_the_provider(world: World) -> None:
    world.context_host = "unix:///home/me/.colima/default/docker.sock"
    done = run_cli(world)
    assert done.code == 0, done.output
    assert world.call("up").env["DOCKER_HOST"] == world.context_host
    assert f"export DOCKER_HOST={world.context_host}" in done.stdout


def test_the_default_socket_is_left_to_the_defaults(world: World) -> None:
    done = run_cli(world)
    assert done.code == 0, done.output
    assert world.call("up").env["DOCKER_HOST"] is None
    assert "DOCKER_HOST" not in done.stdout


def test_an_explicit_docker_host_wins_over_the_context(world: World) -> None:
    world.context_host = "unix:///x"
    done = run_cli(world, env={"DOCKER_HOST": "tcp://127.0.0.1:2375"})
    assert done.code == 0, done.output
    assert world.call("up").env["DOCKER_HOST"] == "tcp://127.0.0.1:2375"


def test_a_failed_update_stops_and_still_says_how_to_reach_the_stack(world: World) -> None:
    world.up_fails = "error: update failed"
    done = run_cli(world)
    assert done.code == 255, done.output
    assert "docker pull" not in done.stdout
    state = world.project / ".pulumi-state"
    assert f"export PULUMI_BACKEND_URL={shlex.quote(f'file://{state}')}" in done.stdout
    assert "export PULUMI_CONFIG_PASSPHRASE_FILE=" in done.stdout


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_usage_and_touches_nothing(world: World, flag: str) -> None:
    done = run_cli(world, "--stack", "aws", flag)
    assert done.code == 0, done.output
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
    assert done.stdout.startswith("Usage: ./up.sh")
    assert done.stderr == ""
    assert world.calls == [], "--help ran a command"
    assert nothing_made(world)


def test_every_flag_the_docs_show_is_in_the_usage() -> None:
    usage = parser().format_help()
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
        (("--outp",), "unknown argument: --outp"),  # no abbreviations: argparse would allow one
    ],
)
def test_a_wrong_argument_prints_the_usage_exits_2_and_touches_nothing(
    world: World, args: tuple[str, ...], says: str
) -> None:
    done = run_cli(world, *args)
    assert done.code == 2, done.output
    assert says in done.stderr
    assert "Usage: ./up.sh" in done.stderr
    assert done.stdout == ""
    assert world.calls == []
    assert nothing_made(world)


AWS_OUTPUTS = {
    "cloud": "aws",
    "registryServer": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "imageName": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:0123456789ab",
    "credentials": {
        "server": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "username": "AWS",
        "password": FAKE_PASSWORD,
    },
}


def test_stack_flag_selects_or_creates_that_stack(world: World) -> None:
    done = run_cli(world, "--stack=aws", "--yes", config={"cloud": "aws"}, outputs=AWS_OUTPUTS)
    assert done.code == 0, done.output
    assert "aws" in world.stacks and "dev" not in world.stacks
    assert (
        (world.project / "Pulumi.aws.yaml")
        .read_text()
        .endswith("encryptionsalt: v1:c2FsdA==:v1:fake:salt==\n")
    )
    # A cloud stack: its own SDK with venv/'s pip, then the plugins of what is installed; no
    # local port check, no plugin picked by hand.
    assert [c.args for c in world.of("pip")] == [("requirements-aws.txt",)]
    commands = world.commands()
    assert commands.index(("install", False, True)) < commands.index(("up",))
    assert not world.ran("plugin")
    assert world.call("up").env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] is None
    assert [c for c in world.docker_commands() if c[0] in ("publisher", "named")] == []
    server = AWS_OUTPUTS["registryServer"]
    assert f"docker login {server} -u AWS --password-stdin" in done.stdout
    assert_try_lines(done.stdout, AWS_OUTPUTS["imageName"])
    assert FAKE_PASSWORD not in done.output


def test_preview_shows_the_changes_and_changes_nothing(world: World) -> None:
    done = run_cli(world, "--preview")
    assert done.code == 0, done.output
    assert world.ran("preview")
    assert not world.ran("up") and not world.ran("destroy")
    assert "docker pull" not in done.stdout
    # What --help says it makes, it makes: the state folder, the passphrase and the stack.
    usage = parser().format_help()
    assert "changes no resource, but creates the\n" in usage
    assert "state folder, the passphrase and the empty stack if they do not exist yet" in usage
    assert (world.project / ".pulumi-state").is_dir()
    assert (world.project / ".pulumi-passphrase").is_file()
    assert world.commands()[0] == ("select", True)


def test_outputs_prints_the_outputs_and_commands_and_changes_nothing(world: World) -> None:
    first = run_cli(world)
    assert first.code == 0, first.output
    world.calls.clear()
    world.has_docker = False  # reading outputs needs no Docker
    done = run_cli(world, "--outputs")
    assert done.code == 0, done.output
    assert world.commands()[0] == ("select", False), "--outputs must not create a stack"
    changing = ("up", "preview", "destroy", "install", "plugin", "set_config", "remove")
    assert [a for a in world.commands() if a[0] in changing] == [], "--outputs changed something"
    assert "[secret]" in done.stdout
    assert "export PULUMI_BACKEND_URL=" in done.stdout
    assert "docker login localhost:5000 -u admin --password-stdin" in done.stdout
    assert f"docker pull {IMAGE_NAME}" in done.stdout
    assert_try_lines(done.stdout, IMAGE_NAME, {int(world.config["localPort"])})
    assert FAKE_PASSWORD not in done.output


def test_outputs_before_any_update_creates_nothing(world: World) -> None:
    done = run_cli(world, "--outputs")
    assert done.code == 2, done.output
    assert "run ./up.sh --stack dev first" in done.stderr
    assert world.commands() == []
    assert nothing_made(world)


def test_outputs_of_a_missing_or_empty_stack_say_so(world: World) -> None:
    assert run_cli(world).code == 0
    missing = run_cli(world, "--outputs", "--stack", "gcp")
    assert missing.code == 2, missing.output
    assert "there is no stack 'gcp'" in missing.stderr
    world.stacks.add("gcp")
    world.not_deployed = True
    empty = run_cli(world, "--outputs", "--stack", "gcp")
    assert empty.code == 2, empty.output
    assert "stack 'gcp' has no outputs yet: run ./up.sh --stack gcp" in empty.stderr


# --------------------------------------------------------------------------- --destroy


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


def deployed(world: World, *args: str, **run: Any) -> None:
    """An update first, as a real destroy follows one; then a fresh record of calls."""
    world.state = copy.deepcopy(LOCAL_STATE)
    done = run_cli(world, *args, **run)
    assert done.code == 0, done.output
    world.calls.clear()


def git(project: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(project), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_a_round_trip_leaves_the_machine_and_the_checkout_as_they_were(world: World) -> None:
    if shutil.which("git") is None:
        pytest.skip("no git on this machine")
    project = world.project
    shutil.rmtree(project / "venv")  # not part of the checkout (.gitignore)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")
    world.named["container-registry-dev-app"] = "0a9b8c7d6e5f"
    deployed(world)
    # What the real CLI does to a checked-in stack file when it creates the stack.
    assert "encryptionsalt:" in (project / "Pulumi.dev.yaml").read_text(encoding="utf-8")

    done = run_cli(world, "--destroy", "--yes")
    assert done.code == 0, done.output
    commands = world.commands()
    order = [("unprotect",), ("destroy",), ("remove",), ("stack_count",)]
    positions = [commands.index(command) for command in order]
    assert positions == sorted(positions), commands
    docker = world.docker_commands()
    for removal in (
        ("rm", "container-registry-dev-app"),
        ("rmi", "registry:2.8.3"),
        ("rmi", IMAGE_NAME),
        ("logout", "localhost:5000"),
    ):
        assert removal in docker, f"{removal} did not run: {docker}"
    assert nothing_made(world)
    assert "no stack is left: removed .pulumi-state/ and .pulumi-passphrase" in done.stdout
    assert git(project, "status", "--porcelain") == "", "the round trip left the checkout dirty"


def evaluate_in_a_new_shell(lines: str, cwd: Path) -> dict[str, str | None]:
    """`eval` the lines in a fresh bash with none of the CLI's variables; report the variables
    and the folder they leave."""
    script = 'eval "$LINES"; for n in ' + " ".join(ENV_LOGGED)
    script += '; do if [[ -n "${!n+x}" ]]; then printf "%s=%s\\0" "$n" "${!n}"; fi; done; '
    script += 'printf "PWD=%s\\0" "$PWD"'
    done = subprocess.run(
        [BASH, "-c", script],
        env={"PATH": "/usr/bin:/bin", "LINES": lines},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    found = dict(field.split("=", 1) for field in done.stdout.split("\0") if field)
    return {name: found.get(name) for name in (*ENV_LOGGED, "PWD")}


def test_destroy_from_a_shell_with_the_env_lines_still_cleans_up(
    world: World, tmp_path: Path
) -> None:
    deployed(world)
    lines = run_cli(world, "--env").stdout
    shell = evaluate_in_a_new_shell(lines, tmp_path)
    exported = {k: v for k, v in shell.items() if k != "PWD" and v is not None}
    done = run_cli(world, "--destroy", "--yes", env=exported)
    assert done.code == 0, done.output
    assert nothing_made(world)


def test_destroy_keeps_a_backend_and_passphrase_of_the_users_own(
    world: World, tmp_path: Path
) -> None:
    own = {"PULUMI_BACKEND_URL": f"file://{tmp_path}/elsewhere", "PULUMI_CONFIG_PASSPHRASE": "x"}
    (tmp_path / "elsewhere").mkdir()
    deployed(world, env=own)
    done = run_cli(world, "--destroy", "--yes", env=own)
    assert done.code == 0, done.output
    assert (tmp_path / "elsewhere").is_dir()
    assert not world.ran("stack_count"), "not the CLI's backend: nothing of it is removed"


def test_destroy_keeps_the_state_while_another_stack_is_in_it(world: World) -> None:
    deployed(world)
    world.stacks.add("aws")
    done = run_cli(world, "--destroy", "--yes")
    assert done.code == 0, done.output
    assert world.ran("remove")
    assert (world.project / ".pulumi-state").is_dir()
    assert (world.project / ".pulumi-passphrase").is_file()
    assert "removed .pulumi-state" not in done.stdout


def test_destroy_removes_a_stack_file_that_only_its_creation_wrote(world: World) -> None:
    done = run_cli(world, "--stack", "team")
    assert done.code == 0, done.output
    world.calls.clear()
    stack_file = world.project / "Pulumi.team.yaml"
    assert stack_file.read_text(encoding="utf-8").startswith("encryptionsalt:")
    done = run_cli(world, "--stack", "team", "--destroy", "--yes")
    assert done.code == 0, done.output
    assert not stack_file.exists()
    # A stack that never had a protected resource needs no unprotect (it fails on an empty one).
    assert not world.ran("unprotect")


@pytest.mark.parametrize(("answer", "confirmed"), [("dev\n", True), ("y\n", False), ("", False)])
def test_destroy_asks_for_the_stack_name(world: World, answer: str, confirmed: bool) -> None:
    deployed(world)
    done = run_cli(world, "--destroy", stdin=answer)
    assert "Type the stack name (dev) to destroy it" in done.stdout
    assert "with the registry and every image pushed to it" in done.stdout
    assert "registry:2.8.3" in done.stdout and "the docker login for localhost:5000" in done.stdout
    assert world.ran("destroy") is confirmed
    assert world.ran("unprotect") is confirmed
    if confirmed:
        assert done.code == 0, done.output
    else:
        assert done.code == 1, done.output
        assert "not confirmed; nothing was destroyed" in done.stderr
        assert (world.project / ".pulumi-state").is_dir()


def test_an_ecr_repository_with_images_names_the_command_that_deletes_it(world: World) -> None:
    (world.project / ".pulumi-state").mkdir()
    world.stacks.add("aws")
    world.destroy_fails = True
    done = run_cli(
        world,
        "--destroy",
        "--yes",
        "--stack",
        "aws",
        env={"PULUMI_CONFIG_PASSPHRASE": "a passphrase"},
        config={"cloud": "aws"},
    )
    assert done.code == 2, done.output
    assert (
        "./up.sh --stack aws --config forceDelete true --yes && ./up.sh --stack aws --destroy"
    ) in done.stderr
    assert not world.ran("remove"), "the stack must stay while it holds resources"


# --------------------------------------------------------------------------- a cloud update asks


def test_a_cloud_update_on_a_terminal_shows_the_preview_and_asks(world: World) -> None:
    done = run_cli(
        world,
        "--stack",
        "aws",
        stdin="yes\n",
        attended=True,
        config={"cloud": "aws"},
        outputs={"cloud": "aws"},
    )
    assert done.code == 0, done.output
    commands = world.commands()
    assert commands.index(("preview",)) < commands.index(("up",))
    assert "Do you want to perform this update?" in done.stdout


@pytest.mark.parametrize("answer", ["no\n", "\n", ""])
def test_a_cloud_update_declined_changes_nothing(world: World, answer: str) -> None:
    done = run_cli(
        world,
        "--stack",
        "aws",
        stdin=answer,
        attended=True,
        config={"cloud": "aws"},
        outputs={"cloud": "aws"},
    )
    assert done.code == 1, done.output
    assert world.ran("preview") and not world.ran("up")
    assert "not confirmed; nothing was changed" in done.stderr


@pytest.mark.parametrize(
    ("args", "config", "cloud"),
    [
        (("--stack", "aws"), {}, "aws"),  # Pulumi.aws.yaml says so
        (("--stack", "team", "--config", "cloud", "gcp"), {}, "gcp"),
        (("--stack", "team"), {"cloud": "azure"}, "azure"),  # the stack's own setting
    ],
)
def test_a_cloud_update_without_a_terminal_or_yes_stops_with_one_line(
    world: World, args: tuple[str, ...], config: dict[str, str], cloud: str
) -> None:
    done = run_cli(world, *args, config=config, outputs={"cloud": None})
    assert done.code == 2, done.output
    stack = args[1]
    assert done.stderr == (
        f"up.sh: stack '{stack}' is on {cloud}, which bills: an update shows its preview and asks "
        "first, and there is no terminal to ask on. Nothing was changed; run "
        f"./up.sh --stack {stack} --yes to update without asking "
        f"(./up.sh --stack {stack} --preview shows the changes).\n"
    )
    assert not world.ran("up") and not world.ran("install") and not world.ran("set_config")
    assert not world.of("pip")
    if not config:  # known from the stack file or --config: refused before anything is made
        assert world.commands() == []
        assert nothing_made(world)


def test_a_cloud_update_with_yes_does_not_ask(world: World) -> None:
    done = run_cli(
        world, "--stack", "gcp", "--yes", config={"cloud": "gcp"}, outputs={"cloud": "gcp"}
    )
    assert done.code == 0, done.output
    assert world.ran("up") and not world.ran("preview")


# --------------------------------------------------------------------------- --config and --env


def test_config_flags_set_the_stack_then_update_it(world: World) -> None:
    done = run_cli(
        world, "--stack", "dev", "--config", "localPort", "5006", "--config", "mirror", "true"
    )
    assert done.code == 0, done.output
    commands = world.commands()
    first = commands.index(("set_config", "localPort", "5006"))
    second = commands.index(("set_config", "mirror", "true"))
    assert commands.index(("select", True)) < first < second < commands.index(("up",))


@pytest.mark.parametrize(
    ("cloud", "context"),
    [("local", None), ("local", "unix:///home/me/.colima/default/docker.sock"), ("aws", None)],
)
def test_env_prints_exactly_what_the_update_had(
    world: World, tmp_path: Path, cloud: str, context: str | None
) -> None:
    if context:
        world.context_host = context
    stack = "dev" if cloud == "local" else cloud
    first = run_cli(
        world, "--stack", stack, "--yes", config={"cloud": cloud}, outputs={"cloud": cloud}
    )
    assert first.code == 0, first.output
    up = world.call("up")
    world.calls.clear()
    done = run_cli(world, "--stack", stack, "--env")
    assert done.code == 0, done.output
    assert all(line.startswith(("cd ", "export ")) for line in done.stdout.splitlines())
    shell = evaluate_in_a_new_shell(done.stdout, tmp_path)
    assert shell["PWD"] == str(world.project)
    for name in ENV_LOGGED:
        assert shell[name] == up.env[name], f"{name}: the update ran with another value"
    assert (shell["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true") is (cloud == "local")
    assert [a for a in world.commands() if a[0] not in ("select", "config")] == []
    # The same lines come with every update, behind the one command that prints them.
    up_sh = shlex.quote(str(world.project / "up.sh"))
    assert f'  eval "$({up_sh} --stack {stack} --env)"' in first.stdout


def test_env_before_any_update_creates_nothing(world: World) -> None:
    done = run_cli(world, "--env")
    assert done.code == 2, done.output
    assert "run ./up.sh --stack dev first" in done.stderr
    assert done.stdout == ""
    assert nothing_made(world)


# --------------------------------------------------------------------------- one stack per target


@pytest.mark.parametrize("mode", [(), ("--preview",)])
def test_a_stack_switched_to_another_target_stops_before_the_update(
    world: World, mode: tuple[str, ...]
) -> None:
    done = run_cli(
        world,
        *mode,
        "--stack",
        "dev",
        config={"cloud": "aws"},
        outputs={"cloud": "local"},
        attended=True,
    )
    assert done.code == 2, done.output
    assert "stack 'dev' was last deployed to local" in done.stderr
    assert "`cloud` setting now says aws" in done.stderr
    assert "  ./up.sh --stack dev --config cloud local" in done.stderr
    assert "./up.sh --stack aws" in done.stderr, "the checked-in Pulumi.aws.yaml stack"
    assert not world.ran("up") and not world.ran("preview") and not world.ran("install")
    # The lines to reach the stack come first all the same.
    assert "export PULUMI_BACKEND_URL=" in done.stdout


def test_the_switch_message_makes_a_stack_when_none_is_checked_in(world: World) -> None:
    (world.project / "Pulumi.azure.yaml").unlink()
    done = run_cli(
        world, "--stack", "team", attended=True, config={"cloud": "azure"}, outputs={"cloud": "aws"}
    )
    assert done.code == 2, done.output
    assert "  ./up.sh --stack azure --config cloud azure\n" in done.stderr
    back = run_cli(
        world, "--stack", "aws", "--yes", config={"cloud": "local"}, outputs={"cloud": "aws"}
    )
    assert "./up.sh --stack dev" in back.stderr, "local goes back to the dev stack"


def test_a_first_deployment_or_the_same_target_is_not_stopped(world: World) -> None:
    done = run_cli(
        world, "--stack", "gcp", "--yes", config={"cloud": "gcp"}, outputs={"cloud": None}
    )
    assert done.code == 0, done.output
    again = run_cli(world, "--stack", "gcp", "--yes", outputs={"cloud": "gcp"})
    assert again.code == 0, again.output


# --------------------------------------------------------------------------- local port check


def held_port() -> socket.socket:
    """A socket listening on a free loopback port: "another program"."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def test_a_port_held_by_another_program_names_a_fix_that_works_as_printed(world: World) -> None:
    with held_port() as holder:
        port = holder.getsockname()[1]
        done = run_cli(world, config={"localPort": str(port)})
        assert done.code == 2, done.output
        assert f"127.0.0.1:{port} (localPort) is already taken by another program" in done.stderr
        fix = [line for line in done.stderr.splitlines() if "./up.sh" in line]
        assert len(fix) == 1, done.stderr
        assert not world.ran("up") and not world.ran("plugin")
        # The line, run as printed (only its own words), moves the registry.
        words = shlex.split(fix[0].removeprefix("up.sh:"))
        assert words[:5] == ["./up.sh", "--stack", "dev", "--config", "localPort"], words
        new_port = words[5]
        world.calls.clear()
        again = run_cli(world, *words[1:])
    assert again.code == 0, again.output
    assert world.ran("set_config", "localPort", new_port)
    assert int(new_port) != port


def test_port_5000_taken_gives_the_5001_line(world: World) -> None:
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 5000))
        holder.listen()
    except OSError:
        pass  # something else holds 5000 already: the same case
    try:
        done = run_cli(world, config={"localPort": "5000"})
    finally:
        holder.close()
    assert done.code == 2, done.output
    assert "on macOS, AirPlay Receiver holds 5000" in done.stderr
    assert "  ./up.sh --stack dev --config localPort 5001" in done.stderr


def test_a_port_held_by_another_clones_container_names_it(world: World) -> None:
    """Same project, same stack name, same labels: another clone's registry is still not this
    stack's, because its container ID is not in this stack's state."""
    world.state = copy.deepcopy(LOCAL_STATE)
    with held_port() as holder:
        port = holder.getsockname()[1]
        world.publishers[port] = ("0badc0ffee00", "container-registry-dev-registry")
        done = run_cli(world, config={"localPort": str(port)})
    assert done.code == 2, done.output
    assert (
        f"127.0.0.1:{port} (localPort) is held by the container container-registry-dev-registry, "
        "which is not in stack 'dev'"
    ) in done.stderr
    assert "docker stop container-registry-dev-registry" in done.stderr
    assert "  ./up.sh --stack dev --config localPort " in done.stderr


def test_the_port_held_by_this_stacks_own_container_or_a_remote_engine_is_fine(
    world: World,
) -> None:
    world.state = copy.deepcopy(LOCAL_STATE)
    with held_port() as holder:
        port = holder.getsockname()[1]
        world.publishers[port] = (OUR_CONTAINER_ID[:12], "some-name")
        ours = run_cli(world, config={"localPort": str(port)})
        world.publishers.clear()
        remote = run_cli(world, env={"DOCKER_HOST": "ssh://me@builder"})
    assert ours.code == 0, ours.output
    assert remote.code == 0, remote.output


def test_the_mirror_port_is_checked_only_with_the_mirror(world: World) -> None:
    with held_port() as holder:
        port = str(holder.getsockname()[1])
        on = run_cli(world, config={"localMirrorPort": port, "mirror": "true"})
        off = run_cli(world, config={"localMirrorPort": port, "mirror": "false"})
    assert on.code == 2, on.output
    assert f"127.0.0.1:{port} (localMirrorPort) is already taken" in on.stderr
    assert "  ./up.sh --stack dev --config localMirrorPort " in on.stderr
    assert off.code == 0, off.output


def test_the_mirror_port_defaults_to_the_next_port(world: World) -> None:
    with held_port() as holder:
        taken = holder.getsockname()[1]
        done = run_cli(world, config={"localPort": str(taken - 1), "mirror": "true"})
    if done.code == 2 and f"127.0.0.1:{taken - 1} (localPort)" in done.stderr:
        pytest.skip(f"port {taken - 1} is in use on this machine")
    assert done.code == 2, done.output
    assert f"127.0.0.1:{taken} (localMirrorPort) is already taken" in done.stderr


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("container-registry-dev-registry", {}),
        ("container-registry-dev-registry-mirror", {"mirror": "true"}),
    ],
)
def test_a_container_name_held_by_another_container_is_named(
    world: World, name: str, config: dict[str, str]
) -> None:
    world.state = copy.deepcopy(LOCAL_STATE)
    world.named[name] = "0badc0ffee00"
    done = run_cli(world, config=config)
    assert done.code == 2, done.output
    assert f"a container named {name} exists, but it is not in stack 'dev'" in done.stderr
    assert f"docker rm -f {name}" in done.stderr
    assert "./up.sh --stack dev-2 --config cloud local" in done.stderr
    assert not world.ran("up")
    # The same name held by this stack's own container (its ID in the state) is fine.
    if "mirror" in config:
        world.state["deployment"]["resources"].append(
            {"type": "docker:index/container:Container", "id": "ab" * 32, "outputs": {"name": name}}
        )
        world.named[name] = "abababababab"
    else:
        world.named[name] = OUR_CONTAINER_ID[:12]
    again = run_cli(world)
    assert again.code == 0, again.output


# --------------------------------------------------------------------------- see the app


def test_the_app_runs_away_from_the_registry_port_and_a_taken_8080(world: World) -> None:
    remote = {"DOCKER_HOST": "ssh://me@builder"}  # no port check: localPort may be anything
    done = run_cli(world, env=remote, config={"localPort": "8080"})
    assert done.code == 0, done.output
    assert_try_lines(done.stdout, IMAGE_NAME, {8080})
    world.config["localPort"] = str(unused_port())
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8080))
        holder.listen()
    except OSError:
        pass  # something holds 8080 already: the same case
    try:
        busy = run_cli(world)
    finally:
        holder.close()
    assert busy.code == 0, busy.output
    assert_try_lines(busy.stdout, IMAGE_NAME, {8080, int(world.config["localPort"])})


# --------------------------------------------------------------------------- old engines


TEMPLATE_ERROR = (
    'template: :1:2: executing "" at <.ServerVersion>: reflect: indirection through nil pointer '
    "to embedded struct field Info"
)


def test_the_20_10_cli_template_error_says_no_engine_answers_and_where(world: World) -> None:
    world.engine_error = TEMPLATE_ERROR
    done = run_cli(world, env={"DOCKER_HOST": "unix:///run/nothing.sock"})
    assert done.code == 2, done.output
    assert "cannot reach a Docker engine (DOCKER_HOST=unix:///run/nothing.sock)" in done.stderr
    assert "no Docker engine answers there (the docker CLI 20.10" in done.stderr
    assert "reflect: indirection" not in done.stderr
    assert world.commands() == []


def test_debians_20_10_docker_cli_without_an_engine(tmp_path: Path) -> None:
    """The real Debian docker.io 20.10 CLI, when this machine has it at /usr/bin/docker, through
    the real DockerCli boundary."""
    docker = Path("/usr/bin/docker")
    version = (
        subprocess.run([str(docker), "--version"], capture_output=True, text=True, check=False)
        if docker.exists()
        else None
    )
    if version is None or "20.10" not in version.stdout:
        pytest.skip("no docker CLI 20.10 at /usr/bin/docker")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DOCKER_HOST": "unix:///nonexistent.sock",
    }
    with pytest.raises(Exit) as stopped:
        check_tools(real_docker_session(tmp_path, env), "up")
    text = "\n".join(stopped.value.lines)
    assert "cannot reach a Docker engine (DOCKER_HOST=unix:///nonexistent.sock)" in text
    assert "no Docker engine answers there (the docker CLI 20.10" in text
    assert "reflect: indirection" not in text


def test_the_docker_boundary_reads_the_engine_through_the_cli(tmp_path: Path) -> None:
    """DockerCli against a docker CLI stand-in: the calls it makes and how it reads them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        f"#!{BASH}\n"
        f'printf "%s\\n" "$*" >>"{tmp_path}/calls"\n'
        'case "$1 $2" in\n'
        '  "ps --filter") echo "0badc0ffee00 other-registry" ;;\n'
        '  "ps -aq") echo "abcdef012345" ;;\n'
        '  "context inspect") echo "unix:///run/user/1000/docker.sock" ;;\n'
        '  "image inspect") exit 1 ;;\n'
        "esac\n"
    )
    (bin_dir / "docker").chmod(0o755)
    docker = DockerCli({"PATH": str(bin_dir)})
    assert docker.available()
    assert docker.publisher(5000) == ("0badc0ffee00", "other-registry")
    assert docker.named("container-registry-dev-registry") == "abcdef012345"
    assert docker.context_host() == "unix:///run/user/1000/docker.sock"
    assert docker.remove_image("gone:1") is True  # not here: nothing to remove
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [
        "ps --filter publish=5000 --format {{.ID}} {{.Names}}",
        "ps -aq --filter name=^/container-registry-dev-registry$",
        "context inspect --format {{.Endpoints.docker.Host}}",
        "image inspect gone:1",
    ]
    assert not DockerCli({"PATH": str(tmp_path / "nothing")}).available()


# --------------------------------------------------------------------------- plugins


def test_a_local_stack_installs_exactly_the_docker_and_random_plugins(world: World) -> None:
    done = run_cli(world)
    assert done.code == 0, done.output
    commands = world.commands()
    docker = commands.index(("plugin", "docker", DOCKER_PLUGIN))
    random = commands.index(("plugin", "random", RANDOM_PLUGIN))
    assert docker < random < commands.index(("up",))
    assert len([a for a in commands if a[0] == "plugin"]) == 2, commands
    assert world.call("up").env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"


def test_a_local_update_then_runs_the_registrys_retention(world: World) -> None:
    """After the update, the stack's outputs, as plain values, go to the retention run
    (docs/supply-chain.md), and its report is shown; the password is not."""
    done = run_cli(world)
    assert done.code == 0, done.output
    (retain,) = world.of("retain")
    order = [(call.tool, call.args[:1]) for call in world.calls]
    assert order.index(("pulumi", ("up",))) < order.index(("retain", retain.args[:1]))
    assert retain.args[0]["credentials"]["password"] == FAKE_PASSWORD
    assert retain.args[0]["imageName"] == IMAGE_NAME
    assert "retention: nothing to delete (3 manifests kept)" in done.stdout
    assert FAKE_PASSWORD not in done.output


def test_a_cloud_update_runs_no_retention(world: World) -> None:
    done = run_cli(world, "--stack=aws", "--yes", config={"cloud": "aws"}, outputs=AWS_OUTPUTS)
    assert done.code == 0, done.output
    assert world.of("retain") == []


def test_a_failed_retention_is_reported_and_the_update_stands(world: World) -> None:
    world.retention_fails = True
    done = run_cli(world)
    assert done.code == 0, done.output
    assert (
        "up.sh: warning: the registry's retention failed (RuntimeError: the registry container "
        "is not running); the update stands." in done.stderr
    )


def test_automatic_acquisition_chosen_by_the_user_is_kept(world: World) -> None:
    done = run_cli(world, env={"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "false"})
    assert done.code == 0, done.output
    assert world.call("up").env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "false"


def test_without_the_sdks_plugin_files_pulumi_downloads_as_usual(world: World) -> None:
    shutil.rmtree(world.project / "venv")
    done = run_cli(world)
    assert done.code == 0, done.output
    assert "no pulumi-plugin.json of pulumi_docker/pulumi_random" in done.stderr
    assert not world.ran("plugin")
    assert world.call("up").env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] is None


# --------------------------------------------------------------------------- CLI version


@pytest.mark.parametrize("version", ["v3.118.9", "v2.25.2"])
def test_a_pulumi_cli_older_than_the_minimum_is_refused(world: World, version: str) -> None:
    world.version = version
    done = run_cli(world)
    assert done.code == 2, done.output
    assert f"the Pulumi CLI is {version}; this project needs 3.119.0 or newer" in done.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in done.stderr
    assert world.commands() == []


@pytest.mark.parametrize("version", ["v3.119.0", "v3.272.0", "v4.0.0-alpha.1"])
def test_the_minimum_pulumi_cli_and_newer_pass(world: World, version: str) -> None:
    world.version = version
    done = run_cli(world, "--preview")
    assert done.code == 0, done.output
    assert "Pulumi CLI" not in done.stderr


def test_an_unreadable_pulumi_version_only_warns(world: World) -> None:
    world.version = "a development build"
    done = run_cli(world, "--preview")
    assert done.code == 0, done.output
    assert "warning: cannot tell the Pulumi CLI version" in done.stderr


# --------------------------------------------------------------------------- the program's errors

# How the engine shows an error the stack program raised (a RunError), under Diagnostics.
PROGRAM_ERROR = """Updating (dev)
Diagnostics:
  pulumi:pulumi:Stack (container-registry-dev):
    \x1b[31merror: \x1b[0mgcp:project is not set: the Artifact Registry needs a project
"""


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("    error: gcp:project is not set: the Artifact Registry needs a project", "gcp:project"),
        ("    error: localPort: 'x' is not a whole number from 1 to 65535", "localPort"),
        ("    error: acrSku: 'Gold' is not one of Basic, Standard or Premium", "acrSku"),
    ],
)
def test_a_program_error_naming_a_key_gets_the_command_that_sets_it(
    world: World, line: str, key: str
) -> None:
    world.up_fails = f"Diagnostics:\n  pulumi:pulumi:Stack (container-registry-dev):\n{line}\n"
    done = run_cli(world)
    assert done.code == 255, done.output
    fix = [line for line in done.stderr.splitlines() if "./up.sh" in line]
    assert fix == [f"up.sh:   ./up.sh --stack dev --config {key} <value>"], done.stderr
    # As printed, with the value filled in, it sets the key and updates the same stack.
    words = shlex.split(fix[0].removeprefix("up.sh:").replace("<value>", "v1"))
    world.up_fails = None
    world.calls.clear()
    again = run_cli(world, *words[1:])
    assert again.code == 0, again.output
    assert world.ran("set_config", key, "v1") and world.ran("up")


def test_the_fix_line_comes_through_the_engines_colours_and_names_the_stack(world: World) -> None:
    world.up_fails = PROGRAM_ERROR
    done = run_cli(world, "--stack", "team")
    assert "up.sh:   ./up.sh --stack team --config gcp:project <value>" in done.stderr


@pytest.mark.parametrize(
    "output",
    [
        "    error: update failed",  # no key
        "    error: cloudd: 'aws' is not a setting",  # not a key the program reads
        "    warning: localPort has no effect",  # a warning, not an error
    ],
)
def test_an_error_naming_no_key_gets_no_command(world: World, output: str) -> None:
    world.up_fails = output
    done = run_cli(world)
    assert done.code == 255
    assert "./up.sh --stack dev --config" not in done.stderr


def test_a_program_error_that_shows_its_command_gets_no_second_one(world: World) -> None:
    """The program spells its own commands with the CLI's function (stack/config/hints.py takes
    it from stack/cli/hints.py): one line, not two."""
    world.up_fails = (
        "    error: gcp:project is not set: run `./up.sh --stack dev --config gcp:project "
        "<project-id>` (or set GOOGLE_PROJECT)"
    )
    done = run_cli(world)
    assert done.code == 255
    assert "up.sh:   ./up.sh" not in done.stderr


# What `pulumi up` shows when Azure refuses the CI identity's federated credential where
# user-assigned identities cannot hold one. ARM's answer: HTTP 405 with the message Microsoft Learn
# gives in "Important considerations and restrictions for federated identity credentials",
# "Errors" ("The request format was unexpected: Support for federated identity credentials not
# enabled."); `az identity federated-credential create` prints it as "(MethodNotAllowed) The
# request format was unexpected : Support for federated identity credentials not enabled", so
# the error code is MethodNotAllowed and the spacing before the colon varies. The error's layout
# is azcore's ResponseError.Error() (Azure/azure-sdk-for-go, sdk/azcore/internal/exported/
# response_error.go: the request line, "RESPONSE 405: 405 Method Not Allowed", "ERROR CODE: ...",
# the body indented), which pulumi-azure-native 3.x returns from a failed PUT
# (provider/pkg/azure/client_azcore.go, putOrPatch), under the engine's Diagnostics.
FEDERATION_405 = """Updating (azure)
Diagnostics:
  azure-native:managedidentity:FederatedIdentityCredential (registry-ci-github):
    \x1b[31merror: \x1b[0mPUT https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ci-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/registry-ci-identity1a2b3c4/federatedIdentityCredentials/registry-ci-github
    --------------------------------------------------------------------------------
    RESPONSE 405: 405 Method Not Allowed
    ERROR CODE: MethodNotAllowed
    --------------------------------------------------------------------------------
    {
      "error": {
        "code": "MethodNotAllowed",
        "message": "MESSAGE"
      }
    }
    --------------------------------------------------------------------------------

  pulumi:pulumi:Stack (container-registry-azure):
    error: update failed
"""
# A stack that was deployed to azure before (the CLI refuses to switch a stack's target).
AZURE_OUTPUTS = {"cloud": "azure"}
FEDERATION_405_MESSAGES = [
    # Microsoft Learn's table, verbatim.
    "The request format was unexpected: Support for federated identity credentials not enabled.",
    # As the Azure CLI shows it.
    "The request format was unexpected : Support for federated identity credentials not enabled",
]


@pytest.mark.parametrize("message", FEDERATION_405_MESSAGES)
def test_azures_405_on_the_federated_credential_gets_the_refused_regions_message(
    world: World, message: str
) -> None:
    """A location the program cannot know is refused (a region Microsoft adds to its list, or a
    resource group's) gets, from ./up.sh, the message a listed one gets from the program, and
    the command that sets another."""
    config = {"cloud": "azure", "azure-native:location": "westfuture", "ciRepository": "acme/app"}
    world.up_fails = FEDERATION_405.replace("MESSAGE", message)
    done = run_cli(world, "--stack", "azure", "--yes", config=config, outputs=AZURE_OUTPUTS)
    assert done.code == 255, done.output
    shown = [line.removeprefix("up.sh: ") for line in done.stderr.splitlines()]
    # The program's own words for New Zealand North, with the location the stack has.
    with pytest.raises(SettingsError) as refused:
        parse_settings({**config, "azure-native:location": "newzealandnorth"})
    expected = str(refused.value).replace("'newzealandnorth'", "'westfuture'")
    assert expected in shown, done.stderr
    assert "Support for federated identity credentials not enabled" in expected
    assert "ciRepository" in expected
    assert "  ./up.sh --stack azure --config azure-native:location <region>" in shown


def test_the_405_without_a_location_names_the_resource_groups(world: World) -> None:
    config = {"cloud": "azure", "azureResourceGroup": "ci-rg", "ciRepository": "acme/app"}
    world.up_fails = FEDERATION_405.replace("MESSAGE", FEDERATION_405_MESSAGES[0])
    done = run_cli(world, "--stack", "azure", "--yes", config=config, outputs=AZURE_OUTPUTS)
    assert done.code == 255, done.output
    assert (
        "up.sh: azure-native:location is not set, so the CI identity is in the resource group's "
        "location, which cannot hold the CI identity's federated credential"
    ) in done.stderr
    assert "up.sh:   ./up.sh --stack azure --config azure-native:location <region>" in done.stderr


@pytest.mark.parametrize(
    "output",
    [
        # Another 405 from the same API (Microsoft Learn's table has 400s, 404, 409 besides).
        FEDERATION_405.replace(
            "MESSAGE", "Federated identity credentials must have exactly one audience."
        ),
        "    error: update failed",
    ],
)
def test_other_failures_get_no_region_message(world: World, output: str) -> None:
    world.up_fails = output
    done = run_cli(
        world, "--stack", "azure", "--yes", config={"cloud": "azure"}, outputs=AZURE_OUTPUTS
    )
    assert done.code == 255
    assert "federated credential" not in done.stderr
    assert "--config azure-native:location" not in done.stderr


def test_a_failed_sdk_install_stops_with_pips_status(world: World) -> None:
    def failing(requirements: Path) -> None:
        raise subprocess.CalledProcessError(3, ["venv/bin/python", "-m", "pip", "install"])

    done = run_cli(
        world,
        "--stack",
        "aws",
        "--yes",
        config={"cloud": "aws"},
        outputs={"cloud": "aws"},
        pip_install=failing,
    )
    assert done.code == 3, done.output
    assert "up.sh: venv/bin/python -m pip install failed" in done.stderr
    assert not world.ran("up")


@pytest.mark.parametrize("value", ["true", "True"])
def test_a_failed_destroy_with_force_delete_on_names_no_force_delete_fix(
    world: World, value: str
) -> None:
    (world.project / ".pulumi-state").mkdir()
    world.stacks.add("aws")
    world.destroy_fails = True
    done = run_cli(
        world,
        "--destroy",
        "--yes",
        "--stack",
        "aws",
        env={"PULUMI_CONFIG_PASSPHRASE": "a passphrase"},
        config={"cloud": "aws", "forceDelete": value},
    )
    assert done.code == 2, done.output
    assert "forceDelete" not in done.stderr
    assert "the destroy failed (above); the stack is kept" in done.stderr
    assert "./up.sh --stack aws --destroy again" in done.stderr


def test_outside_the_project_it_says_where_to_run_it(world: World) -> None:
    (world.project / "Pulumi.yaml").unlink()
    done = run_cli(world)
    assert done.code == 2
    assert "no Pulumi.yaml in" in done.stderr and "run ./up.sh" in done.stderr
    assert world.calls == [] and nothing_made(world)
