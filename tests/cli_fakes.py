"""Fakes of the CLI's two boundaries, Pulumi (PulumiStack) and Docker (DockerCli), sharing one
World: what the stacks hold and what the engine shows. Every call is recorded with the
environment it ran with, so the tests check what ./up.sh would have run, in process and fast.

The real boundaries are tested on their own: tests/test_up_bootstrap.py runs ./up.sh with fake
`pulumi` and `docker` binaries, through the Automation API and the docker CLI class.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from semver import VersionInfo

from stack.cli.main import Session, main
from stack.cli.pulumi_stack import PulumiFailed

ROOT = Path(__file__).resolve().parent.parent
# What the CLI reads besides itself: the project name, the stack files, the requirement files.
PROJECT_FILES = (
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.aws.yaml",
    "Pulumi.azure.yaml",
    "Pulumi.gcp.yaml",
    "requirements.txt",
    "requirements.lock",
    "requirements-aws.txt",
    "requirements-azure.txt",
    "requirements-gcp.txt",
    ".gitignore",
)
FAKE_PASSWORD = "fake-registry-password-6d1e0b"
IMAGE_NAME = "localhost:5000/app:0123456789ab"
# Not the real plugin versions, so a test can tell that the CLI read them from venv/.
DOCKER_PLUGIN = "5.9.1"
RANDOM_PLUGIN = "4.99.2"
DEFAULT_OUTPUTS: dict[str, Any] = {
    "cloud": "local",
    "registryServer": "localhost:5000",
    "imageName": IMAGE_NAME,
    "credentials": {"server": "localhost:5000", "username": "admin", "password": FAKE_PASSWORD},
}
# The environment each recorded call keeps.
ENV_LOGGED = (
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "DOCKER_HOST",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
)
PROJECT = "container-registry"


@dataclass
class Call:
    tool: str  # pulumi, docker, pip
    args: tuple[Any, ...]
    env: dict[str, str | None]


@dataclass
class World:
    """What the fakes answer with. `config` and `outputs` are the stack's (None: not there)."""

    project: Path
    config: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_OUTPUTS))
    state: dict[str, Any] = field(
        default_factory=lambda: {"version": 3, "deployment": {"resources": []}}
    )
    stacks: set[str] = field(default_factory=set)
    version: str = "v3.272.0"
    has_pulumi: bool = True
    not_deployed: bool = False  # no outputs at all
    up_fails: str | None = None  # the update's output when it fails
    destroy_fails: bool = False
    retention_fails: bool = False  # the local registry's retention raises
    # docker
    has_docker: bool = True
    context_host: str = "unix:///var/run/docker.sock"
    engine_error: str | None = None
    publishers: dict[int, tuple[str, str]] = field(default_factory=dict)
    named: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def record(self, tool: str, env: Mapping[str, str], *args: Any) -> None:
        self.calls.append(Call(tool, args, {name: env.get(name) for name in ENV_LOGGED}))

    def of(self, tool: str) -> list[Call]:
        return [call for call in self.calls if call.tool == tool]

    def commands(self) -> list[tuple[Any, ...]]:
        """The Pulumi operations, in order (`("select", True)`, `("up",)`, ...)."""
        return [call.args for call in self.of("pulumi")]

    def ran(self, *prefix: Any) -> bool:
        return any(args[: len(prefix)] == prefix for args in self.commands())

    def call(self, *prefix: Any) -> Call:
        found = [c for c in self.of("pulumi") if c.args[: len(prefix)] == prefix]
        assert len(found) == 1, f"expected one {prefix}: {self.commands()}"
        return found[0]

    def docker_commands(self) -> list[tuple[Any, ...]]:
        return [call.args for call in self.of("docker")]


