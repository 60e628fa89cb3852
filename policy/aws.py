"""Amazon ECR and IAM: the repository, its policies, the pull-through cache's creation templates,
and the role keyless CI push assumes."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

# The program's own values, taken from its package (container_registry) in this one place.
from container_registry.aws.options import STS_AUDIENCE
from container_registry.github_pins import GITHUB_OIDC_HOST
from policy.common import (
    NO_CONTROL,
    ByType,
    Config,
    Props,
    allowing_statements,
    as_list,
    flag_is_true,
    get,
    items,
    parse_json,
    public_principals,
    rule,
    stack_rule,
)

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ECR_CREATION_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
AWS_IAM_ROLE = "aws:iam/role:Role"

# ECR's encryption types (the API's EncryptionConfiguration.encryptionType).
ENCRYPTION_TYPES: tuple[str, ...] = ("AES256", "KMS", "KMS_DSSE")
# Actions a repository policy must never grant: they delete images or the repository, or change
# who may do so. The program grants none of them; compared case-insensitively, with the policy's
# own wildcards expanded.
FORBIDDEN_ECR_ACTIONS: tuple[str, ...] = (
    "ecr:DeleteRepository",
    "ecr:BatchDeleteImage",
    "ecr:SetRepositoryPolicy",
    "ecr:DeleteRepositoryPolicy",
    "ecr:PutLifecyclePolicy",
    "ecr:DeleteLifecyclePolicy",
)
GITHUB_AUDIENCE_AWS = STS_AUDIENCE
# `repo:<owner>/<name>:...`, or GitHub's immutable `repo:<owner>@<id>/<name>@<id>:...`: one
# exact subject, free of IAM's wildcards (`*`, `?`) and policy variables (`${...}`) throughout.
_GITHUB_SUBJECT = re.compile(r"repo:[^/*?:$]+/[^/*?:$]+:[^*?$]+")


# --------------------------------------------------------------------------- the repository


@rule(
    "ecr-scan-on-push",
    types=(ECR_REPOSITORY,),
    description="ECR repositories scan images on push (AWS Security Hub ECR.1; checkov "
    "CKV_AWS_163).",
    controls=("ECR.1", "CKV_AWS_163"),
)
def ecr_scan_on_push(resource_type: str, props: Props, config: Config) -> list[str]:
    return flag_is_true(props, "imageScanningConfiguration", "scanOnPush")


@rule(
    "ecr-immutable-tags",
    types=(ECR_REPOSITORY,),
    description="ECR repositories refuse to overwrite a pushed tag "
    "(AWS Security Hub ECR.2; checkov CKV_AWS_51).",
    controls=("ECR.2", "CKV_AWS_51"),
)
def ecr_immutable_tags(resource_type: str, props: Props, config: Config) -> list[str]:
    value = props.get("imageTagMutability")
    if value != "IMMUTABLE":
        return [f"imageTagMutability is {value!r}; it must be 'IMMUTABLE'"]
    return []


def _encryption_set(props: Props) -> list[str]:
    configurations = items(props.get("encryptionConfigurations"))
    if not configurations:
        return ["encryptionConfigurations is not set; set encryptionType AES256 or KMS"]
    return [
        f"encryptionConfigurations[{index}].encryptionType is {kind!r}; "
        f"it must be one of {', '.join(ENCRYPTION_TYPES)}"
        for index, configuration in enumerate(configurations)
        if (kind := get(configuration, "encryptionType")) not in ENCRYPTION_TYPES
    ]


@rule(
    "ecr-encryption-set",
    types=(ECR_REPOSITORY,),
    description="ECR repositories set their encryption explicitly, AES256 or KMS (mirrors checkov "
    "CKV_AWS_136, which asks for KMS; AES256 is accepted here).",
    controls=("CKV_AWS_136",),
)
def ecr_encryption_set(resource_type: str, props: Props, config: Config) -> list[str]:
    return _encryption_set(props)


@stack_rule(
    "ecr-lifecycle-policy",
    types=(ECR_REPOSITORY, ECR_LIFECYCLE_POLICY),
    description="Every ECR repository has a lifecycle policy with rules attached (AWS Security "
    "Hub ECR.3).",
    controls=("ECR.3",),
)
def ecr_lifecycle_policy(by_type: ByType, config: Config) -> list[tuple[str, str | None]]:
    """Every repository has a lifecycle policy with at least one rule, attached by name."""
    attached: dict[str, list[str]] = {}
    for resource in by_type[ECR_LIFECYCLE_POLICY]:
        repository = resource.props.get("repository")
        document, _ = parse_json(resource.props.get("policy"))
        rules = items(get(document, "rules"))
        if isinstance(repository, str):
            attached.setdefault(repository, []).extend(str(rule) for rule in rules)
    violations: list[tuple[str, str | None]] = []
    for resource in by_type[ECR_REPOSITORY]:
        name = resource.props.get("name")
        if name not in attached:
            violations.append(
                (f"ECR repository {name!r} has no lifecycle policy attached", resource.urn)
            )
        elif not attached[name]:
            violations.append(
                (f"the lifecycle policy of ECR repository {name!r} has no rules", resource.urn)
            )
    return violations


# --------------------------------------------------------------------------- repository policies


def _policy_document(props: Props, key: str = "policy") -> tuple[Any, list[str]]:
    """The IAM policy document at `key`, or None and why it cannot be read."""
    document, problem = parse_json(props.get(key))
    if problem is not None:
        return None, [f"{key} {problem}"]
    if not isinstance(document, Mapping):
        return None, [f"{key} is not a JSON object"]
    return document, []


def _not_public(document: Any, prefix: str = "") -> list[str]:
    messages: list[str] = []
    for index, statement in allowing_statements(document):
        public = public_principals(get(statement, "Principal"))
        if public:
            messages.append(
                f"{prefix}Statement[{index}] allows the principal {public[0]!r} (anyone)"
            )
        if get(statement, "NotPrincipal") is not None:
            messages.append(
                f"{prefix}Statement[{index}] allows with NotPrincipal, i.e. everyone but the "
                "listed ones"
            )
    return messages


@rule(
    "ecr-policy-not-public",
    types=(ECR_REPOSITORY_POLICY,),
    description="ECR repository policies never allow Principal '*' or a wildcard principal "
    "(checkov CKV_AWS_32).",
    controls=("CKV_AWS_32",),
)
def ecr_policy_not_public(resource_type: str, props: Props, config: Config) -> list[str]:
    document, messages = _policy_document(props)
    return messages + _not_public(document)


def _matches(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


@rule(
    "ecr-policy-no-admin-actions",
    types=(ECR_REPOSITORY_POLICY,),
    description="ECR repository policies never grant delete or policy actions, wildcards "
    "included. " + NO_CONTROL,
)
def ecr_policy_no_admin_actions(resource_type: str, props: Props, config: Config) -> list[str]:
    document, messages = _policy_document(props)
    for index, statement in allowing_statements(document):
        actions = [a for a in as_list(get(statement, "Action")) if isinstance(a, str)]
        granted = [f for f in FORBIDDEN_ECR_ACTIONS if _matches(actions, f)]
        not_actions = get(statement, "NotAction")
        if not_actions is not None:
            excluded = [a for a in as_list(not_actions) if isinstance(a, str)]
            granted += [f for f in FORBIDDEN_ECR_ACTIONS if not _matches(excluded, f)]
        if granted:
            messages.append(
                f"Statement[{index}] grants {', '.join(dict.fromkeys(granted))}; delete and "
                "policy actions stay with IAM"
            )
    return messages


# --------------------------------------------------------------------------- pull-through cache
# Repository creation templates shape every repository the cache creates (applied for
# PULL_THROUGH_CACHE); those repositories are not resources of the stack, so the template is
# where their encryption, lifecycle and policy are checked.


@rule(
    "ecr-cache-template-encryption",
    types=(ECR_CREATION_TEMPLATE,),
    description="ECR repository creation templates (the pull-through cache's repositories) set "
    "their encryption explicitly, AES256 or KMS; the counterpart of ecr-encryption-set (checkov "
    "CKV_AWS_136).",
    controls=("CKV_AWS_136",),
)
def ecr_template_encryption_set(resource_type: str, props: Props, config: Config) -> list[str]:
    return _encryption_set(props)


@rule(
    "ecr-cache-template-lifecycle",
    types=(ECR_CREATION_TEMPLATE,),
    description="ECR repository creation templates (the pull-through cache's repositories) carry "
    "a lifecycle policy with rules; the counterpart of AWS Security Hub ECR.3.",
    controls=("ECR.3",),
)
def ecr_template_lifecycle_policy(resource_type: str, props: Props, config: Config) -> list[str]:
    document, problem = parse_json(props.get("lifecyclePolicy"))
    if problem is not None:
        return [f"lifecyclePolicy {problem}; cached images would never expire"]
    if not items(get(document, "rules")):
        return ["lifecyclePolicy has no rules; cached images would never expire"]
    return []


@rule(
    "ecr-cache-template-not-public",
    types=(ECR_CREATION_TEMPLATE,),
    description="ECR repository creation templates never give the repositories they create a "
    "policy that allows Principal '*' or a wildcard principal (checkov CKV_AWS_32).",
    controls=("CKV_AWS_32",),
)
def ecr_template_not_public(resource_type: str, props: Props, config: Config) -> list[str]:
    if props.get("repositoryPolicy") in (None, ""):
        return []
    document, messages = _policy_document(props, "repositoryPolicy")
    return messages or _not_public(document, prefix="repositoryPolicy ")


# --------------------------------------------------------------------------- keyless CI push


def _condition_values(statement: Any, operators: tuple[str, ...], key: str) -> list[Any] | None:
    """The values a statement's Condition gives `key` under any of `operators`, or None when
    none of them names it. Condition keys are case-insensitive in IAM."""
    found: list[Any] | None = None
    condition = get(statement, "Condition")
    if not isinstance(condition, Mapping):
        return None
    for operator, entries in condition.items():  # pyright: ignore[reportUnknownVariableType]
        if operator not in operators or not isinstance(entries, Mapping):
            continue
        for name, values in entries.items():  # pyright: ignore[reportUnknownVariableType]
            if isinstance(name, str) and name.lower() == key:
                found = (found or []) + as_list(values)
    return found


def _operators_naming(statement: Any, key: str) -> list[str]:
    """Every condition operator of a statement that names `key` (case-insensitively)."""
    condition = get(statement, "Condition")
    if not isinstance(condition, Mapping):
        return []
    return [
        str(operator)
        for operator, entries in condition.items()  # pyright: ignore[reportUnknownVariableType]
        if isinstance(entries, Mapping)
        and any(isinstance(name, str) and name.lower() == key for name in entries)  # pyright: ignore[reportUnknownVariableType]
    ]


def _trusts_github(statement: Any) -> bool:
    federated = as_list(get(statement, "Principal", "Federated"))
    return any(isinstance(p, str) and p.endswith(f"/{GITHUB_OIDC_HOST}") for p in federated)


@rule(
    "aws-github-oidc-trust-pinned",
    types=(AWS_IAM_ROLE,),
    description="IAM roles trusting GitHub's OIDC provider pin aud to sts.amazonaws.com and sub "
    "with StringEquals to exact subjects of one repository, no other operator, wildcard or "
    "policy variable (GitHub and AWS guidance). " + NO_CONTROL,
)
def aws_github_trust_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    """A role trusting GitHub's OIDC provider pins `aud` to STS and `sub`, with StringEquals
    alone, to exact subjects of one repository."""
    document, problem = parse_json(props.get("assumeRolePolicy"))
    if problem is not None:
        return [f"assumeRolePolicy {problem}"]
    messages: list[str] = []
    for index, statement in allowing_statements(document):
        if not _trusts_github(statement):
            continue
        audiences = _condition_values(statement, ("StringEquals",), f"{GITHUB_OIDC_HOST}:aud")
        if not audiences or any(a != GITHUB_AUDIENCE_AWS for a in audiences):
            messages.append(
                f"Statement[{index}] trusts GitHub's OIDC provider without StringEquals "
                f"{GITHUB_OIDC_HOST}:aud = {GITHUB_AUDIENCE_AWS!r} (got {audiences!r})"
            )
        subjects = _condition_values(statement, ("StringEquals",), f"{GITHUB_OIDC_HOST}:sub")
        if not subjects:
            messages.append(
                f"Statement[{index}] trusts GitHub's OIDC provider without StringEquals on "
                f"{GITHUB_OIDC_HOST}:sub: every GitHub repository could assume the role"
            )
        for operator in _operators_naming(statement, f"{GITHUB_OIDC_HOST}:sub"):
            if operator != "StringEquals":
                messages.append(
                    f"Statement[{index}] compares {GITHUB_OIDC_HOST}:sub with {operator}: only "
                    "StringEquals to exact subjects pins it (StringLike matches patterns, an "
                    "...IfExists or negated operator passes other tokens)"
                )
        for subject in subjects or []:
            if not isinstance(subject, str) or not _GITHUB_SUBJECT.fullmatch(subject):
                messages.append(
                    f"Statement[{index}] allows the subject {subject!r}: it must be one exact "
                    "subject of one repository (repo:<owner>/<name>:...) with no wildcard or "
                    "policy variable in it"
                )
    return messages
