"""The policy tests' harness: the program's registered resources as data, each rule run on them
directly (rule.judge) and through the pack's pulumi_policy policy, and the helpers that break a
copy of them. The breakages live with each cloud's tests (tests/test_policy_<cloud>.py)."""

from __future__ import annotations

import copy
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from conftest import AZURE_SUBSCRIPTION, RESOURCE_OUTPUTS, program_run
from policy import RULES, ResourceRule, Rule

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
CLOUDS = ("aws", "azure", "gcp", "local")


# --------------------------------------------------------------------------- the stack as data


@dataclass(frozen=True)
class Resource:
    """A registered resource: its inputs (what resource policies see) and its URN and
    dependencies (what stack policies also see)."""

    resource_type: str
    name: str
    urn: str
    props: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    protect: bool = False
    # What the provider keeps in its state, when a test says so instead of the mocks.
    state: dict[str, Any] | None = None

    @property
    def outputs(self) -> dict[str, Any]:
        """What a stack policy sees: the inputs plus the outputs the mocks compute."""
        if self.state is not None:
            return self.state
        computed = RESOURCE_OUTPUTS.get(self.resource_type)
        return {**self.props, **(computed(self.props) if computed else {})}


@dataclass(frozen=True)
class StackView:
    """A resource as a stack rule reads it (policy.common.StackResource)."""

    resource_type: str
    props: Mapping[str, Any]
    urn: str
    dependencies: tuple[str, ...] = field(default=())


Stack = list[Resource]


def deploy(cloud: str, **config: str) -> Stack:
    """The custom resources the program registers for `cloud`: this test's own copy of a run
    shared per (target, config) (conftest.program_run), so breaking it touches no other test."""
    return [
        Resource(r.typ, r.name, r.urn, r.inputs, tuple(r.dependencies), r.protect)
        for r in program_run(cloud, **config).resources
        if r.custom
    ]


def direct_violations(
    rule: Rule, stack: Stack, config: Mapping[str, Any] | None = None
) -> list[str]:
    """The rule over the stack, each resource dispatched as the pack does (rule.judge: only the
    types it is registered with): one message per violation."""
    config = config or {}
    if isinstance(rule, ResourceRule):
        return [
            f"{r.name}: {message}"
            for r in stack
            for message in rule.judge(r.resource_type, r.props, config)
        ]
    views = [StackView(r.resource_type, r.outputs, r.urn, r.dependencies) for r in stack]
    return [f"{urn}: {message}" for message, urn in rule.judge(views, config)]


def load_pack(
    monkeypatch: pytest.MonkeyPatch, run_name: str = "policy_pack_under_test"
) -> dict[str, Any]:
    """policy/__main__.py's globals, run the way the Pulumi policy host runs it (policy/ first on
    sys.path); under any other run_name it does not start serving the engine."""
    monkeypatch.syspath_prepend(str(POLICY_DIR))
    return runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name=run_name)


def _options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def pack_violations(
    policy: pulumi_policy.Policy, stack: Stack, config: Mapping[str, Any] | None = None
) -> list[str]:
    """The violations the pack's policy reports, given what the engine would give it."""
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(f"{urn or ''}: {message}")

    if isinstance(policy, ResourceValidationPolicy):
        for r in stack:
            args = ResourceValidationArgs(
                r.resource_type,
                unknown_checking_proxy(copy.deepcopy(r.props)),
                r.urn,
                r.name,
                _options(r.protect),
                None,
                dict(config or {}),
            )
            policy.validate(args, report)
    else:
        assert isinstance(policy, StackValidationPolicy)
        by_urn = {
            r.urn: PolicyResource(
                r.resource_type,
                unknown_checking_proxy(copy.deepcopy(r.outputs)),
                r.urn,
                r.name,
                _options(r.protect),
                None,
                None,
                [],
                {},
            )
            for r in stack
        }
        for r in stack:
            by_urn[r.urn].dependencies.extend(by_urn[d] for d in r.dependencies if d in by_urn)
        policy.validate(StackValidationArgs(list(by_urn.values()), dict(config or {})), report)
    return reported