class FakeStack:
    """PulumiStack's methods over a World."""

    def __init__(self, world: World, project_dir: Path, stack: str, env: MutableMapping[str, str]):
        self.world, self.project_dir, self.stack, self.env = world, project_dir, stack, env

    def _log(self, *args: Any) -> None:
        self.world.record("pulumi", self.env, *args)

    def select(self, *, create: bool) -> bool:
        self._log("select", create)
        if self.stack in self.world.stacks:
            return True
        if not create:
            return False
        self.world.stacks.add(self.stack)
        # What the real CLI does to the stack's file when it creates the stack.
        with (self.project_dir / f"Pulumi.{self.stack}.yaml").open("a", encoding="utf-8") as f:
            f.write("encryptionsalt: v1:c2FsdA==:v1:fake:salt==\n")
        return True

    def config(self) -> dict[str, str | None]:
        self._log("config")
        return {
            key if ":" in key else f"{PROJECT}:{key}": value
            for key, value in self.world.config.items()
        }

    def set_config(self, key: str, value: str) -> None:
        self._log("set_config", key, value)
        self.world.config[key] = value

    def outputs(self) -> dict[str, Any]:
        self._log("outputs")
        if self.world.not_deployed:
            return {}
        return {
            name: auto.OutputValue(value=value, secret=name == "credentials")
            for name, value in self.world.outputs.items()
            if value is not None
        }

    def state(self) -> dict[str, Any]:
        self._log("state")
        return self.world.state

    def install(self, *, no_plugins: bool = False, no_dependencies: bool = False) -> None:
        self._log("install", no_plugins, no_dependencies)

    def install_plugin(self, name: str, version: str) -> None:
        self._log("plugin", name, version)

    def preview(self) -> None:
        self._log("preview")

    def up(self) -> None:
        self._log("up")
        if self.world.up_fails is not None:
            raise PulumiFailed(255, self.world.up_fails)

    def destroy(self) -> None:
        self._log("destroy")
        if self.world.destroy_fails:
            raise PulumiFailed(255, "error: RepositoryNotEmptyException")

    def unprotect_all(self) -> None:
        self._log("unprotect")

    def remove(self) -> None:
        self._log("remove")
        self.world.stacks.discard(self.stack)

    def stack_count(self) -> int | None:
        self._log("stack_count")
        return len(self.world.stacks)


class FakeDocker:
    """DockerCli's methods over a World."""

    def __init__(self, world: World, env: Mapping[str, str]) -> None:
        self.world, self.env = world, env

    def _log(self, *args: Any) -> None:
        self.world.record("docker", self.env, *args)

    def available(self) -> bool:
        return self.world.has_docker

    def context_host(self) -> str:
        self._log("context")
        return self.world.context_host

    def info_error(self) -> str | None:
        self._log("info")
        return self.world.engine_error

    def client_version(self) -> str:
        return "20.10.24+dfsg1"

    def publisher(self, port: int) -> tuple[str, str] | None:
        self._log("publisher", port)
        return self.world.publishers.get(port)

    def named(self, name: str) -> str:
        self._log("named", name)
        return self.world.named.get(name, "")

    def remove_container(self, name: str) -> None:
        self._log("rm", name)

    def remove_image(self, image: str) -> bool:
        self._log("rmi", image)
        return True

    def logout(self, server: str) -> None:
        self._log("logout", server)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def make_project(folder: Path, free_port: int) -> World:
    """A copy of the project's files in `folder`, with a venv/ whose SDKs declare their plugin
    versions; the World's config puts the registry on `free_port`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, folder / name)
    site = folder / "venv" / "lib" / "python3.11" / "site-packages"
    for package, version in (("docker", DOCKER_PLUGIN), ("random", RANDOM_PLUGIN)):
        (site / f"pulumi_{package}").mkdir(parents=True)
        plugin = {"resource": True, "name": package, "version": version}
        (site / f"pulumi_{package}" / "pulumi-plugin.json").write_text(json.dumps(plugin))
    return World(project=folder.resolve(), config={"localPort": str(free_port)})


def run_cli(
    world: World,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str = "",
    attended: bool = False,
    config: Mapping[str, str] | None = None,
    outputs: Mapping[str, Any] | None = None,
    pip_install: Callable[[Path], None] | None = None,
) -> Result:
    """./up.sh's CLI with `args`, in process, against the World (`config` and `outputs` are
    merged into the World's first)."""
    world.config.update(config or {})
    world.outputs.update(outputs or {})
    environment: dict[str, str] = {"PATH": "/fake/bin", "HOME": str(world.project.parent)}
    environment.update(env or {})
    out, err = io.StringIO(), io.StringIO()
    session = Session(
        project_dir=world.project,
        env=environment,
        stdin=io.StringIO(stdin),
        stdout=out,
        stderr=err,
        attended=lambda: attended,
        which=lambda name, path: f"/fake/bin/{name}" if world.has_pulumi else None,
        pulumi_version=lambda: _version(world.version),
        pulumi=lambda project_dir, stack, env: FakeStack(world, project_dir, stack, env),
        docker=lambda env: FakeDocker(world, env),
        pip_install=pip_install
        or (lambda requirements: world.record("pip", environment, requirements.name)),
        retain=lambda outputs: _retain(world, environment, outputs),
    )
    code = main(list(args), session)
    return Result(code, out.getvalue(), err.getvalue())


def _retain(world: World, env: Mapping[str, str], outputs: Mapping[str, Any]) -> str:
    """The local registry's retention: recorded with the outputs it was given."""
    world.record("retain", env, dict(outputs))
    if world.retention_fails:
        raise RuntimeError("the registry container is not running")
    return "retention: nothing to delete (3 manifests kept)"


def _version(text: str) -> VersionInfo | None:
    try:
        return VersionInfo.parse(text.removeprefix("v"))
    except ValueError:
        return None
