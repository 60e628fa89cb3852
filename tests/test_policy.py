"""The container-registry-security policy pack, on what the program really registers.

For each target the program runs under the mocks with its defaults; every rule must pass on the
result. Then one guarded property at a time is broken on a copy and the rule that guards it must
report it: once through the rule in its cloud's module of policy/ (policy/aws.py, ...), once
through the pulumi_policy policy that policy/__main__.py puts in the pack (with the engine's
unknown-checking props proxy).
`BREAKAGES` covers every rule, so no rule can silently stop biting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_policy
import pytest
import tomllib
import yaml
from policy_harness import (
    CLOUDS,
    POLICY_DIR,
    Breakage,
    deploy,
    direct_violations,
    load_pack,
    pack_policies,
    pack_violations,
    rule_named,
)
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from test_policy_aws import AWS_BREAKAGES, AWS_CI_BREAKAGES
from test_policy_azure import AZURE_BREAKAGES, AZURE_CI_BREAKAGES
from test_policy_gcp import GCP_BREAKAGES, GCP_CI_BREAKAGES
from test_policy_local import LOCAL_BREAKAGES

from conftest import SECRET_VALUES, Harness, is_secret, resolve, run_target
from policy import RULE_NAMES, RULES, ResourceRule, StackRule, aws, azure

# Which targets' resources each rule inspects (all of them must be present to pass vacuously
# nowhere); gar-not-public guards IAM resources the program does not create today.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "ecr-scan-on-push": ("aws",),
    "ecr-immutable-tags": ("aws",),
    "ecr-encryption-set": ("aws",),
    "ecr-lifecycle-policy": ("aws",),
    "ecr-policy-not-public": ("aws",),
    "ecr-policy-no-admin-actions": ("aws",),
    # The mirror's rules: tests/test_mirror_policy.py runs them on stacks with `mirror: true`.
    "ecr-cache-template-encryption": (),
    "ecr-cache-template-lifecycle": (),
    "ecr-cache-template-not-public": (),
    "acr-anonymous-pull-disabled": ("azure",),
    # The mirror's Key Vault grant: tests/test_mirror_policy.py runs it with ACR credentials.
    "key-vault-role-assignment-scoped": (),
    "acr-classic-rbac": ("azure",),
    "acr-sku-allowed": ("azure",),
    "acr-untagged-cleanup": ("azure",),
    "gar-docker-format": ("gcp",),
    "gar-immutable-tags": ("gcp",),
    "gar-cleanup-policies": ("gcp",),
    "gar-not-public": (),
    "local-registry-loopback": ("local",),
    "local-registry-auth": ("local",),
    "image-platform-pinned": CLOUDS,
    "image-tag-pinned": CLOUDS,
    "image-push-credentials": CLOUDS,
}
# Keyless CI push (issue 11): these rules inspect what ciRepository and pullPrincipals create,
# which the defaults do not (tests/test_ci_policy.py runs them on those stacks).
APPLIES_TO.update(
    {
        "aws-github-oidc-trust-pinned": (),
        "gcp-github-provider-condition": (),
        "azure-federated-credential-no-wildcard": (),
        "acr-role-assignment-scoped": (),
        "no-public-grants": ("aws",),
    }
)
RULE_TYPES: dict[str, tuple[str, ...]] = {
    "ecr-lifecycle-policy": (aws.ECR_REPOSITORY,),
    "acr-untagged-cleanup": (azure.ACR_REGISTRY,),
}


# Every breakage, each cloud's from its own test module; those of keyless CI push also as
# CI_BREAKAGES (tests/test_ci_policy.py).
BREAKAGES: tuple[Breakage, ...] = (
    *AWS_BREAKAGES,
    *AZURE_BREAKAGES,
    *GCP_BREAKAGES,
    *LOCAL_BREAKAGES,
)
CI_BREAKAGES: tuple[Breakage, ...] = (*AWS_CI_BREAKAGES, *AZURE_CI_BREAKAGES, *GCP_CI_BREAKAGES)


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch) -> dict[str, pulumi_policy.Policy]:
    return pack_policies(monkeypatch)


# --------------------------------------------------------------------------- tests


def test_every_rule_has_a_breakage_and_a_scope() -> None:
    assert len(set(RULE_NAMES)) == len(RULE_NAMES), "rule names must be unique"
    broken = {b.rule for b in BREAKAGES}
    assert set(RULE_NAMES) - broken == set(), "rules no test shows biting"
    assert broken - set(RULE_NAMES) == set(), "breakages of rules that do not exist"
    assert set(APPLIES_TO) == set(RULE_NAMES)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_rule_passes_on_the_defaults(
    pack: dict[str, pulumi_policy.Policy],
    cloud: str,
) -> None:
    stack = deploy(cloud)
    for rule in RULES:
        assert direct_violations(rule, stack) == [], f"{rule.name} on {cloud}"
        assert pack_violations(pack[rule.name], stack) == [], f"pack's {rule.name} on {cloud}"
        if cloud in APPLIES_TO[rule.name]:
            types = rule.resource_types if isinstance(rule, ResourceRule) else RULE_TYPES[rule.name]
            assert any(r.resource_type in types for r in stack), (
                f"{rule.name} passed on {cloud} only because nothing it inspects was registered"
            )


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: f"{b.rule}-{b.cloud}-{b.id}")
def test_rule_bites_when_its_property_is_broken(
    pack: dict[str, pulumi_policy.Policy],
    breakage: Breakage,
) -> None:
    stack = breakage.breaks(deploy(breakage.cloud, **breakage.stack_config))
    rule = rule_named(breakage.rule)
    assert direct_violations(rule, stack, breakage.config), f"{rule.name} missed {breakage.id}"
    assert pack_violations(pack[rule.name], stack, breakage.config), (
        f"the pack's {rule.name} missed {breakage.id}"
    )
    # Only the broken rule (and nothing else) complains about a single breakage.
    others = {
        other.name
        for other in RULES
        if other.name != rule.name and direct_violations(other, stack, breakage.config)
    }
    allowed_with = {"ecr-policy-not-public", "ecr-policy-no-admin-actions", "no-public-grants"}
    assert others <= allowed_with, others


@pytest.mark.parametrize(
    ("cloud", "config", "rule"),
    [
        ("aws", {"immutableTags": "false"}, "ecr-immutable-tags"),
        ("gcp", {"immutableTags": "false"}, "gar-immutable-tags"),
    ],
)
def test_a_weaker_setting_is_caught_by_the_pack(
    cloud: str, config: dict[str, str], rule: str
) -> None:
    """A weaker choice made in config is still the program's; the mandatory pack stops it."""
    stack = deploy(cloud, **config)
    assert direct_violations(rule_named(rule), stack)


