"""The policy pack on stacks with keyless CI push and pullPrincipals: every rule passes on what
each target registers then, the CI rules find something to inspect there, and policyuniverse
agrees with the pack about the trust policy (tests/test_policy.py shows each rule biting)."""

from __future__ import annotations

import json

import pulumi_policy
import pytest
from policyuniverse.policy import Policy as IamPolicy
from test_policy import (
    CI_BREAKAGES,
    CI_STACK,
    deploy,
    direct_violations,
    first,
    load_pack,
    pack_violations,
)

from conftest import Harness
from policy import rules
from policy.rules import RULES, ResourceRule

CI_RULES: dict[str, tuple[str, ...]] = {
    "aws-github-oidc-trust-pinned": ("aws",),
    "gcp-github-provider-condition": ("gcp",),
    "azure-federated-credential-no-wildcard": ("azure",),
    "acr-role-assignment-scoped": ("azure",),
    "no-public-grants": ("aws", "azure", "gcp"),
}


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch) -> dict[str, pulumi_policy.Policy]:
    policies: list[pulumi_policy.Policy] = load_pack(monkeypatch)["policies"]()
    return {p.name: p for p in policies}


@pytest.mark.parametrize("cloud", sorted(CI_STACK))
def test_every_rule_passes_on_the_ci_stack(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    pack: dict[str, pulumi_policy.Policy],
    cloud: str,
) -> None:
    stack = deploy(cloud, **CI_STACK[cloud])
    for rule in RULES:
        assert direct_violations(rule, stack) == [], f"{rule.name} on {cloud} with CI"
        assert pack_violations(pack[rule.name], stack) == [], f"pack's {rule.name} on {cloud}"
    for name, clouds in CI_RULES.items():
        if cloud not in clouds:
            continue
        rule = next(r for r in RULES if r.name == name)
        assert isinstance(rule, ResourceRule)
        inspected = [r for r in stack if r.resource_type in rule.resource_types]
        assert inspected, f"{name} passed on {cloud} only because it inspected nothing"


def test_every_ci_rule_is_shown_biting() -> None:
    assert {b.rule for b in CI_BREAKAGES} == set(CI_RULES)


def test_policyuniverse_agrees_about_the_trust_policy(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The program's trust policy is not internet-accessible; the breakage that trusts anyone
    is, and the pack's no-public-grants says so too."""
    stack = deploy("aws", **CI_STACK["aws"])
    document = json.loads(first(stack, rules.AWS_IAM_ROLE).props["assumeRolePolicy"])
    assert not IamPolicy(document).is_internet_accessible()
    breakage = next(b for b in CI_BREAKAGES if b.id == "trust-anyone")
    broken = first(breakage.breaks(stack), rules.AWS_IAM_ROLE).props["assumeRolePolicy"]
    assert IamPolicy(json.loads(broken)).is_internet_accessible()


@pytest.mark.parametrize(
    ("condition", "pinned"),
    [
        ('assertion.repository == "acme/app"', True),
        ("assertion.repository=='acme/app' && assertion.ref == 'refs/heads/main'", True),
        ('assertion.repository_owner == "acme"', False),
        ('attribute.repository == "acme/app"', False),
        ("", False),
    ],
)
def test_gcp_condition_must_pin_the_repository(condition: str, pinned: bool) -> None:
    props = {
        "oidc": {"issuerUri": "https://token.actions.githubusercontent.com/"},
        "attributeCondition": condition,
    }
    found = rules.gcp_github_provider_condition(rules.GCP_WORKLOAD_IDENTITY_PROVIDER, props, {})
    assert (found == []) == pinned, found
    other_issuer = {**props, "oidc": {"issuerUri": "https://gitlab.com"}}
    assert (
        rules.gcp_github_provider_condition(rules.GCP_WORKLOAD_IDENTITY_PROVIDER, other_issuer, {})
        == []
    )


def test_acr_scope_rule_ignores_other_roles() -> None:
    props = {
        "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "scope": "/subscriptions/s",
        "principalId": "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f",
    }
    assert rules.acr_role_assignment_scoped(rules.AZURE_ROLE_ASSIGNMENT, props, {}) == []
    acr_pull = {
        **props,
        "roleDefinitionId": props["roleDefinitionId"][:-36] + rules.ACR_ROLE_IDS[1],
    }
    assert rules.acr_role_assignment_scoped(rules.AZURE_ROLE_ASSIGNMENT, acr_pull, {})