def pack_policies(monkeypatch: pytest.MonkeyPatch) -> dict[str, pulumi_policy.Policy]:
    """The pack's policies by name, loaded as the policy host loads them."""
    policies: list[pulumi_policy.Policy] = load_pack(monkeypatch)["policies"]()
    return {p.name: p for p in policies}


def rule_named(name: str) -> Rule:
    return next(rule for rule in RULES if rule.name == name)


# --------------------------------------------------------------------------- breakages


def first(stack: Stack, resource_type: str) -> Resource:
    found = [r for r in stack if r.resource_type == resource_type]
    assert found, f"the program registered no {resource_type}"
    return found[0]


def edit(
    resource_type: str, change: Callable[[dict[str, Any]], object]
) -> Callable[[Stack], Stack]:
    """Break the first resource of a type: change a deep copy of its props."""

    def breaking(stack: Stack) -> Stack:
        target = first(stack, resource_type)
        props = copy.deepcopy(target.props)
        change(props)
        return [replace(r, props=props) if r is target else r for r in stack]

    return breaking


def add(resource_type: str, props: dict[str, Any]) -> Callable[[Stack], Stack]:
    """Add a resource the program does not create (yet), with the guarded property broken."""

    def adding(stack: Stack) -> Stack:
        urn = f"urn:pulumi:dev::container-registry::{resource_type}::added"
        return [*stack, Resource(resource_type, "added", urn, copy.deepcopy(props))]

    return adding


def drop(resource_type: str) -> Callable[[Stack], Stack]:
    return lambda stack: [r for r in stack if r.resource_type != resource_type]


def set_key(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or with value DELETE, remove) a dotted path such as `sku.name`."""

    def setting(props: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = props
        for key in parents:
            target = target.setdefault(key, {})
        if value is DELETE:
            target.pop(last, None)
        else:
            target[last] = value

    return setting


DELETE = object()


@dataclass(frozen=True)
class Breakage:
    rule: str
    cloud: str
    id: str
    breaks: Callable[[Stack], Stack]
    config: Mapping[str, Any] = field(default_factory=dict)
    # Stack config to deploy with before breaking (default: the target's defaults).
    stack_config: Mapping[str, str] = field(default_factory=dict)


# --- keyless CI push (issue 11): broken copies of what ciRepository and pullPrincipals create
CI_STACK: dict[str, Mapping[str, str]] = {
    "aws": {"ciRepository": "acme/app"},
    "azure": {
        "ciRepository": "acme/app",
        "pullPrincipals": '["0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"]',
    },
    "gcp": {"ciRepository": "acme/app", "pullPrincipals": '["group:pullers@example.com"]'},
}


def cut_scope(parts: int) -> Callable[[dict[str, Any]], None]:
    """Widen a role assignment's scope to its first `parts` path segments."""
    return lambda props: props.update(scope="/".join(props["scope"].split("/")[:parts]))


VAULT_ID = (
    f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/secrets-rg"
    "/providers/Microsoft.KeyVault/vaults/my-vault"
)


def secrets_role_assignment(scope: str) -> dict[str, Any]:
    """A Key Vault Secrets User assignment (4633458b-..., Microsoft's built-in roles page,
    Security) for a service principal, on `scope`."""
    return {
        "scope": scope,
        "principalId": "e1d2c3b4-a596-4877-8a9b-0c1d2e3f4a5b",
        "principalType": "ServicePrincipal",
        "roleDefinitionId": f"/subscriptions/{AZURE_SUBSCRIPTION}/providers/"
        "Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6",
    }


def ci_breakage(rule: str, cloud: str, id: str, breaks: Callable[[Stack], Stack]) -> Breakage:
    return Breakage(rule, cloud, id, breaks, stack_config=CI_STACK[cloud])
