"""The flow of ./up.sh: check the tools, reach the stack, then update, preview, show, print the
environment of, or destroy it. The Pulumi and Docker boundaries come in through `Session`, so the
tests run all of it in process with fakes."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from semver import VersionInfo

from stack.cli import options as cli_options
from stack.cli import project as proj
from stack.cli.backend import PASSPHRASE_FILE, Backend, NoStackHere
from stack.cli.destroy import destroy
from stack.cli.docker_cli import DEFAULT_SOCKET, DockerCli
from stack.cli.engine_errors import federation_refused_lines
from stack.cli.errors import Exit
from stack.cli.hints import config_command, fix_lines
from stack.cli.local import StackState, local_engine, plugin_versions, preflight
from stack.cli.pulumi_stack import MIN_VERSION, PulumiFailed, PulumiStack, cli_version
from stack.cli.usage import output_value, print_usage_of_stack

# The plugins a local stack runs with (local.plugin_versions says why only these).
LOCAL_PLUGINS = (("docker", "pulumi_docker"), ("random", "pulumi_random"))


class StackLike(Protocol):
    """What the flow needs of a stack (PulumiStack; a fake in the tests)."""

    def select(self, *, create: bool) -> bool: ...
    def config(self) -> dict[str, str | None]: ...
    def set_config(self, key: str, value: str) -> None: ...
    def outputs(self) -> Mapping[str, Any]: ...
    def state(self) -> dict[str, Any]: ...
    def install(self, *, no_plugins: bool = False, no_dependencies: bool = False) -> None: ...
    def install_plugin(self, name: str, version: str) -> None: ...
    def preview(self) -> None: ...
    def up(self) -> None: ...
    def destroy(self) -> None: ...
    def unprotect_all(self) -> None: ...
    def remove(self) -> None: ...
    def stack_count(self) -> int | None: ...


class DockerLike(Protocol):
    def available(self) -> bool: ...
    def context_host(self) -> str: ...
    def info_error(self) -> str | None: ...
    def client_version(self) -> str: ...
    def publisher(self, port: int) -> tuple[str, str] | None: ...
    def named(self, name: str) -> str: ...
    def remove_container(self, name: str) -> None: ...
    def remove_image(self, image: str) -> bool: ...
    def logout(self, server: str) -> None: ...


def _retain(outputs: Mapping[str, Any]) -> str:
    """The local registry's retention with the stack's outputs (stack/retention.py);
    its report line. Imported here: only a local update needs it."""
    from stack.retention import run

    return run(outputs)


def _pip_install(requirements: Path) -> None:
    """venv/'s own pip, where the stack program runs: a cloud stack adds its SDK (pip never
    removes it again)."""
    python = requirements.parent / "venv" / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            requirements.name,
        ],
        cwd=requirements.parent,
        check=True,
    )


@dataclass
class Session:
    """Everything ./up.sh reaches outside itself."""

    project_dir: Path
    # os.environ itself in a real run: what is set here, every pulumi and docker command gets.
    env: MutableMapping[str, str] = field(default_factory=lambda: os.environ)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    attended: Callable[[], bool] = lambda: sys.stdin.isatty() and sys.stdout.isatty()
    which: Callable[[str, str | None], str | None] = lambda name, path: shutil.which(
        name, path=path
    )
    pulumi_version: Callable[[], VersionInfo | None] = cli_version
    pulumi: Callable[[Path, str, MutableMapping[str, str]], StackLike] = PulumiStack
    docker: Callable[[Mapping[str, str]], DockerLike] = DockerCli
    pip_install: Callable[[Path], None] = _pip_install
    # The local registry's retention, given the stack's outputs (plain values): its report.
    retain: Callable[[Mapping[str, Any]], str] = _retain

    def say(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)


def main(argv: list[str] | None = None, session: Session | None = None) -> int:
    """./up.sh: the exit status (0, 1 for a declined question, 2 for a refusal, else Pulumi's)."""
    session = session or Session(Path.cwd())
    args = sys.argv[1:] if argv is None else argv
    try:
        return _run(args, session)
    except cli_options.UsageError as wrong:
        print(f"up.sh: {wrong}\n", file=session.stderr)
        print(cli_options.parser().format_usage().rstrip(), file=session.stderr)
        return 2
    except Exit as stop:
        for line in stop.lines:
            print(f"up.sh: {line}", file=session.stderr)
        return stop.code
    except PulumiFailed as failed:
        return failed.code
    except subprocess.CalledProcessError as failed:  # pip, installing a cloud's SDK (above it)
        print(f"up.sh: {shlex.join(map(str, failed.cmd))} failed", file=session.stderr)
        return failed.returncode
    except KeyboardInterrupt:
        return 130


def _run(argv: list[str], session: Session) -> int:
    # Nothing runs before the arguments are known to be right.
    chosen = cli_options.parse(argv, proj.SECRET_KEYS)
    if chosen is None:
        session.say(cli_options.parser().format_help().rstrip())
        return 0
    if not (session.project_dir / "Pulumi.yaml").is_file():
        raise Exit(2, f"no Pulumi.yaml in {session.project_dir}: run ./up.sh from its checkout.")
    project = proj.project_name(session.project_dir)
    stack = chosen.stack
    declared = chosen.given("cloud", project) or proj.declared_cloud(
        session.project_dir, project, stack
    )
    if chosen.mode == "up" and not chosen.yes and declared.lower() != "local":
        _refuse_unattended(session, stack, declared)

    check_tools(session, chosen.mode)
    env = session.env
    creates = chosen.mode in ("up", "preview")
    try:
        backend = Backend.prepare(session.project_dir, env, stack, creates)
    except NoStackHere as missing:
        raise Exit(2, str(missing)) from missing
    if backend.generated_passphrase:
        session.say(
            "up.sh: generated a passphrase for the stack secrets in "
            f"{session.project_dir / PASSPHRASE_FILE} (keep it: it unlocks them)"
        )
    pulumi = session.pulumi(session.project_dir, stack, env)
    if not pulumi.select(create=creates):
        raise Exit(
            2,
            f"there is no stack '{stack}' in {env['PULUMI_BACKEND_URL']} "
            "(`pulumi stack ls` lists them).",
        )
    config = pulumi.config()
    cloud = (chosen.given("cloud", project) or config.get(f"{project}:cloud") or "local").lower()
    # A local update runs with only the docker and random plugins; the same setting belongs in
    # the shell that reaches the stack, or a plain `pulumi up` there downloads every plugin.
    if cloud == "local" and "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION" not in env:
        env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"

    if chosen.mode == "env":
        for line in backend.environment_lines():
            session.say(line)
        return 0
    docker = session.docker(env)
    if chosen.mode == "outputs":
        outputs = pulumi.outputs()
        if "imageName" not in outputs:
            raise Exit(
                2, f"stack '{stack}' has no outputs yet: run ./up.sh --stack {stack} to deploy it."
            )
        print_usage_of_stack(session, backend, project, stack, outputs, config)
        return 0

    session.stdout.write(backend.environment_block(stack))
    if chosen.mode == "destroy":
        return destroy(session, backend, pulumi, docker, project, stack, cloud, chosen.yes, config)

    _stop_on_a_switched_target(session, pulumi, stack, cloud)
    # The stack's own setting may name a cloud that its file does not.
    if chosen.mode == "up" and not chosen.yes and cloud != "local":
        _refuse_unattended(session, stack, cloud)
    for key, value in chosen.config:
        pulumi.set_config(key, value)
    if chosen.config:
        config = pulumi.config()
    if cloud == "local":
        _before_a_local_update(session, pulumi, docker, project, stack, config)
    else:
        requirements = session.project_dir / f"requirements-{cloud}.txt"
        if requirements.is_file():
            session.say(f"up.sh: installing the {cloud} SDK ({requirements.name}) into venv/")
            session.pip_install(requirements)
        pulumi.install(no_dependencies=True)
    try:
        # --refresh: a registry container that was stopped or removed is started or created
        # again (resourceDockerContainerRead in terraform-provider-docker,
        # internal/provider/resource_docker_container_funcs.go).
        if chosen.mode == "preview":
            pulumi.preview()
            return 0
        if cloud != "local" and not chosen.yes:
            # A cloud bills: the preview first, then the question (a terminal is attached).
            pulumi.preview()
            answer = _ask(session, "Do you want to perform this update? (yes/no) ")
            if answer not in ("yes", "y"):
                raise Exit(1, "not confirmed; nothing was changed.")
        pulumi.up()
    except PulumiFailed as failed:
        lines = fix_lines(failed.output, stack, proj.config_keys(session.project_dir))
        for line in lines or federation_refused_lines(failed.output, stack, config):
            print(f"up.sh: {line}", file=session.stderr)
        raise
    outputs = pulumi.outputs()
    if cloud == "local":
        _run_retention(session, outputs)
    print_usage_of_stack(session, backend, project, stack, outputs, config)
    return 0


def _run_retention(session: Session, outputs: Mapping[str, Any]) -> None:
    """keepTaggedImages and untaggedExpiryDays on the local registry (docs/supply-chain.md): the
    clouds clean up by themselves, Distribution does not. A failure is reported; the update
    stands. The outputs (the password among them) go to the retention run alone."""
    plain = {name: output_value(value) for name, value in outputs.items()}
    try:
        session.say(session.retain(plain))
    except Exception as err:  # noqa: BLE001 (any failure: report it, keep the update)
        print(
            f"up.sh: warning: the registry's retention failed ({type(err).__name__}: {err}); "
            "the update stands.",
            file=session.stderr,
        )


def _ask(session: Session, question: str) -> str:
    session.stdout.write(question)
    session.stdout.flush()
    return session.stdin.readline().strip().lower()


def _refuse_unattended(session: Session, stack: str, cloud: str) -> None:
    """`pulumi up` without --yes shows the preview and asks, on a terminal only."""
    if session.attended():
        return
    raise Exit(
        2,
        f"stack '{stack}' is on {cloud}, which bills: an update shows its preview and asks first, "
        "and there is no terminal to ask on. Nothing was changed; run "
        f"./up.sh --stack {stack} --yes to update without asking "
        f"(./up.sh --stack {stack} --preview shows the changes).",
    )


def check_tools(session: Session, mode: str) -> None:
    """The Pulumi CLI (new enough) and, unless only outputs are read, docker and its engine."""
    env = session.env
    if session.which("pulumi", env.get("PATH")) is None:
        raise Exit(
            2,
            "the Pulumi CLI (pulumi) is not on PATH.",
            "Install it with:  curl -fsSL https://get.pulumi.com | sh",
            "or on macOS:      brew install pulumi/tap/pulumi",
            "then open a new shell (or add ~/.pulumi/bin to PATH) and run ./up.sh again.",
        )
    version = session.pulumi_version()
    if version is None:
        print(
            "up.sh: warning: cannot tell the Pulumi CLI version (`pulumi version` said something "
            f"else than a version); it must be {MIN_VERSION} or newer.",
            file=session.stderr,
        )
    elif version < MIN_VERSION:
        raise Exit(
            2,
            f"the Pulumi CLI is v{version}; this project needs {MIN_VERSION} or newer",
            "(the first whose Python host reads `toolchain: pip` in Pulumi.yaml).",
            "Update it with:  curl -fsSL https://get.pulumi.com | sh   "
            "(macOS: brew upgrade pulumi)",
        )
    needs_docker = mode not in ("outputs", "env")
    docker = session.docker(env)
    have_docker = docker.available()
    if not have_docker and needs_docker:
        raise Exit(
            2,
            "the docker CLI is not on PATH.",
            "Install Docker (https://docs.docker.com/get-docker/), start it, and run ./up.sh "
            "again.",
            "A remote engine works too: set DOCKER_HOST (e.g. ssh://user@host) before running.",
        )
    # Docker Desktop, colima and rootless Docker listen on a socket of their current docker
    # context; the docker CLI finds it, the Pulumi provider reads DOCKER_HOST: hand it the same.
    context_host = ""
    if have_docker and not env.get("DOCKER_HOST"):
        context_host = docker.context_host()
        if context_host.startswith("unix://") and context_host != DEFAULT_SOCKET:
            env["DOCKER_HOST"] = context_host
    if not needs_docker:
        return
    error = docker.info_error()
    if error is None:
        return
    if env.get("DOCKER_HOST"):
        place = f"DOCKER_HOST={env['DOCKER_HOST']}"
    elif context_host in ("", DEFAULT_SOCKET):
        place = f"DOCKER_HOST=<unset: the default socket, {DEFAULT_SOCKET}>"
    else:
        place = f"DOCKER_HOST=<unset: the docker context's {context_host}>"
    # The docker CLI 20.10 (Debian's docker.io, for one) says only this when no engine answers:
    # its `docker info` leaves the server part nil and the template fails on it.
    if "<.ServerVersion>" in error and "nil pointer" in error:
        error = (
            "no Docker engine answers there (the docker CLI "
            f"{docker.client_version()} printed only a template error)"
        )
    raise Exit(
        2,
        f"cannot reach a Docker engine ({place}).",
        f"docker info said: {error}",
        "Start Docker Desktop (or: sudo systemctl start docker), or point DOCKER_HOST at a "
        "running engine.",
    )


def _stop_on_a_switched_target(session: Session, pulumi: StackLike, stack: str, cloud: str) -> None:
    """One stack per target: switching a stack's `cloud` in place would delete the registry it
    holds (Pulumi refuses where that registry is protected)."""
    found = pulumi.outputs().get("cloud")
    deployed = getattr(found, "value", None)
    if not deployed or deployed == cloud:
        return
    other = "dev" if cloud == "local" else cloud
    if other == stack:
        other = f"{stack}-{cloud}"
    if (session.project_dir / f"Pulumi.{other}.yaml").is_file():
        make_other = f"./up.sh --stack {other}"
    else:
        make_other = config_command(other, "cloud", cloud)
    raise Exit(
        2,
        f"stack '{stack}' was last deployed to {deployed}, but its `cloud` setting now says "
        f"{cloud}.",
        f"An update would try to delete the {deployed} registry, with your images. Nothing was "
        "changed.",
        f"Each target gets its own stack: put this one back and make a new one for {cloud}:",
        f"  {config_command(stack, 'cloud', deployed)}",
        f"  {make_other}",
    )


def _before_a_local_update(
    session: Session,
    pulumi: StackLike,
    docker: DockerLike,
    project: str,
    stack: str,
    config: Mapping[str, str | None],
) -> None:
    """The registry's ports and names free or this stack's own; then exactly two plugins."""
    layout = proj.local_layout(config, project, stack)
    if layout is not None:
        state = StackState.of(pulumi.state())
        stop = preflight(
            layout, state, docker, stack, check_ports=local_engine(session.env.get("DOCKER_HOST"))
        )
        if stop:
            raise Exit(2, *stop)
    versions = plugin_versions(session.project_dir, [package for _, package in LOCAL_PLUGINS])
    if versions is None:
        print(
            "up.sh: warning: no pulumi-plugin.json of pulumi_docker/pulumi_random in venv/; "
            "Pulumi will download the plugins it wants.",
            file=session.stderr,
        )
        if session.env.get("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION") == "true":
            del session.env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"]
        return
    for (name, _), version in zip(LOCAL_PLUGINS, versions, strict=True):
        pulumi.install_plugin(name, version)
