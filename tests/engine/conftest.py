"""Fixtures of the engine tests: the engine the docker CLI would use, the images, and a replay of
what the program declares (tests/engine/replay.py). Every test here is marked `engine`.

Without an engine the tests are skipped with the reason printed, except in CI (`CI=true`): there
an engine test that is skipped or deselected fails the run, so a CI run that did not reach an
engine never counts as green. The terminal summary says how many engine tests ran (both in
tests/engine/ci_guard.py, which tests/conftest.py registers for every run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from stack.config.engine import DockerEngine, probe_engine, resolve_engine
from stack.config.parse import Settings
from tests.e2e.support import free_loopback_port
from tests.engine.ci_guard import in_ci, is_engine_test
from tests.engine.images import ensure_images
from tests.engine.replay import Declared, Engine, Replay, declare, replayed, unique_stack

ENGINE_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every engine test is marked `engine`. In a parallel run they all go to one worker, one
    after the other, so the session fixtures below build the images once (tests/conftest.py,
    WORKER_GROUPS)."""
    for item in items:
        if is_engine_test(item):
            item.add_marker(pytest.mark.engine)


def docker_cli() -> str:
    """A docker CLI that can send a BuildKit build (the program's default builder): one with the
    buildx plugin, or a CLI before 23.0, whose BuildKit client is built in."""
    candidates = [path for path in (shutil.which("docker"), "/usr/bin/docker") if path]
    for cli in dict.fromkeys(candidates):
        if not os.access(cli, os.X_OK):
            continue
        probe = subprocess.run([cli, "buildx", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return cli
        version = subprocess.run(
            [cli, "--version"], capture_output=True, text=True
        ).stdout.removeprefix("Docker version ")
        if version[:2].isdigit() and int(version.split(".")[0]) < 23:
            return cli
    raise RuntimeError(
        f"no docker CLI that can build with BuildKit among {candidates}: install the buildx "
        "plugin (docker-buildx) or Debian's docker.io"
    )


def _find_engine() -> DockerEngine | str:
    """The engine the docker CLI would use (stack/config/engine.py), or why there is none."""
    try:
        engine, _ = probe_engine(resolve_engine(Settings()))
    except Exception as err:  # noqa: BLE001 (any failure means: no engine here)
        return f"no Docker engine answers: {err}"
    return engine


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The engine under test, with the program's images on it (pulled or stand-ins)."""
    found = _find_engine()
    if isinstance(found, str):
        if in_ci():
            pytest.fail(f"CI=true and {found}: .ci/run should have started one", pytrace=False)
        pytest.skip(found)
    host = found.host or "unix:///var/run/docker.sock"
    client = docker.DockerClient(base_url=host, timeout=600)
    empty = tmp_path_factory.mktemp("docker-config")
    (empty / "config.json").write_text("{}")
    engine = Engine(
        client=client, host=host, cert_path=found.cert_path, cli=docker_cli(), empty_config=empty
    )
    # docker-py's client has no TLS here; a TLS engine would need it (not one these tests know).
    assert found.cert_path is None, "a TLS engine is not supported by the engine tests"
    ensure_images(client)
    yield engine
    client.close()


@pytest.fixture(autouse=True)
def harness() -> Iterator[None]:
    """Replaces the mocks fixture of tests/conftest.py: each program run here sets its own mocks
    (replay.declare), and the engine check is the real one."""
    yield


DeployFactory = Callable[..., Replay]


@pytest.fixture(scope="module")
def deploy(
    engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Replay]]:
    """`deploy(**config)`: run the program with `config` as a new stack (free ports unless given),
    and replay it: volumes and containers created and healthy. Everything it created is removed
    when the module's tests are done. Options for the replay (`env_overrides`, `networks`) are
    passed by keyword `replay={...}`; `start=False` declares and prepares without creating."""
    with _Deployments(engine, tmp_path_factory) as deployments:
        yield deployments.deploy


class _Deployments:
    def __init__(self, engine: Engine, tmp: pytest.TempPathFactory) -> None:
        self.engine, self.tmp = engine, tmp
        self.contexts: list = []

    def __enter__(self) -> _Deployments:
        return self

    def deploy(self, *, replay: dict | None = None, start: bool = True, **config: str) -> Replay:
        config.setdefault("localPort", str(free_loopback_port()))
        if config.get("mirror") == "true":
            config.setdefault("localMirrorPort", str(free_loopback_port()))
        declared: Declared = declare(self.engine, unique_stack(), **config)
        context = replayed(self.engine, declared, self.tmp.mktemp("replay"), **(replay or {}))
        result = context.__enter__()
        self.contexts.append(context)
        if start:
            result.create_all()
        return result

    def __exit__(self, *exc: object) -> None:
        errors = []
        for context in reversed(self.contexts):
            try:
                context.__exit__(None, None, None)
            except AssertionError as err:
                errors.append(str(err))
        assert not errors, "; ".join(errors)


@pytest.fixture(scope="module")
def bin_dir() -> Path:
    """The bin folder of the Pulumi toolchain built at the lock's release (the real-engine
    tests); skipped without it, which fails a CI run (ci_guard.py)."""
    from tests.engine.pulumi_cli import toolchain_bin

    found = toolchain_bin()
    if not (found / "pulumi").exists():
        pytest.skip(
            f"the Pulumi toolchain is not built at {found}: run scripts/pulumi_toolchain.py "
            "(.ci/run does)"
        )
    return found
