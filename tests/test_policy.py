"""The container-registry-security policy pack, on what the program really registers.

For each target the program runs under the mocks with its defaults; every rule must pass on the
result. Then one guarded property at a time is broken on a copy and the rule that guards it must
report it: once through the pure function in policy/rules.py, once through the pulumi_policy
policy that policy/__main__.py puts in the pack (with the engine's unknown-checking props proxy).
`BREAKAGES` covers every rule, so no rule can silently stop biting.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import runpy
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_policy
import pytest
import yaml
from policyuniverse.policy import Policy as IamPolicy
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from conftest import (
    AZURE_SUBSCRIPTION,
    RESOURCE_OUTPUTS,
    SECRET_VALUES,
    Harness,
    is_secret,
    program_run,
    resolve,
    run_target,
)
from policy import rules
from policy.rules import RULE_NAMES, RULES, ResourceRule, Rule, StackRule

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
CLOUDS = ("aws", "azure", "gcp", "local")

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
    "ecr-lifecycle-policy": (rules.ECR_REPOSITORY,),
    "acr-untagged-cleanup": (rules.ACR_REGISTRY,),
}


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
    """A resource as a stack rule reads it (rules.StackResource)."""

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
    """The rule's pure function over the stack: one message per violation."""
    config = config or {}
    if isinstance(rule, ResourceRule):
        return [
            f"{r.name}: {message}"
            for r in stack
            for message in rule.check(r.resource_type, r.props, config)
        ]
    views = [StackView(r.resource_type, r.outputs, r.urn, r.dependencies) for r in stack]
    return [f"{urn}: {message}" for message, urn in rule.check(views, config)]


def load_pack(
    monkeypatch: pytest.MonkeyPatch, run_name: str = "policy_pack_under_test"
) -> dict[str, Any]:
    """policy/__main__.py's globals, run the way the Pulumi policy host runs it (policy/ first on
    sys.path); under any other run_name it does not start serving the engine."""
    monkeypatch.syspath_prepend(str(POLICY_DIR))
    monkeypatch.delitem(sys.modules, "rules", raising=False)
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


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch) -> dict[str, pulumi_policy.Policy]:
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


def ecr_policy(change: Callable[[dict[str, Any]], None]) -> Callable[[Stack], Stack]:
    """Break the ECR repository policy document: change its parsed JSON and serialise it again."""

    def changing(props: dict[str, Any]) -> None:
        document = json.loads(props["policy"])
        change(document)
        props["policy"] = json.dumps(document)

    return edit(rules.ECR_REPOSITORY_POLICY, changing)


