"""An upgrade on the real Pulumi engine: a stack of an older layout keeps every resource.

tests/test_urns.py checks under Pulumi's mocks that today's program registers each recorded URN
of an older stack, or names it as an alias. Here the engine itself decides. Each old stack is
rebuilt from its recorded resources (tests/data/urns/registry/*.json: the stack program of the
one-`Registry` layout; tests/data/urns/services/*.json: a program that builds a service component
itself) as the deployment `pulumi stack export` writes, and `pulumi stack import`ed into a stack
on a file backend; then today's program is previewed over it by the real CLI (tests/engine/
pulumi_cli.py, the program through the Automation API's inline program). The engine must match
every old resource to a resource of the program, by its URN or an alias (pkg/resource/deploy/
step_generator.go): no delete, no replace, no create of a URN the stack had.

The engine, the state, the alias resolution and the plan are real. The cloud providers are a
test double (tests/engine/provider_double.py) that reports no change for any resource, so that
only URN matching decides the plan; the module proxy serves none of the real ones here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.provider_double import launchers, plugin_version, type_of
from tests.engine.pulumi_cli import Pulumi, copy_project, download_trap

URN_DIR = Path(__file__).resolve().parents[1] / "data" / "urns"
STACK = "dev"
PROJECT = "container-registry"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
# The stack config of each target beside the recorded keys (tests/conftest.py, TARGET_CONFIG).
TARGET_CONFIG = {
    "local": {},
    "aws": {},
    "azure": {"azure-native:location": "westeurope"},
    "gcp": {"gcp:project": "my-project-123", "gcp:region": "europe-west4"},
}
SECRET_KEYS = ("dockerHubToken",)  # set with `pulumi config set --secret` (README)
# The operations an upgrade may plan for a resource of the program.
KEEPS = ("same", "update")


@pytest.fixture
def pulumi(bin_dir: Path, tmp_path: Path) -> Iterator[Pulumi]:
    """The CLI with the provider double on PATH, and after the test the proof that it
    downloaded nothing (no plugin either)."""
    with download_trap() as trap:
        yield Pulumi(home=tmp_path, bin_dir=bin_dir, trap=trap, extra_path=[launchers(tmp_path)])
        assert trap.requests == [], f"the Pulumi CLI tried to reach out: {trap.requests}"


ROOT_TYPE = "pulumi:pulumi:Stack$"


def engine_urn(urn: str) -> str:
    """The URN the engine gives the resource a recording names: the mocks' monitor puts the root
    stack's type before a top-level resource's own (`...::pulumi:pulumi:Stack$<type>::<name>`),
    the engine never does (`generateURN` in pkg/resource/deploy/deployment.go skips the root
    stack's type), so a real stack holds `...::<type>::<name>`."""
    stack, project, types, name = urn.split("::", 3)
    return f"{stack}::{project}::{types.removeprefix(ROOT_TYPE)}::{name}"


def records_of_urns(urns: list[str]) -> list[dict[str, Any]]:
    """type, parent and custom of each URN of a program whose only component is the one the
    others name as parent (tests/data/urns/services/: the URNs alone)."""
    components = [urn for urn in urns if type_of(urn).startswith(f"{PROJECT}:")]
    records = []
    for urn in urns:
        kind = type_of(urn)
        chain = urn.split("::")[2]
        parent = None if urn == STACK_URN else STACK_URN
        if urn != STACK_URN and "$" in chain and not chain.startswith("pulumi:pulumi:Stack$"):
            parent = next(c for c in components if c.split("::")[2].endswith(chain.split("$")[0]))
        custom = kind != "pulumi:pulumi:Stack" and not kind.startswith(f"{PROJECT}:")
        records.append({"urn": urn, "type": kind, "parent": parent, "custom": custom})
    return records


def _depth(record: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> int:
    parent = record.get("parent")
    return 0 if not parent else 1 + _depth(by_urn[parent], by_urn)


def _id(urn: str) -> str:
    """The ID the old state gives a custom resource: its name, `-id` (the mocks' IDs)."""
    return f"{urn.rsplit('::', 1)[-1]}-id"


def old_deployment(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources of the old stack's state as `pulumi stack export` writes them (checkpoint
    version 3): the recorded ones under their engine URNs, each custom resource with an ID and
    the provider of its package the stack recorded, else the package's default provider at the
    version the installed SDK declares (named as the engine names it, DefaultName in
    pkg/resource/deploy/providers/provider.go). Parents and providers come before the resources
    that name them."""
    by_urn = {STACK_URN: {"urn": STACK_URN, "type": "pulumi:pulumi:Stack", "custom": False}}
    for record in records:
        parent = record.get("parent")
        urn = engine_urn(record["urn"])
        by_urn[urn] = {**record, "urn": urn, "parent": parent and engine_urn(parent)}
    providers = {
        record["type"].removeprefix("pulumi:providers:"): record["urn"]
        for record in by_urn.values()
        if record["type"].startswith("pulumi:providers:")
    }
    defaults = []
    for package in sorted({r["type"].split(":")[0] for r in by_urn.values() if r["custom"]}):
        if package != "pulumi" and package not in providers:
            version = plugin_version(package)
            name = "default_" + version.replace(".", "_")
            urn = providers[package] = (
                f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:{package}::{name}"
            )
            inputs = {"version": version}
            defaults.append(
                {
                    "urn": urn,
                    "custom": True,
                    "type": f"pulumi:providers:{package}",
                    "id": _id(urn),
                    "inputs": inputs,
                    "outputs": inputs,
                }
            )
    stack, *ordered = sorted(by_urn.values(), key=lambda r: (_depth(r, by_urn), not r["custom"]))
    resources = [{"urn": STACK_URN, "custom": False, "type": stack["type"]}, *defaults]
    for record in ordered:
        resource = {key: record[key] for key in ("urn", "custom", "type", "parent")}
        if record["custom"]:
            resource["id"] = _id(record["urn"])
            package = record["type"].split(":")[0]
            if package != "pulumi":
                resource["provider"] = f"{providers[package]}::{_id(providers[package])}"
        resources.append(resource | {"inputs": {}, "outputs": {}})
    return resources


def import_old_stack(pulumi: Pulumi, project: Path, resources: list[dict[str, Any]]) -> None:
    """A new stack whose state is `resources` (`pulumi stack import`), keeping the manifest
    and secrets provider the CLI wrote for the stack."""
    pulumi.run("stack", "init", STACK, "--secrets-provider", "passphrase", cwd=project)
    exported = pulumi.state(project, STACK)
    exported["deployment"]["resources"] = resources  # type: ignore[index]
    state_file = project.parent / "old-stack.json"
    state_file.write_text(json.dumps(exported))
    pulumi.run("stack", "import", "--stack", STACK, "--file", str(state_file), cwd=project)


def kept_everything(result: dict[str, Any], resources: list[dict[str, Any]]) -> None:
    """The engine matched every old resource to one of the program's (same, or an update with
    its keys), deleted and replaced nothing and created nothing the stack had."""
    assert result["ok"], result["stdout"] + result["stderr"]
    steps = result["steps"]
    old = {resource["urn"] for resource in resources}
    counts = result["changes"]
    report = f"the engine's plan: {counts}\n" + "\n".join(
        f"{s['op']:>18} {s['urn']} (was {s['old']}) {s['keys'] or s['diffs'] or ''}" for s in steps
    )
    matched = {step["old"] for step in steps if step["op"] in KEEPS}
    assert sorted(old - matched) == [], report
    assert [s for s in steps if s["op"] not in (*KEEPS, "create")] == [], report
    assert [s for s in steps if s["op"] == "create" and s["urn"] in old] == [], report
    assert [s for s in steps if s["op"] == "update" and not s["diffs"]] == [], report
    assert set(counts) <= {*KEEPS, "create"}, report


# No Docker engine here: the stack program's engine check answers as the unit tests' stub does
# (tests/conftest.py, STUB_ENGINE_SOURCE), then the program runs as it is.
STACK_PROGRAM = """\
import runpy

import stack.config.engine

stack.config.engine.probe_engine = lambda engine: (engine, "x86_64")
runpy.run_path("stack_program.py", run_name="__main__")
"""
# Every recorded stack of both older generations, as tests/test_urns.py replays them under the
# mocks: before the component package (urns/*.json) and of the one-`Registry` package
# (urns/registry/*.json). About 5 s each on 2 cores.
OLD_STACKS = [
    path.relative_to(URN_DIR).with_suffix("").as_posix()
    for path in sorted(URN_DIR.glob("*.json")) + sorted(URN_DIR.glob("registry/*.json"))
]


def upgrade(pulumi: Pulumi, tmp_path: Path, recorded: dict[str, Any]) -> None:
    """Today's stack program previewed over the old stack `recorded` holds, with its config."""
    project = copy_project(tmp_path)
    (project / "__main__.py").rename(project / "stack_program.py")
    (project / "__main__.py").write_text(STACK_PROGRAM)
    resources = old_deployment(recorded["resources"])
    import_old_stack(pulumi, project, resources)
    config = {f"{PROJECT}:cloud": recorded["cloud"], **TARGET_CONFIG[recorded["cloud"]]}
    config |= {f"{PROJECT}:{key}": value for key, value in recorded["config"].items()}
    settings = [
        f"secret:{key}={value}" if key.split(":")[1] in SECRET_KEYS else f"{key}={value}"
        for key, value in config.items()
    ]
    kept_everything(pulumi.program(project, STACK, "preview", *settings), resources)


@pytest.mark.parametrize("name", OLD_STACKS)
def test_a_stack_of_an_older_layout_upgrades_in_place(
    pulumi: Pulumi, tmp_path: Path, name: str
) -> None:
    upgrade(pulumi, tmp_path, json.loads((URN_DIR / f"{name}.json").read_text()))


def test_a_resource_the_program_does_not_match_fails_the_check(
    pulumi: Pulumi, tmp_path: Path
) -> None:
    """The check can fail: in an old stack whose volume has a name today's program does not
    give it (as if its alias were missing), the engine plans the volume's delete."""
    recorded = json.loads((URN_DIR / "registry" / "local-default.json").read_text())
    for resource in recorded["resources"]:
        resource["urn"] = resource["urn"].replace("::registry-data", "::registry-data-v0")
    with pytest.raises(AssertionError, match=r"'delete': 1") as failed:
        upgrade(pulumi, tmp_path, recorded)
    assert (
        "delete urn:pulumi:dev::container-registry::container-registry:index:Registry$docker:"
        "index/volume:Volume::registry-data-v0" in str(failed.value)
    )


SERVICE_PROGRAM = """\
import json

import container_registry

SERVICES = {{"aws": "EcrRegistry", "azure": "AcrRegistry", "gcp": "ArtifactRegistry",
            "local": "LocalRegistry"}}
getattr(container_registry, SERVICES[{cloud!r}])("registry", json.loads({args!r}))
"""


@pytest.mark.parametrize("cloud", ["local", "aws", "azure", "gcp"])
def test_a_program_of_a_service_component_upgrades_in_place(
    pulumi: Pulumi, tmp_path: Path, cloud: str
) -> None:
    recorded = json.loads((URN_DIR / "services" / f"{cloud}.json").read_text())
    project = copy_project(tmp_path)
    program = SERVICE_PROGRAM.format(cloud=cloud, args=json.dumps(recorded["args"]))
    (project / "__main__.py").write_text(program)
    resources = old_deployment(records_of_urns(recorded["urns"]))
    import_old_stack(pulumi, project, resources)
    kept_everything(pulumi.program(project, STACK, "preview"), resources)
