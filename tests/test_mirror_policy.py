"""The policy pack on stacks with the mirror on: every rule passes, the rules that guard the mirror
really inspect it, and each breaks on a broken copy of a mirror resource (the pattern of
tests/test_policy.py, whose helpers these tests use)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi_policy
import pytest
from policy_harness import (
    DELETE,
    VAULT_ID,
    Resource,
    Stack,
    cut_scope,
    deploy,
    direct_violations,
    load_pack,
    pack_violations,
    rule_named,
    set_key,
)
from test_policy import BREAKAGES

from conftest import Harness
from policy import RULE_NAMES, RULES, ResourceRule, gcp

CLOUDS = ("aws", "azure", "gcp", "local")
SECRET_ARN = (
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
)
# What each target's mirror stack is deployed with.
MIRROR_CONFIG: dict[str, dict[str, str]] = {
    "aws": {"mirror": "true", "dockerHubCredentialsSecretArn": SECRET_ARN},
    "azure": {
        "mirror": "true",
        "mirrorRepositories": '["*"]',
        "acrDockerHubUsernameSecretUri": "https://my-vault.vault.azure.net/secrets/dockerhub-user",
        "acrDockerHubPasswordSecretUri": "https://my-vault.vault.azure.net/secrets/dockerhub-token",
        "acrDockerHubKeyVaultId": VAULT_ID,
    },
    "gcp": {"mirror": "true"},
    "local": {"mirror": "true"},
}
# The resource each target's mirror adds that a rule must inspect, by resource name.
MIRROR_RESOURCES: dict[str, tuple[str, ...]] = {
    "aws": ("registry-mirror-ecr-public-template", "registry-mirror-docker-hub-template"),
    # The cache lives in the registry (its anonymous pull stays off); the credential set reads
    # its vault through one role assignment.
    "azure": ("registry-acr", "registry-mirror-secrets-user"),
    "gcp": ("registry-mirror",),
    "local": ("registry-mirror",),
}
# The rules that guard the mirror, per target.
MIRROR_RULES: dict[str, tuple[str, ...]] = {
    "aws": (
        "ecr-cache-template-encryption",
        "ecr-cache-template-lifecycle",
        "ecr-cache-template-not-public",
    ),
    "azure": ("acr-anonymous-pull-disabled", "key-vault-role-assignment-scoped"),
    "gcp": ("gar-cleanup-policies", "gar-docker-format", "gar-not-public"),
    "local": ("local-registry-loopback", "local-registry-auth"),
}


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch) -> dict[str, pulumi_policy.Policy]:
    policies: list[pulumi_policy.Policy] = load_pack(monkeypatch)["policies"]()
    return {p.name: p for p in policies}


def deploy_mirror(harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str) -> Stack:
    return deploy(cloud, **MIRROR_CONFIG[cloud])


def named(name: str, change: Callable[[dict[str, Any]], object]) -> Callable[[Stack], Stack]:
    """Break the resource with this name: change a deep copy of its props."""

    def breaking(stack: Stack) -> Stack:
        found = [r for r in stack if r.name == name]
        assert len(found) == 1, f"the program registered no single {name}"
        props = copy.deepcopy(found[0].props)
        change(props)
        return [replace(r, props=props) if r is found[0] else r for r in stack]

    return breaking


def added(resource_type: str, props: dict[str, Any]) -> Callable[[Stack], Stack]:
    def adding(stack: Stack) -> Stack:
        urn = f"urn:pulumi:dev::container-registry::{resource_type}::added"
        return [*stack, Resource(resource_type, "added", urn, copy.deepcopy(props))]

    return adding


def public_policy(**statement: Any) -> Callable[[dict[str, Any]], None]:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecr:BatchGetImage", **statement}],
    }
    return set_key("repositoryPolicy", json.dumps(document))


@dataclass(frozen=True)
class MirrorBreakage:
    rule: str
    cloud: str
    id: str
    breaks: Callable[[Stack], Stack]
    # Other rules that rightly complain about the same breakage.
    also: frozenset[str] = field(default_factory=frozenset)


TEMPLATE = "registry-mirror-ecr-public-template"
MIRROR_BREAKAGES: tuple[MirrorBreakage, ...] = (
    MirrorBreakage(
        "ecr-cache-template-encryption",
        "aws",
        "no-encryption",
        named(TEMPLATE, set_key("encryptionConfigurations", DELETE)),
    ),
    MirrorBreakage(
        "ecr-cache-template-encryption",
        "aws",
        "unknown-type",
        named(TEMPLATE, set_key("encryptionConfigurations", [{"encryptionType": "NONE"}])),
    ),
    MirrorBreakage(
        "ecr-cache-template-lifecycle",
        "aws",
        "no-lifecycle",
        named(TEMPLATE, set_key("lifecyclePolicy", DELETE)),
    ),
    MirrorBreakage(
        "ecr-cache-template-lifecycle",
        "aws",
        "no-rules",
        named(TEMPLATE, set_key("lifecyclePolicy", json.dumps({"rules": []}))),
    ),
    MirrorBreakage(
        "ecr-cache-template-lifecycle",
        "aws",
        "not-json",
        named(TEMPLATE, set_key("lifecyclePolicy", "{rules")),
    ),
    MirrorBreakage(
        "ecr-cache-template-not-public",
        "aws",
        "principal-star",
        named(TEMPLATE, public_policy(Principal="*")),
    ),
    MirrorBreakage(
        "ecr-cache-template-not-public",
        "aws",
        "aws-star-in-list",
        named(TEMPLATE, public_policy(Principal={"AWS": ["arn:aws:iam::210987654321:root", "*"]})),
    ),
    MirrorBreakage(
        "ecr-cache-template-not-public",
        "aws",
        "not-principal",
        named(TEMPLATE, public_policy(NotPrincipal={"AWS": "arn:aws:iam::210987654321:root"})),
    ),
    MirrorBreakage(
        "ecr-cache-template-not-public",
        "aws",
        "policy-not-json",
        named(TEMPLATE, set_key("repositoryPolicy", "{nope")),
    ),
    MirrorBreakage(
        "acr-anonymous-pull-disabled",
        "azure",
        "anonymous-pull-on-the-cache",
        named("registry-acr", set_key("anonymousPullEnabled", True)),
    ),
    MirrorBreakage(
        "acr-anonymous-pull-disabled",
        "azure",
        "anonymous-pull-on-the-cache-as-text",
        named("registry-acr", set_key("anonymousPullEnabled", "true")),
    ),
    MirrorBreakage(
        "key-vault-role-assignment-scoped",
        "azure",
        "vault-grant-on-the-vaults-group",
        named("registry-mirror-secrets-user", cut_scope(5)),
    ),
    MirrorBreakage(
        "key-vault-role-assignment-scoped",
        "azure",
        "vault-grant-on-the-subscription",
        named("registry-mirror-secrets-user", cut_scope(3)),
    ),
    MirrorBreakage(
        "key-vault-role-assignment-scoped",
        "azure",
        "vault-grant-on-no-scope",
        named("registry-mirror-secrets-user", set_key("scope", DELETE)),
    ),
    MirrorBreakage(
        "gar-cleanup-policies",
        "gcp",
        "remote-without-cleanup",
        named("registry-mirror", set_key("cleanupPolicies", DELETE)),
    ),
    MirrorBreakage(
        "gar-cleanup-policies",
        "gcp",
        "remote-dry-run",
        named("registry-mirror", set_key("cleanupPolicyDryRun", True)),
    ),
    MirrorBreakage(
        "gar-docker-format",
        "gcp",
        "remote-of-another-format",
        named("registry-mirror", set_key("format", "NPM")),
    ),
    MirrorBreakage(
        "gar-docker-format",
        "gcp",
        "remote-without-format",
        named("registry-mirror", set_key("format", DELETE)),
    ),
    MirrorBreakage(
        "gar-not-public",
        "gcp",
        "remote-read-by-all-users",
        added(
            gcp.GAR_IAM_MEMBER,
            {
                "repository": "app-mirror",
                "role": "roles/artifactregistry.reader",
                "member": "allUsers",
            },
        ),
        # The pack's general "no grant to allUsers anywhere" rule sees it too.
        also=frozenset({"no-public-grants"}),
    ),
    MirrorBreakage(
        "gar-not-public",
        "gcp",
        "remote-bound-to-all-authenticated-users",
        added(
            gcp.GAR_IAM_BINDING,
            {
                "repository": "app-mirror",
                "role": "roles/artifactregistry.reader",
                "members": ["group:pullers@example.com", "allAuthenticatedUsers"],
            },
        ),
        also=frozenset({"no-public-grants"}),
    ),
    MirrorBreakage(
        "local-registry-loopback",
        "local",
        "mirror-on-all-interfaces",
        named("registry-mirror", lambda p: p["ports"][0].update(ip="0.0.0.0")),
        # An anonymous registry off loopback is no longer a loopback mirror.
        also=frozenset({"local-registry-auth"}),
    ),
    MirrorBreakage(
        "local-registry-loopback",
        "local",
        "mirror-ip-unset",
        named("registry-mirror", lambda p: p["ports"][0].pop("ip")),
        also=frozenset({"local-registry-auth"}),
    ),
    MirrorBreakage(
        "local-registry-auth",
        "local",
        "anonymous-registry-that-is-not-a-mirror",
        named("registry-mirror", set_key("envs", ["REGISTRY_STORAGE_DELETE_ENABLED=true"])),
    ),
    MirrorBreakage(
        "local-registry-auth",
        "local",
        "mirror-on-host-network",
        named("registry-mirror", set_key("networkMode", "host")),
        also=frozenset({"local-registry-loopback"}),
    ),
)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_rule_passes_with_the_mirror_on(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    pack: dict[str, pulumi_policy.Policy],
    cloud: str,
) -> None:
    stack = deploy_mirror(harness, monkeypatch, cloud)
    names = {r.name for r in stack}
    assert set(MIRROR_RESOURCES[cloud]) <= names, f"{cloud}: missing {MIRROR_RESOURCES[cloud]}"
    for rule in RULES:
        assert direct_violations(rule, stack) == [], f"{rule.name} on {cloud} with the mirror"
        assert pack_violations(pack[rule.name], stack) == [], f"pack's {rule.name} on {cloud}"
    # Not vacuous: the rules that guard the mirror inspect the mirror's resources.
    for name in MIRROR_RULES[cloud]:
        rule = rule_named(name)
        assert isinstance(rule, ResourceRule)
        inspected = [
            r.name
            for r in stack
            if r.name in MIRROR_RESOURCES[cloud] and r.resource_type in rule.resource_types
        ]
        assert inspected or name == "gar-not-public", f"{name} inspects nothing of the mirror"


def test_every_mirror_rule_has_a_mirror_breakage() -> None:
    guarded = {name for names in MIRROR_RULES.values() for name in names}
    assert guarded == {b.rule for b in MIRROR_BREAKAGES}


def test_every_rule_bites_on_more_than_one_kind_of_bad_value() -> None:
    """One breakage shows a rule can bite; a second kind of bad value shows it checks the
    property rather than the one spelling a test happened to use. Per rule over the whole pack
    (tests/test_policy.py and this file), and per mirror rule and target on the mirror's own
    resources."""
    kinds: dict[str, set[str]] = {name: set() for name in RULE_NAMES}
    for b in (*BREAKAGES, *MIRROR_BREAKAGES):
        kinds[b.rule].add(f"{b.cloud}:{b.id}")
    assert [name for name, ids in kinds.items() if len(ids) < 2] == []
    mirror_kinds: dict[tuple[str, str], set[str]] = {}
    for b in MIRROR_BREAKAGES:
        mirror_kinds.setdefault((b.rule, b.cloud), set()).add(b.id)
    assert [key for key, ids in mirror_kinds.items() if len(ids) < 2] == []


@pytest.mark.parametrize("breakage", MIRROR_BREAKAGES, ids=lambda b: f"{b.rule}-{b.cloud}-{b.id}")
def test_mirror_rule_bites_when_the_mirror_is_broken(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    pack: dict[str, pulumi_policy.Policy],
    breakage: MirrorBreakage,
) -> None:
    stack = breakage.breaks(deploy_mirror(harness, monkeypatch, breakage.cloud))
    rule = rule_named(breakage.rule)
    assert direct_violations(rule, stack), f"{rule.name} missed {breakage.id}"
    assert pack_violations(pack[rule.name], stack), f"the pack's {rule.name} missed {breakage.id}"
    others = {
        other.name for other in RULES if other.name != rule.name and direct_violations(other, stack)
    }
    assert others <= breakage.also, others


def test_gar_immutable_tags_still_guards_standard_repositories(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remote repository is exempt; the main one, with or without an explicit mode, is not."""
    stack = deploy_mirror(harness, monkeypatch, "gcp")
    rule = rule_named("gar-immutable-tags")
    for mode in (DELETE, "STANDARD_REPOSITORY"):
        broken = named("registry-repo", set_key("dockerConfig.immutableTags", False))(
            named("registry-repo", set_key("mode", mode))(stack)
        )
        assert direct_violations(rule, broken), mode
