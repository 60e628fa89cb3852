"""The policy pack's AWS rules (policy/aws.py) shown biting: broken copies of what the
program registers for ECR and the CI role, and ECR policy statements checked against
policyuniverse."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi_policy
import pytest
from policy_harness import (
    DELETE,
    Breakage,
    Stack,
    add,
    ci_breakage,
    deploy,
    drop,
    edit,
    first,
    pack_policies,
    pack_violations,
    set_key,
)
from policyuniverse.policy import Policy as IamPolicy
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from policy import aws


def ecr_policy(change: Callable[[dict[str, Any]], None]) -> Callable[[Stack], Stack]:
    """Break the ECR repository policy document: change its parsed JSON and serialise it again."""

    def changing(props: dict[str, Any]) -> None:
        document = json.loads(props["policy"])
        change(document)
        props["policy"] = json.dumps(document)

    return edit(aws.ECR_REPOSITORY_POLICY, changing)


def statement(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """Add a statement to a policy document."""
    base = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    return lambda document: document["Statement"].append({**base, **fields})


GITHUB_AUD = "token.actions.githubusercontent.com:aud"
GITHUB_SUB = "token.actions.githubusercontent.com:sub"


def trust(change: Callable[[dict[str, Any]], object]) -> Callable[[Stack], Stack]:
    """Break the GitHub trust statement of the CI role's assume-role policy."""

    def changing(props: dict[str, Any]) -> None:
        document = json.loads(props["assumeRolePolicy"])
        change(document["Statement"][0])
        props["assumeRolePolicy"] = json.dumps(document)

    return edit(aws.AWS_IAM_ROLE, changing)


def condition(operator: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Move `key` of the trust statement's StringEquals to `operator` (or drop it)."""

    def changing(statement: dict[str, Any]) -> None:
        conditions = statement["Condition"]
        conditions["StringEquals"].pop(key)
        if value is not DELETE:
            conditions.setdefault(operator, {})[key] = value

    return changing


# Keyless CI push (issue 11): broken copies of what CI_STACK['aws'] creates.
AWS_CI_BREAKAGES: tuple[Breakage, ...] = (
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
    # The program's own subject, exact, under a pattern operator: the rule wants StringEquals.
    ci_breakage(
        "aws-github-oidc-trust-pinned",
        "aws",
        "sub-exact-but-string-like",
        trust(condition("StringLike", GITHUB_SUB, "repo:acme/app:ref:refs/heads/main")),
    ),
    ci_breakage(
        "aws-github-oidc-trust-pinned",
        "aws",
        "sub-branch-wildcard-under-string-equals-and-like",
        trust(
            lambda statement: (
                statement["Condition"]
                .setdefault("StringLike", {})
                .update({GITHUB_SUB: "repo:acme/app:ref:refs/heads/*"})
            )
        ),
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
AWS_BREAKAGES: tuple[Breakage, ...] = (
    *AWS_CI_BREAKAGES,
    # ECR repository
    Breakage(
        "ecr-scan-on-push",
        "aws",
        "scan-off",
        edit(aws.ECR_REPOSITORY, set_key("imageScanningConfiguration.scanOnPush", False)),
    ),
    Breakage(
        "ecr-scan-on-push",
        "aws",
        "scan-config-missing",
        edit(aws.ECR_REPOSITORY, set_key("imageScanningConfiguration", DELETE)),
    ),
    Breakage(
        "ecr-immutable-tags",
        "aws",
        "mutable",
        edit(aws.ECR_REPOSITORY, set_key("imageTagMutability", "MUTABLE")),
    ),
    Breakage(
        "ecr-immutable-tags",
        "aws",
        "unset",
        edit(aws.ECR_REPOSITORY, set_key("imageTagMutability", DELETE)),
    ),
    Breakage(
        "ecr-encryption-set",
        "aws",
        "no-configuration",
        edit(aws.ECR_REPOSITORY, set_key("encryptionConfigurations", [])),
    ),
    Breakage(
        "ecr-encryption-set",
        "aws",
        "unknown-type",
        edit(
            aws.ECR_REPOSITORY,
            set_key("encryptionConfigurations", [{"encryptionType": "NONE"}]),
        ),
    ),
    # ECR lifecycle policy (stack)
    Breakage("ecr-lifecycle-policy", "aws", "none", drop(aws.ECR_LIFECYCLE_POLICY)),
    Breakage(
        "ecr-lifecycle-policy",
        "aws",
        "other-repository",
        edit(aws.ECR_LIFECYCLE_POLICY, set_key("repository", "someone-else")),
    ),
    Breakage(
        "ecr-lifecycle-policy",
        "aws",
        "no-rules",
        edit(aws.ECR_LIFECYCLE_POLICY, set_key("policy", json.dumps({"rules": []}))),
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
        edit(aws.ECR_REPOSITORY_POLICY, set_key("policy", "{not json")),
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
            aws.ECR_CREATION_TEMPLATE,
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
            aws.ECR_CREATION_TEMPLATE,
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
            aws.ECR_CREATION_TEMPLATE,
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
            aws.ECR_CREATION_TEMPLATE,
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
            aws.ECR_CREATION_TEMPLATE,
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
            aws.ECR_CREATION_TEMPLATE,
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
)


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch) -> dict[str, pulumi_policy.Policy]:
    return pack_policies(monkeypatch)


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
    assert aws.ecr_policy_not_public(aws.ECR_REPOSITORY_POLICY, props, {}) == []
    admin = aws.ecr_policy_no_admin_actions(aws.ECR_REPOSITORY_POLICY, props, {})
    assert bool(admin) == grants_admin, admin


def test_ecr_public_principals_agree_with_policyuniverse() -> None:
    """policyuniverse (Netflix's IAM policy library) is the second opinion, kept in the tests so
    the pack needs nothing beyond the standard library: it finds the program's policy private and
    every public breakage public. (Ours is stricter: a Condition never excuses '*'.)"""
    stack = deploy("aws")
    document = json.loads(first(stack, aws.ECR_REPOSITORY_POLICY).props["policy"])
    assert not IamPolicy(document).is_internet_accessible()
    public = [
        b
        for b in AWS_BREAKAGES
        if b.rule == "ecr-policy-not-public" and b.id not in ("not-json", "not-principal")
    ]
    assert public
    for breakage in public:
        broken = first(breakage.breaks(stack), aws.ECR_REPOSITORY_POLICY).props["policy"]
        assert IamPolicy(json.loads(broken)).is_internet_accessible(), breakage.id


def test_unknown_values_are_not_reported_as_violations(
    pack: dict[str, pulumi_policy.Policy],
) -> None:
    """During preview a property may be unknown: the policy raises the SDK's UnknownValueError
    (the engine shows it as advisory and checks again on update) instead of a false violation."""
    stack = edit(aws.ECR_REPOSITORY, set_key("imageTagMutability", UNKNOWN_STRING_VALUE))(
        deploy("aws")
    )
    with pytest.raises(UnknownValueError):
        pack_violations(pack["ecr-immutable-tags"], stack)
