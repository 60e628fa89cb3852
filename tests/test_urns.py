"""Existing stacks keep every resource across an upgrade (issue 21, item 3).

tests/data/urns/ holds, per target and option set, the URNs the program registered before the
component package (recorded by tests/urn_record.py). A resource whose URN changes without an alias
is a delete plus a create to the engine: for a registry, a volume or a role assignment that is data
or access lost. So today's program must register each recorded URN, or name it as an alias.

The monitor here answers without the `aliasSpecs` feature, so the SDK computes each alias's full
URN itself (`prepare_aliases` and `all_aliases` in pulumi/runtime/resource.py and
pulumi/resource.py), the URNs an engine without alias specs receives; the engine resolves specs
to the same URNs (pkg/resource/deploy/step_generator.go, `generateAliases`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.sync_await import _sync_await

from conftest import (
    PROJECT,
    STACK,
    TARGET_CONFIG,
    Harness,
    RecordingMonitor,
    RegistryMocks,
    arm_get,
    stub_engine,
)

URN_DIR = Path(__file__).resolve().parent / "data" / "urns"
# Two generations of stacks: before the component package (urns/*.json, a target's own component
# type) and of the one-`Registry` package (urns/registry/*.json, every resource a direct child of
# container-registry:index:Registry); tests/urn_record.py says where each was recorded.
FIXTURES = sorted(URN_DIR.glob("*.json")) + sorted(URN_DIR.glob("registry/*.json"))
FIXTURE_IDS = [str(path.relative_to(URN_DIR).with_suffix("")) for path in FIXTURES]
# Programs that build a service component themselves (EcrRegistry, ...): urns/services/*.json.
SERVICE_FIXTURES = sorted(URN_DIR.glob("services/*.json"))


class NoAliasSpecsMonitor(RecordingMonitor):
    """The mocks' monitor, less alias specs: aliases arrive as the URNs they stand for."""

    def __init__(self, mocks: RegistryMocks) -> None:
        super().__init__(mocks)
        self.alias_urns: dict[str, list[str]] = {}

    def GetDeploymentInfo(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        info = super().GetDeploymentInfo(request)
        kept = [
            feature
            for feature in info.supportedFeatures
            if feature != resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS
        ]
        return resource_pb2.DeploymentInfo(supportedFeatures=kept)

    def SupportsFeature(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        if request.id == "aliasSpecs":
            return type("SupportsFeatureResponse", (object,), {"hasSupport": False})
        return super().SupportsFeature(request)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        response = super().RegisterResource(request)
        assert not request.aliases, "alias specs reached a monitor that does not support them"
        self.alias_urns[response.urn] = list(request.aliasURNs)
        return response


@contextmanager
def stack_without_alias_specs(config: dict[str, str]) -> Iterator[NoAliasSpecsMonitor]:
    set_root_resource(None)  # type: ignore[arg-type]
    mocks = RegistryMocks()
    monitor = NoAliasSpecsMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
    values = {
        key.replace("__", ":") if "__" in key else f"{PROJECT}:{key}": value
        for key, value in config.items()
    }
    # A credential key is set with `pulumi config set --secret`: the engine names it secret.
    secret_keys = [
        f"{PROJECT}:{key}" for key in ("dockerHubToken",) if f"{PROJECT}:{key}" in values
    ]
    pulumi.runtime.set_all_config(values, secret_keys)
    try:
        yield monitor
    finally:
        _sync_await(pulumi.runtime.stack.wait_for_rpcs())


def registered_urns(
    cloud: str, config: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[str]]:
    """Each URN today's program registers for this config, with the alias URNs it names."""
    stub_engine(monkeypatch)
    with stack_without_alias_specs({**TARGET_CONFIG[cloud], **config}) as monitor:
        Harness(monitor=monitor).run_program()
        _sync_await(pulumi.runtime.stack.wait_for_rpcs())
    return dict(monitor.alias_urns)


def missing_urns(recorded: list[str], registered: dict[str, list[str]]) -> list[str]:
    """The recorded URNs that today's program neither registers nor names as an alias."""
    known = set(registered)
    for aliases in registered.values():
        known.update(aliases)
    return [urn for urn in recorded if urn not in known]


def test_there_are_fixtures_for_every_target() -> None:
    for generation in ("*.json", "registry/*.json"):
        clouds = {json.loads(path.read_text())["cloud"] for path in URN_DIR.glob(generation)}
        assert clouds == {"local", "aws", "azure", "gcp"}, generation
    for path in FIXTURES:
        assert json.loads(path.read_text())["resources"], f"{path.name} records no resource"


@pytest.mark.parametrize("fixture", FIXTURES, ids=FIXTURE_IDS)
def test_every_recorded_urn_is_registered_or_aliased(
    fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.loads(fixture.read_text())
    recorded = [resource["urn"] for resource in body["resources"]]
    registered = registered_urns(body["cloud"], body["config"], monkeypatch)
    assert missing_urns(recorded, registered) == []


def service_urns(cloud: str) -> dict[str, list[str]]:
    """Each URN a program registers that builds the cloud's service component itself, named
    `registry`, with urn_record.SERVICE_ARGS, and the alias URNs it names."""
    from urn_record import SERVICE_ARGS

    from container_registry import AcrRegistry, ArtifactRegistry, EcrRegistry, LocalRegistry

    service = {
        "aws": EcrRegistry,
        "azure": AcrRegistry,
        "gcp": ArtifactRegistry,
        "local": LocalRegistry,
    }[cloud]
    with pytest.MonkeyPatch.context() as patch, stack_without_alias_specs({}) as monitor:
        # The ARM read of the registry's role assignment mode, answered as the harness does.
        patch.setattr("container_registry.azure.mode.get_registry", arm_get)
        component = service("registry", SERVICE_ARGS[cloud])
        _sync_await(component.repository_url.future())
        _sync_await(pulumi.runtime.stack.wait_for_rpcs())
    return dict(monitor.alias_urns)


def test_there_are_service_fixtures_for_every_target() -> None:
    clouds = {json.loads(path.read_text())["cloud"] for path in SERVICE_FIXTURES}
    assert clouds == {"local", "aws", "azure", "gcp"}


@pytest.mark.parametrize("fixture", SERVICE_FIXTURES, ids=[p.stem for p in SERVICE_FIXTURES])
def test_a_program_of_a_service_component_keeps_its_urns(fixture: Path) -> None:
    body = json.loads(fixture.read_text())
    assert len(body["urns"]) >= 4
    assert missing_urns(body["urns"], service_urns(body["cloud"])) == []


def test_a_renamed_resource_without_alias_is_caught() -> None:
    """The check itself can fail: a URN that is neither registered nor an alias is reported."""
    old = "urn:pulumi:dev::container-registry::container-registry:aws:EcrRegistry"
    new = "urn:pulumi:dev::container-registry::container-registry:index:Registry"
    repo = "$aws:ecr/repository:Repository::registry-repo"
    recorded = [f"{old}::registry", f"{old}{repo}"]
    renamed = {f"{new}::registry": [recorded[0]], f"{new}{repo}": []}
    assert missing_urns(recorded, renamed) == [recorded[1]]
