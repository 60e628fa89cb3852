"""The real Pulumi engine: the CLI built from Go modules at the lock's release
(scripts/pulumi_toolchain.py), with the stack program and the component provider.

What it proves, and what it cannot yet (docs/development.md, "The real Pulumi engine"):
- the CLI is the release of the Python SDK that pip installs, and no run tries a download;
- a bad stack setting stops `pulumi up` on the real engine with the key named, and the state then
  holds nothing but the stack;
- a secret set with the real CLI is encrypted in Pulumi.<stack>.yaml and in the state, and is
  printed nowhere;
- a YAML program (the real pulumi-language-yaml) is checked against the schema our component
  provider serves the engine (its properties, the `cloud` enum), and the provider's own refusal
  of what the schema cannot see (a value from the config) reaches the user with its path.
The local target's `pulumi up` itself needs pulumi-resource-docker and pulumi-resource-random,
and `pulumi up` of a Python project pulumi-language-python: the module proxy serves none of
them here (their errors are in the toolchain's report, and the first test prints them).

Without the toolchain the tests skip with the command that builds it; under CI=true a skip fails
the run (tests/engine/ci_guard.py), and .ci/run builds the toolchain first.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.pulumi_cli import (
    Pulumi,
    copy_project,
    download_trap,
    locked_pulumi,
    provider_launcher,
    toolchain_report,
)

STACK = "dev"
STACK_URN = "urn:pulumi:dev::container-registry::pulumi:pulumi:Stack::container-registry-dev"


@pytest.fixture
def pulumi(bin_dir: Path, tmp_path: Path) -> Iterator[Pulumi]:
    """The CLI, and after the test the proof that it downloaded nothing."""
    with download_trap() as trap:
        yield Pulumi(home=tmp_path, bin_dir=bin_dir, trap=trap)
        assert trap.requests == [], f"the Pulumi CLI tried to reach out: {trap.requests}"


def test_the_cli_is_the_release_of_the_locked_sdk(pulumi: Pulumi, tmp_path: Path) -> None:
    version = pulumi.run("version", cwd=tmp_path).stdout.strip()
    assert version == f"v{locked_pulumi()}"
    report = toolchain_report()
    assert "bytes" in report["cli"] and "bytes" in report["language-yaml"], report
    # What cannot be built here, with the proxy's own words: shown in every run's log.
    for name, entry in sorted(report.items()):
        if "unavailable" in entry:
            print(f"{name}: {entry['unavailable']}")


def test_the_trap_sees_a_plugin_download(pulumi: Pulumi, tmp_path: Path) -> None:
    """The download check can fail: a plugin the CLI does not have is fetched through the trap
    (and refused there), so a test that made the CLI download would fail on it."""
    install = ("plugin", "install", "resource", "random", "4.21.4")
    done = pulumi.run(*install, cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert any("get.pulumi.com" in line or "github.com" in line for line in pulumi.trap.requests)
    pulumi.trap.requests.clear()


def test_a_bad_setting_stops_the_real_engine_with_its_key(pulumi: Pulumi, tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    result = pulumi.program(project, STACK, "up", "container-registry:localPort=70000")
    assert not result["ok"]
    assert "localPort" in result["stdout"], result["stdout"]
    assert "70000" in result["stdout"]
    # Nothing of the registry was created: the engine's state holds the stack alone.
    assert pulumi.urns(project, STACK) == [STACK_URN]


def test_an_unknown_cloud_stops_before_anything_is_created(pulumi: Pulumi, tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    result = pulumi.program(project, STACK, "up", "container-registry:cloud=mars")
    assert not result["ok"]
    assert "cloud" in result["stdout"] and "mars" in result["stdout"], result["stdout"]
    assert pulumi.urns(project, STACK) == [STACK_URN]


def test_a_secret_is_nowhere_in_clear(pulumi: Pulumi, tmp_path: Path) -> None:
    """dockerHubToken set as a secret through the real CLI; the run then stops (the mirror's
    user is missing): the token is encrypted in the stack's file and state, and in no output."""
    project = copy_project(tmp_path)
    token = f"dckr_pat_{secrets.token_hex(12)}"
    result = pulumi.program(
        project,
        STACK,
        "up",
        "container-registry:mirror=true",
        f"secret:container-registry:dockerHubToken={token}",
    )
    assert not result["ok"]
    assert "dockerHubUser" in result["stdout"], result["stdout"]
    stack_file = (project / f"Pulumi.{STACK}.yaml").read_text()
    assert re.search(r"container-registry:dockerHubToken:\s*\n\s*secure: v1:", stack_file)
    exported = pulumi.run("stack", "export", "--stack", STACK, cwd=project).stdout
    listed = pulumi.run("config", "--stack", STACK, cwd=project).stdout
    for text in (stack_file, exported, listed, result["stdout"], result["stderr"]):
        assert token not in text
    assert token not in result["driver_stderr"]