def statement(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """Add a statement to a policy document."""
    base = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    return lambda document: document["Statement"].append({**base, **fields})


def acr_task_yaml(change: Callable[[str], str]) -> Callable[[dict[str, Any]], None]:
    def changing(props: dict[str, Any]) -> None:
        step = props["step"]
        text = base64.b64decode(step["encodedTaskContent"]).decode()
        step["encodedTaskContent"] = base64.b64encode(change(text).encode()).decode()

    return changing


def env_without(*names: str, extra: tuple[str, ...] = ()) -> Callable[[dict[str, Any]], None]:
    def changing(props: dict[str, Any]) -> None:
        kept = [e for e in props["envs"] if e.split("=", 1)[0] not in names]
        props["envs"] = [*kept, *extra]

    return changing


@dataclass(frozen=True)
class Breakage:
    rule: str
    cloud: str
    id: str
    breaks: Callable[[Stack], Stack]
    config: Mapping[str, Any] = field(default_factory=dict)
    # Stack config to deploy with before breaking (default: the target's defaults).
    stack_config: Mapping[str, str] = field(default_factory=dict)


def _image(change: Callable[[dict[str, Any]], object]) -> Callable[[Stack], Stack]:
    return edit(rules.DOCKER_IMAGE, change)


# --- keyless CI push (issue 11): broken copies of what ciRepository and pullPrincipals create
CI_STACK: dict[str, Mapping[str, str]] = {
    "aws": {"ciRepository": "acme/app"},
    "azure": {
        "ciRepository": "acme/app",
        "pullPrincipals": '["0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"]',
    },
    "gcp": {"ciRepository": "acme/app", "pullPrincipals": '["group:pullers@example.com"]'},
}
GITHUB_AUD = "token.actions.githubusercontent.com:aud"
GITHUB_SUB = "token.actions.githubusercontent.com:sub"


def trust(change: Callable[[dict[str, Any]], object]) -> Callable[[Stack], Stack]:
    """Break the GitHub trust statement of the CI role's assume-role policy."""

    def changing(props: dict[str, Any]) -> None:
        document = json.loads(props["assumeRolePolicy"])
        change(document["Statement"][0])
        props["assumeRolePolicy"] = json.dumps(document)

    return edit(rules.AWS_IAM_ROLE, changing)


def condition(operator: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Move `key` of the trust statement's StringEquals to `operator` (or drop it)."""

    def changing(statement: dict[str, Any]) -> None:
        conditions = statement["Condition"]
        conditions["StringEquals"].pop(key)
        if value is not DELETE:
            conditions.setdefault(operator, {})[key] = value

    return changing


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


CI_BREAKAGES: tuple[Breakage, ...] = (
    ci_breakage(
        "aws-github-oidc-trust-pinned",
        "aws",
        "no-aud",
        trust(condition("StringEquals", GITHUB_AUD, DELETE)),
    ),
    ci_breakage(
        "aws-github-oidc-trust-pinned",
        "aws",
        "other-aud",
        trust(condition("StringEquals", GITHUB_AUD, "api://AzureADTokenExchange")),
    ),
    ci_breakage(
        "aws-github-oidc-trust-pinned",
        "aws",
        "no-sub",
        trust(condition("StringEquals", GITHUB_SUB, DELETE)),
    ),
    ci_breakage(
        "aws-github-oidc-trust-pinned",
        "aws",
        "sub-any-repository",
        trust(condition("StringLike", GITHUB_SUB, "repo:*")),
    ),
    ci_breakage(
        "aws-github-oidc-trust-pinned",
        "aws",
        "sub-any-repository-of-owner",
        trust(condition("StringLike", GITHUB_SUB, ["repo:acme/*:ref:refs/heads/main"])),
    ),
    ci_breakage(
        "aws-github-oidc-trust-pinned",
        "aws",
        "sub-under-another-operator",
        trust(condition("StringNotEquals", GITHUB_SUB, "repo:evil/app:ref:refs/heads/main")),
    ),
    ci_breakage(
        "aws-github-oidc-trust-pinned",
        "aws",
        "no-condition",
        trust(lambda statement: statement.pop("Condition")),
    ),
    ci_breakage(
        "gcp-github-provider-condition",
        "gcp",
        "no-condition",
        edit(rules.GCP_WORKLOAD_IDENTITY_PROVIDER, set_key("attributeCondition", DELETE)),
    ),
    ci_breakage(
        "gcp-github-provider-condition",
        "gcp",
        "empty-condition",
        edit(rules.GCP_WORKLOAD_IDENTITY_PROVIDER, set_key("attributeCondition", "")),
    ),
    ci_breakage(
        "gcp-github-provider-condition",
        "gcp",
        "owner-only",
        edit(
            rules.GCP_WORKLOAD_IDENTITY_PROVIDER,
            set_key("attributeCondition", 'assertion.repository_owner == "acme"'),
        ),
    ),
    ci_breakage(
        "azure-federated-credential-no-wildcard",
        "azure",
        "repo-wildcard",
        edit(
            rules.AZURE_FEDERATED_CREDENTIAL,
            set_key("subject", "repo:acme/*:ref:refs/heads/main"),
        ),
    ),
    ci_breakage(
        "azure-federated-credential-no-wildcard",
        "azure",
        "empty",
        edit(rules.AZURE_FEDERATED_CREDENTIAL, set_key("subject", "")),
    ),
    ci_breakage(
        "acr-role-assignment-scoped",
        "azure",
        "scope-resource-group",
        edit(rules.AZURE_ROLE_ASSIGNMENT, cut_scope(5)),
    ),
    ci_breakage(
        "acr-role-assignment-scoped",
        "azure",
        "scope-subscription",
        edit(rules.AZURE_ROLE_ASSIGNMENT, cut_scope(3)),
    ),
    ci_breakage(
        "no-public-grants",
        "gcp",
        "repository-member-star",
        edit(rules.GAR_IAM_MEMBER, set_key("member", "*")),
    ),
    ci_breakage(
        "no-public-grants",
        "gcp",
        "project-all-users",
        add(
            rules.GCP_PROJECT_IAM_MEMBER,
            {"project": "my-project-123", "role": "roles/viewer", "member": "allUsers"},
        ),
    ),
    ci_breakage(
        "no-public-grants",
        "azure",
        "role-assignment-star",
        edit(rules.AZURE_ROLE_ASSIGNMENT, set_key("principalId", "*")),
    ),
    ci_breakage(
        "no-public-grants",
        "aws",
        "trust-anyone",
        trust(lambda statement: statement.update(Principal={"AWS": "*"})),
    ),
    Breakage(
        "no-public-grants",
        "aws",
        "repository-policy-anyone",
        ecr_policy(statement(Principal="*", Action="ecr:BatchGetImage")),
    ),
)

BREAKAGES: tuple[Breakage, ...] = (
    *CI_BREAKAGES,
    # ECR repository
    Breakage(
        "ecr-scan-on-push",
        "aws",
        "scan-off",
        edit(rules.ECR_REPOSITORY, set_key("imageScanningConfiguration.scanOnPush", False)),
    ),
    Breakage(
        "ecr-scan-on-push",
        "aws",
        "scan-config-missing",
        edit(rules.ECR_REPOSITORY, set_key("imageScanningConfiguration", DELETE)),
    ),
    Breakage(
        "ecr-immutable-tags",
        "aws",
        "mutable",
        edit(rules.ECR_REPOSITORY, set_key("imageTagMutability", "MUTABLE")),
    ),
    Breakage(
        "ecr-immutable-tags",
        "aws",
        "unset",
        edit(rules.ECR_REPOSITORY, set_key("imageTagMutability", DELETE)),
    ),
    Breakage(
        "ecr-encryption-set",
        "aws",
        "no-configuration",
        edit(rules.ECR_REPOSITORY, set_key("encryptionConfigurations", [])),
    ),
    Breakage(
        "ecr-encryption-set",
        "aws",
        "unknown-type",
        edit(
            rules.ECR_REPOSITORY,
            set_key("encryptionConfigurations", [{"encryptionType": "NONE"}]),
        ),
    ),
    # ECR lifecycle policy (stack)
    Breakage("ecr-lifecycle-policy", "aws", "none", drop(rules.ECR_LIFECYCLE_POLICY)),
    Breakage(
        "ecr-lifecycle-policy",
        "aws",
        "other-repository",
        edit(rules.ECR_LIFECYCLE_POLICY, set_key("repository", "someone-else")),
    ),
    Breakage(
        "ecr-lifecycle-policy",
        "aws",
        "no-rules",
        edit(rules.ECR_LIFECYCLE_POLICY, set_key("policy", json.dumps({"rules": []}))),
    ),
    # ECR repository policy
    Breakage(
        "ecr-policy-not-public",
        "aws",
        "principal-star",
        ecr_policy(statement(Principal="*", Action="ecr:BatchGetImage")),
    ),
    Breakage(
        "ecr-policy-not-public",
        "aws",
        "aws-star",
        ecr_policy(statement(Principal={"AWS": "*"}, Action="ecr:BatchGetImage")),
    ),
    Breakage(
        "ecr-policy-not-public",
        "aws",
        "star-in-list",
        ecr_policy(
            statement(
                Principal={"AWS": ["arn:aws:iam::210987654321:root", "*"]},
                Action=["ecr:BatchGetImage"],
            )
        ),
    ),
    Breakage(
        "ecr-policy-not-public",
        "aws",
        "single-statement-object",
        ecr_policy(
            lambda d: d.update(
                Statement={"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
            )
        ),
    ),
    Breakage(
        "ecr-policy-not-public",
        "aws",
        "not-principal",
        ecr_policy(
            statement(
                NotPrincipal={"AWS": "arn:aws:iam::210987654321:root"},
                Action="ecr:BatchGetImage",
            )
        ),
    ),
    Breakage(
        "ecr-policy-not-public",
        "aws",
        "not-json",
        edit(rules.ECR_REPOSITORY_POLICY, set_key("policy", "{not json")),
    ),
    *(
        Breakage(
            "ecr-policy-no-admin-actions",
            "aws",
            f"action-{action}",
            ecr_policy(statement(Action=action)),
        )
        for action in (
            "ecr:DeleteRepository",
            "ecr:BatchDeleteImage",
            "ecr:SetRepositoryPolicy",
            "ecr:DeleteRepositoryPolicy",
            "ECR:BATCHDELETEIMAGE",
            "ecr:*",
            "*",
            "ecr:Delete*",
            "ecr:Set*Policy",
            "ecr:*Delete*",
            "ecr:Batch?eleteImage",
        )
    ),
    Breakage(
        "ecr-policy-no-admin-actions",
        "aws",
        "in-list",
        ecr_policy(statement(Action=["ecr:BatchGetImage", "ecr:DeleteRepository"])),
    ),
    Breakage(
        "ecr-policy-no-admin-actions",
        "aws",
        "not-action",
        ecr_policy(statement(NotAction=["ecr:BatchGetImage"])),
    ),
    # ECR repository creation templates (the mirror); more in tests/test_mirror_policy.py
    Breakage(
        "ecr-cache-template-encryption",
        "aws",
        "unencrypted-template",
        add(
            rules.ECR_CREATION_TEMPLATE,
            {
                "prefix": "ecr-public",
                "appliedFors": ["PULL_THROUGH_CACHE"],
                "lifecyclePolicy": json.dumps({"rules": [{"rulePriority": 1}]}),
            },
        ),
    ),
    Breakage(
        "ecr-cache-template-encryption",
        "aws",
        "template-of-unknown-encryption",
        add(
            rules.ECR_CREATION_TEMPLATE,
            {
                "prefix": "ecr-public",
                "appliedFors": ["PULL_THROUGH_CACHE"],
                "encryptionConfigurations": [{"encryptionType": "NONE"}],
                "lifecyclePolicy": json.dumps({"rules": [{"rulePriority": 1}]}),
            },
        ),
    ),
    Breakage(
        "ecr-cache-template-lifecycle",
        "aws",
        "template-lifecycle-without-rules",
        add(
            rules.ECR_CREATION_TEMPLATE,
            {
                "prefix": "ecr-public",
                "appliedFors": ["PULL_THROUGH_CACHE"],
                "encryptionConfigurations": [{"encryptionType": "AES256"}],
                "lifecyclePolicy": json.dumps({"rules": []}),
            },
        ),
    ),
    Breakage(
        "ecr-cache-template-not-public",
        "aws",
        "template-policy-for-any-aws-account",
        add(
            rules.ECR_CREATION_TEMPLATE,
            {
                "prefix": "ecr-public",
                "appliedFors": ["PULL_THROUGH_CACHE"],
                "encryptionConfigurations": [{"encryptionType": "AES256"}],
                "lifecyclePolicy": json.dumps({"rules": [{"rulePriority": 1}]}),
                "repositoryPolicy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": ["arn:aws:iam::210987654321:root", "*"]},
                                "Action": ["ecr:BatchGetImage"],
                            }
                        ],
                    }
                ),
            },
        ),
    ),
    Breakage(
        "ecr-cache-template-lifecycle",
        "aws",
        "template-without-lifecycle",
        add(
            rules.ECR_CREATION_TEMPLATE,
            {
                "prefix": "ecr-public",
                "appliedFors": ["PULL_THROUGH_CACHE"],
                "encryptionConfigurations": [{"encryptionType": "AES256"}],
            },
        ),
    ),
    Breakage(
        "ecr-cache-template-not-public",
        "aws",
        "public-template-policy",
        add(
            rules.ECR_CREATION_TEMPLATE,
            {
                "prefix": "ecr-public",
                "appliedFors": ["PULL_THROUGH_CACHE"],
                "encryptionConfigurations": [{"encryptionType": "AES256"}],
                "lifecyclePolicy": json.dumps({"rules": [{"rulePriority": 1}]}),
                "repositoryPolicy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
                        ],
                    }
                ),
            },
        ),
    ),
    # Key Vault secrets roles (the mirror's credential set); more in tests/test_mirror_policy.py
    *(
        Breakage(
            "key-vault-role-assignment-scoped",
            "azure",
            kind,
            add(rules.AZURE_ROLE_ASSIGNMENT, secrets_role_assignment(scope)),
        )
        for kind, scope in (
            ("secrets-user-on-a-group", VAULT_ID.split("/providers/")[0]),
            ("secrets-user-on-the-subscription", "/".join(VAULT_ID.split("/")[:3])),
            (
                "secrets-user-on-a-storage-account",
                VAULT_ID.replace("Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts"),
            ),
        )
    ),
    Breakage(
        "key-vault-role-assignment-scoped",
        "azure",
        "administrator-on-the-subscription",
        add(
            rules.AZURE_ROLE_ASSIGNMENT,
            {
                **secrets_role_assignment("/".join(VAULT_ID.split("/")[:3])),
                # Key Vault Administrator (Microsoft's built-in roles page, Security).
                "roleDefinitionId": f"/subscriptions/{AZURE_SUBSCRIPTION}/providers/"
                "Microsoft.Authorization/roleDefinitions/00482a5a-887f-4fb3-b363-3b7fe8e74483",
            },
        ),
    ),
    # ACR
    Breakage(
        "acr-anonymous-pull-disabled",
        "azure",
        "anonymous-pull",
        edit(rules.ACR_REGISTRY, set_key("anonymousPullEnabled", True)),
    ),
    # The same switch as a string, the way a YAML or JSON value may carry it.
    Breakage(
        "acr-anonymous-pull-disabled",
        "azure",
        "anonymous-pull-as-text",
        edit(rules.ACR_REGISTRY, set_key("anonymousPullEnabled", "True")),
    ),
    # Microsoft Learn, "Azure ABAC repository permissions in Azure Container Registry": the ARM
    # value of the CLI's `--role-assignment-mode rbac-abac`.
    Breakage(
        "acr-classic-rbac",
        "azure",
        "abac",
        edit(rules.ACR_REGISTRY, set_key("roleAssignmentMode", "AbacRepositoryPermissions")),
    ),
    Breakage(
        "acr-classic-rbac",
        "azure",
        "abac-lowercase",
        edit(rules.ACR_REGISTRY, set_key("roleAssignmentMode", "abacrepositorypermissions")),
    ),
    Breakage(
        "acr-sku-allowed",
        "azure",
        "classic",
        edit(rules.ACR_REGISTRY, set_key("sku.name", "Classic")),
    ),
    Breakage(
        "acr-sku-allowed", "azure", "missing", edit(rules.ACR_REGISTRY, set_key("sku", DELETE))
    ),
    Breakage(
        "acr-sku-allowed",
        "azure",
        "configured-out",
        lambda stack: stack,
        config={"allowedSkus": ["Premium"]},
    ),
    Breakage("acr-untagged-cleanup", "azure", "no-task", drop(rules.ACR_TASK)),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "purge-keeps-untagged",
        edit(rules.ACR_TASK, acr_task_yaml(lambda text: text.replace("--untagged", ""))),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "untagged-on-another-command",
        edit(
            rules.ACR_TASK,
            acr_task_yaml(lambda text: text.replace("--untagged", "") + "- cmd: echo --untagged\n"),
        ),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "not-scheduled",
        edit(rules.ACR_TASK, set_key("trigger", DELETE)),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "timer-disabled",
        edit(
            rules.ACR_TASK,
            lambda p: p["trigger"]["timerTriggers"][0].update(status="Disabled"),
        ),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "task-disabled",
        edit(rules.ACR_TASK, set_key("status", "Disabled")),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "task-of-another-registry",
        lambda stack: [
            replace(r, props={**r.props, "registryName": "another"}, dependencies=())
            if r.resource_type == rules.ACR_TASK
            else r
            for r in stack
        ],
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "retention-disabled-no-task",
        lambda stack: drop(rules.ACR_TASK)(
            edit(rules.ACR_REGISTRY, set_key("policies.retentionPolicy.status", "disabled"))(stack)
        ),
    ),
    # Artifact Registry
    Breakage(
        "gar-docker-format", "gcp", "maven", edit(rules.GAR_REPOSITORY, set_key("format", "MAVEN"))
    ),
    Breakage(
        "gar-docker-format",
        "gcp",
        "no-format",
        edit(rules.GAR_REPOSITORY, set_key("format", DELETE)),
    ),
    Breakage(
        "gar-docker-format",
        "gcp",
        "empty-format",
        edit(rules.GAR_REPOSITORY, set_key("format", "")),
    ),
    Breakage(
        "gar-immutable-tags",
        "gcp",
        "mutable",
        edit(rules.GAR_REPOSITORY, set_key("dockerConfig.immutableTags", False)),
    ),
    Breakage(
        "gar-immutable-tags",
        "gcp",
        "no-docker-config",
        edit(rules.GAR_REPOSITORY, set_key("dockerConfig", DELETE)),
    ),
    Breakage(
        "gar-cleanup-policies",
        "gcp",
        "none",
        edit(rules.GAR_REPOSITORY, set_key("cleanupPolicies", DELETE)),
    ),
    Breakage(
        "gar-cleanup-policies",
        "gcp",
        "dry-run",
        edit(rules.GAR_REPOSITORY, set_key("cleanupPolicyDryRun", True)),
    ),
    Breakage(
        "gar-not-public",
        "gcp",
        "member-all-users",
        add(rules.GAR_IAM_MEMBER, {"repository": "app", "member": "allUsers"}),
    ),
    Breakage(
        "gar-not-public",
        "gcp",
        "binding-all-authenticated",
        add(
            rules.GAR_IAM_BINDING,
            {"repository": "app", "members": ["user:ops@example.com", "allAuthenticatedUsers"]},
        ),
    ),
    Breakage(
        "gar-not-public",
        "gcp",
        "policy-all-users",
        add(
            rules.GAR_IAM_POLICY,
            {
                "repository": "app",
                "policyData": json.dumps(
                    {
                        "bindings": [
                            {"role": "roles/artifactregistry.reader", "members": ["allUsers"]}
                        ]
                    }
                ),
            },
        ),
    ),
    # Local registry
    Breakage(
        "local-registry-loopback",
        "local",
        "ip-unset",
        edit(rules.DOCKER_CONTAINER, lambda p: p["ports"][0].pop("ip")),
    ),
    Breakage(
        "local-registry-loopback",
        "local",
        "all-interfaces",
        edit(rules.DOCKER_CONTAINER, lambda p: p["ports"][0].update(ip="0.0.0.0")),
    ),
    Breakage(
        "local-registry-loopback",
        "local",
        "host-network",
        edit(rules.DOCKER_CONTAINER, set_key("networkMode", "host")),
    ),
    Breakage(
        "local-registry-auth",
        "local",
        "auth-unset",
        edit(rules.DOCKER_CONTAINER, env_without("REGISTRY_AUTH")),
    ),
    Breakage(
        "local-registry-auth",
        "local",
        "auth-silly",
        edit(rules.DOCKER_CONTAINER, env_without("REGISTRY_AUTH", extra=("REGISTRY_AUTH=silly",))),
    ),
    Breakage(
        "local-registry-auth",
        "local",
        "no-htpasswd-path",
        edit(rules.DOCKER_CONTAINER, env_without("REGISTRY_AUTH_HTPASSWD_PATH")),
    ),
    Breakage(
        "local-registry-auth",
        "local",
        "only-image-name-left",
        edit(
            rules.DOCKER_CONTAINER,
            lambda p: p.update(envs=[], image="docker.io/library/registry:2.8.3"),
        ),
    ),
    # Images, on every target
    *(
        b
        for cloud in CLOUDS
        for b in (
            Breakage(
                "image-platform-pinned",
                cloud,
                "no-platform",
                _image(set_key("build.platform", DELETE)),
            ),
            Breakage(
                "image-platform-pinned",
                cloud,
                "empty-platform",
                _image(set_key("build.platform", "")),
            ),
            Breakage(
                "image-tag-pinned",
                cloud,
                "latest",
                _image(lambda p: p.update(imageName=p["imageName"].rsplit(":", 1)[0] + ":latest")),
            ),
            Breakage(
                "image-tag-pinned",
                cloud,
                "untagged",
                _image(lambda p: p.update(imageName=p["imageName"].rsplit(":", 1)[0])),
            ),
            Breakage(
                "image-tag-pinned",
                cloud,
                "empty-tag",
                _image(lambda p: p.update(imageName=p["imageName"].rsplit(":", 1)[0] + ":")),
            ),
            Breakage(
                "image-push-credentials",
                cloud,
                "no-password",
                _image(set_key("registry.password", DELETE)),
            ),
            Breakage(
                "image-push-credentials", cloud, "no-registry", _image(set_key("registry", DELETE))
            ),
        )
    ),
)


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


