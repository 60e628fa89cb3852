"""The policy pack on stacks with keyless CI push and pullPrincipals: every rule passes on what
each target registers then, the CI rules find something to inspect there, and policyuniverse
agrees with the pack about the trust policy (tests/test_policy.py shows each rule biting)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi_policy
import pytest
from policy_harness import (
    CI_STACK,
    deploy,
    direct_violations,
    first,
    load_pack,
    pack_violations,
)
from policyuniverse.policy import Policy as IamPolicy
from test_policy import CI_BREAKAGES

from conftest import Harness
from policy import RULES, ResourceRule, aws, azure, gcp, grants

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


# The same stacks with ciRepository in GitHub's immutable form, environment mode included.
IMMUTABLE_STACK: dict[str, dict[str, str]] = {
    cloud: {
        **config,
        "ciRepository": "acme@1001/app@2002",
        "ciEnvironment": "production",
        "ciSubjectIncludesRef": "true",
    }
    for cloud, config in CI_STACK.items()
}


@pytest.mark.parametrize("cloud", sorted(CI_STACK))
def test_every_rule_passes_on_the_immutable_ci_stack(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    pack: dict[str, pulumi_policy.Policy],
    cloud: str,
) -> None:
    stack = deploy(cloud, **IMMUTABLE_STACK[cloud])
    for rule in RULES:
        assert direct_violations(rule, stack) == [], f"{rule.name} on {cloud}, immutable form"
        assert pack_violations(pack[rule.name], stack) == [], f"pack's {rule.name} on {cloud}"


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
    document = json.loads(first(stack, aws.AWS_IAM_ROLE).props["assumeRolePolicy"])
    assert not IamPolicy(document).is_internet_accessible()
    breakage = next(b for b in CI_BREAKAGES if b.id == "trust-anyone")
    broken = first(breakage.breaks(stack), aws.AWS_IAM_ROLE).props["assumeRolePolicy"]
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
    found = gcp.gcp_github_provider_condition(gcp.GCP_WORKLOAD_IDENTITY_PROVIDER, props, {})
    assert (found == []) == pinned, found
    other_issuer = {**props, "oidc": {"issuerUri": "https://gitlab.com"}}
    assert (
        gcp.gcp_github_provider_condition(gcp.GCP_WORKLOAD_IDENTITY_PROVIDER, other_issuer, {})
        == []
    )


def test_acr_scope_rule_ignores_other_roles() -> None:
    props = {
        "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "scope": "/subscriptions/s",
        "principalId": "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f",
    }
    assert azure.acr_role_assignment_scoped(azure.AZURE_ROLE_ASSIGNMENT, props, {}) == []
    acr_pull = {
        **props,
        # AcrPull, as Microsoft's built-in roles page (Containers) lists it.
        "roleDefinitionId": props["roleDefinitionId"][:-36]
        + "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    }
    assert azure.acr_role_assignment_scoped(azure.AZURE_ROLE_ASSIGNMENT, acr_pull, {})


# --------------------------------------------------------------------------- each CI rule, bitten
# Each rule called directly with values that must pass and several kinds that must not.

PROVIDER_ARN = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
AUD = "token.actions.githubusercontent.com:aud"
SUB = "token.actions.githubusercontent.com:sub"
GOOD_SUBJECTS = [
    "repo:acme/app:ref:refs/heads/main",
    "repo:acme@1001/app@2002:ref:refs/heads/main",
    "repo:acme@1001/app@2002:environment:production",
    # GitHub docs, "Customizing the subject claims", [repo, context, ref, job_workflow_ref].
    "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main"
    ":job_workflow_ref:acme/app/.github/workflows/push-image.yml@refs/heads/main",
]


def _role(condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER_ARN},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    if condition is not None:
        statement["Condition"] = condition
    return {"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}


def _pinned(subject: Any) -> dict[str, Any]:
    return {"StringEquals": {AUD: "sts.amazonaws.com", SUB: subject}}


@pytest.mark.parametrize("subject", GOOD_SUBJECTS)
def test_aws_trust_rule_passes_one_repository_in_either_form(subject: str) -> None:
    assert aws.aws_github_trust_pinned(aws.AWS_IAM_ROLE, _role(_pinned(subject)), {}) == []


BAD_TRUSTS: dict[str, Any] = {
    "no condition": None,
    "no aud": {"StringEquals": {SUB: GOOD_SUBJECTS[1]}},
    "another audience": {
        "StringEquals": {AUD: "api://AzureADTokenExchange", SUB: GOOD_SUBJECTS[1]}
    },
    "a second audience": {
        "StringEquals": {AUD: ["sts.amazonaws.com", "sigstore"], SUB: GOOD_SUBJECTS[1]}
    },
    "aud only as a pattern": {
        "StringLike": {AUD: "sts.amazonaws.com"},
        "StringEquals": {SUB: GOOD_SUBJECTS[1]},
    },
    "no sub": {"StringEquals": {AUD: "sts.amazonaws.com"}},
    "sub only negated": {
        "StringEquals": {AUD: "sts.amazonaws.com"},
        "StringNotEquals": {SUB: "repo:evil/app:ref:refs/heads/main"},
    },
    "any repository": _pinned("repo:*"),
    "any repository of the owner": _pinned("repo:acme/*:ref:refs/heads/main"),
    "any repository of the owner, immutable form": _pinned("repo:acme@1001/*:ref:refs/heads/main"),
    "a one-character wildcard in the name": _pinned("repo:acme/ap?:ref:refs/heads/main"),
    "not a repository subject": _pinned("repository_owner:acme"),
    "a number": _pinned(2002),
    # Only StringEquals pins: the same exact subject under a pattern operator, or beside one.
    "an exact subject under StringLike": {
        "StringEquals": {AUD: "sts.amazonaws.com"},
        "StringLike": {SUB: GOOD_SUBJECTS[1]},
    },
    "a branch wildcard beside the exact subject": {
        "StringEquals": {AUD: "sts.amazonaws.com", SUB: GOOD_SUBJECTS[1]},
        "StringLike": {SUB: "repo:acme@1001/app@2002:ref:refs/heads/*"},
    },
    "StringEqualsIfExists": {
        "StringEquals": {AUD: "sts.amazonaws.com"},
        "StringEqualsIfExists": {SUB: GOOD_SUBJECTS[1]},
    },
    "ForAnyValue:StringLike": {
        "StringEquals": {AUD: "sts.amazonaws.com", SUB: GOOD_SUBJECTS[1]},
        "ForAnyValue:StringLike": {SUB: "repo:*"},
    },
    "a wildcard in the ref under StringEquals": _pinned("repo:acme/app:ref:refs/heads/*"),
    "a policy variable": _pinned("repo:acme/app:ref:${aws:PrincipalTag/ref}"),
}


@pytest.mark.parametrize("why", sorted(BAD_TRUSTS))
def test_aws_trust_rule_refuses(why: str) -> None:
    found = aws.aws_github_trust_pinned(aws.AWS_IAM_ROLE, _role(BAD_TRUSTS[why]), {})
    assert found, f"{why} passed"


def test_aws_trust_rule_refuses_a_document_that_is_not_json() -> None:
    props = {"assumeRolePolicy": "{not json"}
    assert aws.aws_github_trust_pinned(aws.AWS_IAM_ROLE, props, {})


GITHUB_ISSUER = {"issuerUri": "https://token.actions.githubusercontent.com"}


@pytest.mark.parametrize(
    "condition",
    [
        'assertion.repository == "acme/app"',
        'assertion.repository_owner_id == "1001" && assertion.repository_id == "2002" && '
        'assertion.ref == "refs/heads/main"',
        "assertion.repository_id=='2002'",
        '"2002" == assertion.repository_id && assertion.ref == "refs/heads/main"',
        '(assertion.repository == "acme/app" && assertion.ref == "refs/heads/main") && '
        'assertion.event_name in ["push", "workflow_dispatch"]',
        # A parenthesized `||` is one term of the conjunction; the repository term still holds.
        'assertion.repository == "acme/app" && (assertion.event_name == "push" || '
        'assertion.event_name == "workflow_dispatch")',
    ],
)
def test_gcp_condition_rule_passes_the_repository_by_name_or_id(condition: str) -> None:
    props = {"oidc": GITHUB_ISSUER, "attributeCondition": condition}
    assert gcp.gcp_github_provider_condition(gcp.GCP_WORKLOAD_IDENTITY_PROVIDER, props, {}) == []


@pytest.mark.parametrize(
    "condition",
    [
        None,
        "",
        "true",
        'assertion.repository_owner == "acme"',
        'assertion.repository_owner_id == "1001"',  # every repository of the owner
        'assertion.repository != "acme/app"',
        'assertion.repository_idx == "2002"',
        'attribute.repository == "acme/app"',
        'assertion.sub.startsWith("repo:acme/")',
        42,
        # Read as CEL, not searched for a pattern: each of these holds for any repository.
        'assertion.repository == "acme/app" || true',
        'assertion.repository_id == "2002" && assertion.ref == "refs/heads/main" || true',
        'true || assertion.repository == "acme/app"',
        '(assertion.repository == "acme/app" || true)',
        'assertion.repository == "acme/app" ? true : true',
        'assertion.repository == ""',
        "assertion.repository == assertion.repository",
        '!(assertion.repository != "acme/app")',
        "// assertion.repository == 'acme/app'\ntrue",
        'assertion.repository == "acme/app" &&',
    ],
)
def test_gcp_condition_rule_refuses(condition: Any) -> None:
    props = {"oidc": GITHUB_ISSUER, "attributeCondition": condition}
    found = gcp.gcp_github_provider_condition(gcp.GCP_WORKLOAD_IDENTITY_PROVIDER, props, {})
    assert found, f"{condition!r} passed"


@pytest.mark.parametrize("subject", GOOD_SUBJECTS)
def test_azure_subject_rule_passes_one_exact_subject(subject: str) -> None:
    props = {"subject": subject}
    assert azure.azure_federated_subject_pinned(azure.AZURE_FEDERATED_CREDENTIAL, props, {}) == []


@pytest.mark.parametrize(
    "subject",
    [
        None,
        "",
        "*",
        "repo:acme/*:ref:refs/heads/main",
        "repo:acme@1001/app@2002:ref:refs/heads/*",
        "repo:acme/app:ref:refs/heads/ma?n",
        42,
    ],
)
def test_azure_subject_rule_refuses(subject: Any) -> None:
    props = {"subject": subject}
    found = azure.azure_federated_subject_pinned(azure.AZURE_FEDERATED_CREDENTIAL, props, {})
    assert found, f"{subject!r} passed"


REGISTRY_SCOPE = (
    "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg/providers/"
    "Microsoft.ContainerRegistry/registries/appdev1234"
)
# Microsoft Learn, "Azure built-in roles for Containers": AcrPush, AcrPull, AcrDelete.
ACR_ROLES = (
    "8311e382-0749-4cb8-b61a-304f252e45ec",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
)


def _assignment(role: str, scope: Any) -> dict[str, Any]:
    return {
        "roleDefinitionId": "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/providers/"
        f"Microsoft.Authorization/roleDefinitions/{role}",
        "scope": scope,
        "principalId": "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f",
    }


@pytest.mark.parametrize("role", ACR_ROLES)
def test_acr_scope_rule_passes_the_registry(role: str) -> None:
    props = _assignment(role, REGISTRY_SCOPE)
    assert azure.acr_role_assignment_scoped(azure.AZURE_ROLE_ASSIGNMENT, props, {}) == []


@pytest.mark.parametrize("role", ACR_ROLES)
@pytest.mark.parametrize(
    "scope",
    [
        "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg",
        "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333",
        "/providers/Microsoft.Management/managementGroups/root",
        "/",
        None,
        REGISTRY_SCOPE.replace("Microsoft.ContainerRegistry/registries", "Microsoft.Storage/x"),
    ],
)
def test_acr_scope_rule_refuses(role: str, scope: Any) -> None:
    found = azure.acr_role_assignment_scoped(
        azure.AZURE_ROLE_ASSIGNMENT, _assignment(role, scope), {}
    )
    assert found, f"{role} on {scope!r} passed"


@pytest.mark.parametrize("role", ACR_ROLES)
@pytest.mark.parametrize("spelling", [str.upper, lambda r: r[:9].upper() + r[9:]])
def test_acr_scope_rule_compares_role_ids_in_any_case(
    role: str, spelling: Callable[[str], str]
) -> None:
    """ARM takes a role definition GUID in any case (GUIDs are case-insensitive), so a
    mixed-case AcrPush on the subscription is the same grant and must bite too."""
    subscription = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333"
    props = _assignment(spelling(role), subscription)
    assert props["roleDefinitionId"] != _assignment(role, subscription)["roleDefinitionId"]
    assert azure.acr_role_assignment_scoped(azure.AZURE_ROLE_ASSIGNMENT, props, {})
    assert (
        azure.acr_role_assignment_scoped(
            azure.AZURE_ROLE_ASSIGNMENT, _assignment(spelling(role), REGISTRY_SCOPE), {}
        )
        == []
    )


@pytest.mark.parametrize(
    ("mode", "refused"),
    [
        (None, False),
        # Microsoft Learn, "Azure ABAC repository permissions in Azure Container Registry".
        ("LegacyRegistryPermissions", False),
        ("AbacRepositoryPermissions", True),
        ("ABACREPOSITORYPERMISSIONS", True),
        ("", True),
    ],
)
def test_acr_classic_rbac_rule(mode: str | None, refused: bool) -> None:
    props: dict[str, Any] = {"sku": {"name": "Basic"}}
    if mode is not None:
        props["roleAssignmentMode"] = mode
    assert bool(azure.acr_classic_rbac(azure.ACR_REGISTRY, props, {})) == refused


PUBLIC_GRANTS: list[tuple[str, dict[str, Any]]] = [
    (gcp.GAR_IAM_MEMBER, {"member": "allUsers"}),
    (gcp.GAR_IAM_MEMBER, {"member": "allAuthenticatedUsers"}),
    (gcp.GAR_IAM_MEMBER, {"member": "*"}),
    (gcp.GCP_PROJECT_IAM_MEMBER, {"member": "allUsers"}),
    (gcp.GAR_IAM_BINDING, {"members": ["group:pullers@example.com", "allUsers"]}),
    (gcp.GCP_PROJECT_IAM_BINDING, {"members": ["allAuthenticatedUsers"]}),
    (
        gcp.GAR_IAM_POLICY,
        {"policyData": json.dumps({"bindings": [{"role": "r", "members": ["allUsers"]}]})},
    ),
    (azure.AZURE_ROLE_ASSIGNMENT, {"principalId": "*"}),
    (
        aws.AWS_IAM_ROLE,
        {
            "assumeRolePolicy": json.dumps(
                {
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                    ]
                }
            )
        },
    ),
    (
        aws.AWS_IAM_ROLE,
        {
            "assumeRolePolicy": json.dumps(
                {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}
            )
        },
    ),
    (
        aws.ECR_REPOSITORY_POLICY,
        {
            "policy": json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]},
                            "Action": "ecr:BatchGetImage",
                        }
                    ]
                }
            )
        },
    ),
]


@pytest.mark.parametrize(("resource_type", "props"), PUBLIC_GRANTS)
def test_no_public_grants_refuses(resource_type: str, props: dict[str, Any]) -> None:
    assert grants.no_public_grants(resource_type, props, {}), f"{resource_type} {props} passed"


@pytest.mark.parametrize(
    ("resource_type", "props"),
    [
        (gcp.GAR_IAM_MEMBER, {"member": "group:pullers@example.com"}),
        (azure.AZURE_ROLE_ASSIGNMENT, {"principalId": "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"}),
        (aws.AWS_IAM_ROLE, _role(_pinned(GOOD_SUBJECTS[1]))),
    ],
)
def test_no_public_grants_passes_named_principals(
    resource_type: str, props: dict[str, Any]
) -> None:
    assert grants.no_public_grants(resource_type, props, {}) == []