YAML_PROGRAM = """\
name: yaml-user
runtime: yaml
config:
  where:
    type: string
    default: local
resources:
  team:
    type: container-registry:index:Registry
    properties:
{properties}
    options:
      version: 0.0.0
"""


@pytest.fixture
def yaml_project(pulumi: Pulumi, tmp_path: Path) -> Iterator[Path]:
    project = tmp_path / "yaml"
    project.mkdir()
    pulumi.extra_path.append(provider_launcher(tmp_path))
    yield project


def yaml_up(pulumi: Pulumi, project: Path, properties: dict[str, str], where: str = "local"):
    """`pulumi up` of a YAML program with these Registry properties; `${where}` in them is the
    config value `where`, which no schema check sees."""
    body = "\n".join(f"      {key}: {value}" for key, value in properties.items())
    (project / "Pulumi.yaml").write_text(YAML_PROGRAM.format(properties=body))
    pulumi.run("stack", "select", "--create", STACK, cwd=project)
    pulumi.run("config", "set", "where", where, "--stack", STACK, cwd=project)
    return pulumi.run("up", "--yes", "--stack", STACK, cwd=project, check=False)


def test_yaml_refuses_a_misspelt_property_from_the_provider_schema(
    pulumi: Pulumi, yaml_project: Path
) -> None:
    """pulumi-language-yaml checks the program against the schema the engine got from our
    provider (GetSchema): a misspelt key is refused with the known ones, nothing is created."""
    done = yaml_up(pulumi, yaml_project, {"cloud": "aws", "repositoryNam": "api"})
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "Property repositoryNam does not exist on 'container-registry:index:Registry'" in output
    assert "repositoryName" in output
    assert pulumi.urns(yaml_project, STACK) == []


def test_yaml_refuses_a_cloud_outside_the_schemas_enum(pulumi: Pulumi, yaml_project: Path) -> None:
    """`cloud` is an enum in the schema: pulumi-language-yaml refuses a literal outside it, with
    the allowed values, before the provider is asked."""
    done = yaml_up(pulumi, yaml_project, {"cloud": "mars"})
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert 'Allowed values are LOCAL ("local"), AWS ("aws"), AZURE ("azure"), GCP ("gcp")' in output
    assert "is not one of" not in output  # the provider's words: it was not asked
    assert pulumi.urns(yaml_project, STACK) == []


def test_the_provider_refuses_a_bad_value_with_its_path(pulumi: Pulumi, yaml_project: Path) -> None:
    """A value no schema check sees (`cloud` from the config) reaches the provider's Construct
    over the real engine, which refuses it naming the property and what is allowed."""
    done = yaml_up(pulumi, yaml_project, {"cloud": "${where}"}, where="mars")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "property cloud" in output and "'mars' is not one of local, aws, azure, gcp" in output
    assert pulumi.urns(yaml_project, STACK) == []