# --------------------------------------------------------------------------- the pack itself


def test_pack_holds_every_rule_mandatory_with_its_control(
    pack: dict[str, pulumi_policy.Policy],
) -> None:
    assert list(pack) == list(RULE_NAMES)
    for rule in RULES:
        policy = pack[rule.name]
        assert policy.enforcement_level == EnforcementLevel.MANDATORY, rule.name
        assert policy.description == rule.description
        expected = (
            ResourceValidationPolicy if isinstance(rule, ResourceRule) else StackValidationPolicy
        )
        assert isinstance(policy, expected), rule.name
        for control in rule.controls:
            assert re.search(rf"\b{re.escape(control)}\b", policy.description), (rule.name, control)
        if not rule.controls:
            assert "No public control" in policy.description, rule.name
    assert isinstance(rule_named("ecr-lifecycle-policy"), StackRule)
    assert isinstance(rule_named("acr-untagged-cleanup"), StackRule)


def test_pack_is_built_with_its_name_and_mandatory_enforcement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run __main__.py as the policy host does (run_name __main__), with PolicyPack recorded
    instead of serving the engine."""
    built: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: built.append(kwargs))
    load_pack(monkeypatch, run_name="__main__")
    assert len(built) == 1
    assert built[0]["name"] == "container-registry-security"
    assert built[0]["enforcement_level"] == EnforcementLevel.MANDATORY
    assert [p.name for p in built[0]["policies"]] == list(RULE_NAMES)


def test_pack_project_files() -> None:
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == "venv"
    requirements = (POLICY_DIR / "requirements.txt").read_text()
    line = re.search(r"^pulumi-policy(?P<spec>[<>=!~].*)$", requirements, re.MULTILINE)
    assert line and "<" in line["spec"] and ">" in line["spec"], "pulumi-policy needs a range"
    # The tests run the rules in venv/, which gets pulumi-policy from requirements-dev.txt.
    dev = (POLICY_DIR.parent / "requirements-dev.txt").read_text()
    assert re.search(rf"^pulumi-policy{re.escape(line['spec'])}$", dev, re.MULTILINE), (
        "ranges differ"
    )
    # pulumi comes with the package the pack installs (`-e ..`): its range is pyproject.toml's.
    assert re.search(r"^-e \.\.$", requirements, re.MULTILINE), "the pack installs the package"
    dependencies = tomllib.loads((POLICY_DIR.parent / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    pulumi = [m for d in dependencies if (m := re.match(r"pulumi(?P<spec>[<>=!~].*)$", d))]
    assert len(pulumi) == 1 and "<" in pulumi[0]["spec"] and ">" in pulumi[0]["spec"], pulumi


# --------------------------------------------------------------------------- stack outputs
#
# pulumi_policy (Python) gives stack policies neither the stack's outputs nor which values are
# secret (AnalyzeStack deserialises properties without proxy_secrets), so the "credentials are
# secret" rule lives here, on the outputs the program exports.

CREDENTIAL_NAME = re.compile(r"password|token|secret|credential", re.IGNORECASE)


def credential_output_violations(outputs: Mapping[str, Any]) -> list[str]:
    """Outputs named like a credential that are not secret, and plain outputs that carry one of
    the credentials the mocks hand out."""
    problems: list[str] = []
    for name, output in outputs.items():
        if CREDENTIAL_NAME.search(name):
            if not is_secret(output):
                problems.append(f"{name} is named like a credential but is not a secret")
            continue
        if is_secret(output):
            continue
        shown = json.dumps(resolve(output), default=str)
        problems += [
            f"{name} shows a credential in plain text" for s in SECRET_VALUES if s in shown
        ]
    return problems


@pytest.mark.parametrize("cloud", CLOUDS)
def test_credential_outputs_are_secret(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    outputs = run_target(harness, monkeypatch, cloud)
    assert any(CREDENTIAL_NAME.search(name) for name in outputs), "no credential output at all"
    assert credential_output_violations(outputs) == []


def test_credential_output_check_bites() -> None:
    plain = {"credentials": pulumi.Output.from_input({"password": SECRET_VALUES[0]})}
    assert credential_output_violations(plain)
    leaked = {"imageName": pulumi.Output.from_input(f"registry/app:{SECRET_VALUES[1]}")}
    assert credential_output_violations(leaked)