@pytest.mark.parametrize("sku", ["Basic", "Standard", "Premium"])
def test_acr_every_sku_cleans_up_untagged_images(sku: str) -> None:
    """Premium uses the registry's retention policy, the others the `acr purge` task."""
    stack = deploy("azure", acrSku=sku)
    for rule in RULES:
        assert direct_violations(rule, stack) == [], f"{rule.name} with acrSku={sku}"


def test_acr_task_found_by_dependency_when_outputs_lack_registry_name() -> None:
    """azure-native outputs may carry the registry's `name` but not the `registryName` path
    parameter; a purge task that depends on the registry still counts."""
    stack = deploy("azure")
    stack = [
        replace(r, state={k: v for k, v in r.outputs.items() if k != "registryName"})
        if r.resource_type in (rules.ACR_REGISTRY, rules.ACR_TASK)
        else r
        for r in stack
    ]
    registry = first(stack, rules.ACR_REGISTRY)
    assert registry.state is not None
    registry.state["name"] = registry.props["registryName"]
    rule = rule_named("acr-untagged-cleanup")
    assert direct_violations(rule, stack) == []
    undepended = [replace(r, dependencies=()) for r in stack]
    assert direct_violations(rule, undepended)


@pytest.mark.parametrize(
    ("policy_statement", "grants_admin"),
    [
        ({"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}, False),
        (
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::210987654321:role/puller"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            },
            False,
        ),
        # The wildcard is expanded, not trusted: it also matches ecr:BatchDeleteImage.
        (
            {
                "Effect": "Allow",
                "Principal": {"Service": "codebuild.amazonaws.com"},
                "Action": "ecr:Batch*Image",
            },
            True,
        ),
    ],
    ids=["deny-all-to-everyone", "pull-for-an-account", "wildcard-over-batch"],
)
def test_ecr_policy_rules_on_hand_written_statements(
    policy_statement: dict[str, Any], grants_admin: bool
) -> None:
    document = {"Version": "2012-10-17", "Statement": [policy_statement]}
    props = {"repository": "app", "policy": json.dumps(document)}
    assert rules.ecr_policy_not_public(rules.ECR_REPOSITORY_POLICY, props, {}) == []
    admin = rules.ecr_policy_no_admin_actions(rules.ECR_REPOSITORY_POLICY, props, {})
    assert bool(admin) == grants_admin, admin


def test_ecr_public_principals_agree_with_policyuniverse() -> None:
    """policyuniverse (Netflix's IAM policy library) is the second opinion, kept in the tests so
    the pack needs nothing beyond the standard library: it finds the program's policy private and
    every public breakage public. (Ours is stricter: a Condition never excuses '*'.)"""
    stack = deploy("aws")
    document = json.loads(first(stack, rules.ECR_REPOSITORY_POLICY).props["policy"])
    assert not IamPolicy(document).is_internet_accessible()
    public = [
        b
        for b in BREAKAGES
        if b.rule == "ecr-policy-not-public" and b.id not in ("not-json", "not-principal")
    ]
    assert public
    for breakage in public:
        broken = first(breakage.breaks(stack), rules.ECR_REPOSITORY_POLICY).props["policy"]
        assert IamPolicy(json.loads(broken)).is_internet_accessible(), breakage.id


def test_unknown_values_are_not_reported_as_violations(
    pack: dict[str, pulumi_policy.Policy],
) -> None:
    """During preview a property may be unknown: the policy raises the SDK's UnknownValueError
    (the engine shows it as advisory and checks again on update) instead of a false violation."""
    stack = edit(rules.ECR_REPOSITORY, set_key("imageTagMutability", UNKNOWN_STRING_VALUE))(
        deploy("aws")
    )
    with pytest.raises(UnknownValueError):
        pack_violations(pack["ecr-immutable-tags"], stack)


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
    for package in ("pulumi", "pulumi-policy"):
        line = re.search(rf"^{package}(?P<spec>[<>=!~].*)$", requirements, re.MULTILINE)
        assert line and "<" in line["spec"] and ">" in line["spec"], f"{package} needs a range"


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
