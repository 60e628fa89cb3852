"""Google Artifact Registry and IAM: the repository, who is granted it, and the workload identity
provider keyless CI push signs in through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import celpy
from celpy.celparser import CELParseError
from celpy.celtypes import StringType
from lark import Token, Tree

# The program's own values, taken from its package (container_registry) in this one place.
from container_registry.github_pins import GITHUB_OIDC_ISSUER
from policy.common import (
    NO_CONTROL,
    Config,
    Props,
    as_list,
    flag_is_true,
    get,
    is_true,
    items,
    parse_json,
    rule,
)

GAR_REPOSITORY = "gcp:artifactregistry/repository:Repository"
GAR_IAM_MEMBER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
GAR_IAM_BINDING = "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding"
GAR_IAM_POLICY = "gcp:artifactregistry/repositoryIamPolicy:RepositoryIamPolicy"
GCP_WORKLOAD_IDENTITY_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
GCP_PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
GCP_PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding"

PUBLIC_GCP_MEMBERS: tuple[str, ...] = ("allUsers", "allAuthenticatedUsers")
# The claims that name one repository: by name, or by its immutable numeric ID (never the owner
# alone).
REPOSITORY_CLAIMS: tuple[str, ...] = ("repository", "repository_id")


# --------------------------------------------------------------------------- the repository


@rule(
    "gar-docker-format",
    types=(GAR_REPOSITORY,),
    description="Artifact Registry repositories hold Docker images (format DOCKER). " + NO_CONTROL,
)
def gar_docker_format(resource_type: str, props: Props, config: Config) -> list[str]:
    value = props.get("format")
    if not isinstance(value, str) or value.upper() != "DOCKER":
        return [f"format is {value!r}; it must be 'DOCKER'"]
    return []


@rule(
    "gar-immutable-tags",
    types=(GAR_REPOSITORY,),
    description="Artifact Registry standard repositories refuse to overwrite a pushed tag "
    "(dockerConfig.immutableTags); a remote repository's tags follow its upstream. No public "
    "control; the counterpart of AWS Security Hub ECR.2.",
)
def gar_immutable_tags(resource_type: str, props: Props, config: Config) -> list[str]:
    """Standard repositories only: a remote repository (a pull-through cache) holds what its
    upstream serves, so its tags follow upstream and it takes no pushes to protect."""
    if props.get("mode") not in (None, "STANDARD_REPOSITORY"):
        return []
    return flag_is_true(props, "dockerConfig", "immutableTags")


@rule(
    "gar-cleanup-policies",
    types=(GAR_REPOSITORY,),
    description="Artifact Registry repositories have cleanup policies that are not a dry run. "
    "No public control; the counterpart of AWS Security Hub ECR.3.",
)
def gar_cleanup_policies(resource_type: str, props: Props, config: Config) -> list[str]:
    messages: list[str] = []
    if not items(props.get("cleanupPolicies")):
        messages.append("cleanupPolicies is empty; untagged and old images are never deleted")
    dry_run = props.get("cleanupPolicyDryRun")
    if is_true(dry_run):
        messages.append(
            f"cleanupPolicyDryRun is {dry_run!r}; the cleanup policies would only be simulated"
        )
    return messages


# --------------------------------------------------------------------------- IAM

MemberReader = Callable[[Props], tuple[list[Any], list[str]]]


def _member(props: Props) -> tuple[list[Any], list[str]]:
    return as_list(props.get("member")), []


def _members(props: Props) -> tuple[list[Any], list[str]]:
    return as_list(props.get("members")), []


def _bound_members(props: Props) -> tuple[list[Any], list[str]]:
    """The members of every binding of an IAM policy document (policyData)."""
    document, problem = parse_json(props.get("policyData"))
    if problem is not None:
        return [], [f"policyData {problem}"]
    members = [
        member
        for binding in items(get(document, "bindings"))
        for member in as_list(get(binding, "members"))
    ]
    return members, []


# Who each IAM resource grants, and why its grant cannot be read.
IAM_MEMBERS: dict[str, MemberReader] = {
    GAR_IAM_MEMBER: _member,
    GAR_IAM_BINDING: _members,
    GAR_IAM_POLICY: _bound_members,
    GCP_PROJECT_IAM_MEMBER: _member,
    GCP_PROJECT_IAM_BINDING: _members,
}


@rule(
    "gar-not-public",
    types=(GAR_IAM_MEMBER, GAR_IAM_BINDING, GAR_IAM_POLICY),
    description="Artifact Registry IAM never grants allUsers or allAuthenticatedUsers "
    "(checkov CKV_GCP_101).",
    controls=("CKV_GCP_101",),
)
def gar_not_public(resource_type: str, props: Props, config: Config) -> list[str]:
    members, problems = IAM_MEMBERS[resource_type](props)
    if problems:
        return problems
    public = [m for m in members if m in PUBLIC_GCP_MEMBERS]
    if public:
        return [f"grants {', '.join(public)} access to the repository"]
    return []


# --------------------------------------------------------------------------- keyless CI push


# The condition is read as Google reads it, as CEL (cel-python's parser, the grammar of
# cel-spec): a term only holds the condition to a repository when the whole condition is a chain
# of `&&` with that term in it, so `... || true` or a ternary never passes for a pinned one.
_CEL = celpy.Environment()
# Grammar rules that wrap a single operand (celpy/cel.lark): unwrapped to reach the operand.
_WRAPPERS = ("expr", "conditionalor", "conditionaland", "relation", "addition")
_WRAPPERS += ("multiplication", "unary", "member", "primary", "paren_expr")


def _only_child(node: Tree[Token]) -> Tree[Token] | None:
    children = node.children
    if len(children) == 1 and isinstance(children[0], Tree):
        return children[0]
    return None


def _unwrap(node: Tree[Token]) -> Tree[Token]:
    """The operand a chain of one-child rules holds (`((x))` is `x`)."""
    while node.data in _WRAPPERS and (child := _only_child(node)) is not None:
        node = child
    return node


def _conjuncts(node: Tree[Token]) -> list[Tree[Token]] | None:
    """The terms of a condition that holds only when each of them does (`a && (b && c)` is
    a, b, c); None when the condition has a `||` or a ternary at its top, outside any term. A
    parenthesized `||` is one term."""
    child = _only_child(node)
    if node.data in ("expr", "conditionalor"):
        return None if child is None else _conjuncts(child)
    if node.data == "conditionaland" and len(node.children) == 2:
        left, right = node.children
        if not isinstance(left, Tree) or not isinstance(right, Tree):
            return None
        first, second = _conjuncts(left), _conjuncts(right)
        return None if first is None or second is None else first + second
    if node.data == "paren_expr" and child is not None:
        return _conjuncts(child) or [node]
    if node.data in _WRAPPERS and child is not None:
        return _conjuncts(child)
    return [node]


def _assertion_claim(node: Tree[Token]) -> str | None:
    """`assertion.<claim>`'s claim, else None."""
    node = _unwrap(node)
    if node.data != "member_dot" or len(node.children) != 2:
        return None
    target, name = node.children
    if not isinstance(target, Tree) or not isinstance(name, Token):
        return None
    ident = _unwrap(target)
    if ident.data != "ident" or ident.children != [Token("IDENT", "assertion")]:
        return None
    return str(name)


def _string_literal(node: Tree[Token]) -> str | None:
    """A string literal's value, else None."""
    node = _unwrap(node)
    if node.data != "literal" or len(node.children) != 1:
        return None
    token = node.children[0]
    if not isinstance(token, Token) or token.type != "STRING_LIT":
        return None
    value = _CEL.program(_CEL.compile(str(token))).evaluate({})
    return str(value) if isinstance(value, StringType) else None


def _pinned_repository(term: Tree[Token]) -> str | None:
    """The repository claim a term `assertion.<claim> == "<value>"` (either way round) pins to
    a non-empty value, else None."""
    if term.data != "relation" or len(term.children) != 2:
        return None
    equality, right = term.children
    if not isinstance(equality, Tree) or equality.data != "relation_eq":
        return None
    left = _only_child(equality)
    if left is None or not isinstance(right, Tree):
        return None
    for claim, value in ((left, right), (right, left)):
        name = _assertion_claim(claim)
        if name in REPOSITORY_CLAIMS and _string_literal(value):
            return name
    return None


def condition_pins_repository(condition: str) -> str | None:
    """None when the CEL condition can only hold for one repository: it is a conjunction one
    of whose terms is `assertion.repository == "<owner>/<name>"` or `assertion.repository_id
    == "<id>"`. Else why not."""
    try:
        tree = _CEL.compile(condition)
    except CELParseError as error:
        return f"is not valid CEL ({str(error).splitlines()[0]})"
    terms = _conjuncts(tree)
    if terms is None:
        return (
            "is not a conjunction: a `||` or a ternary at its top admits tokens the "
            "repository term does not hold"
        )
    if not any(_pinned_repository(term) for term in terms):
        return (
            "has no term assertion.repository == '<owner>/<name>' or assertion.repository_id "
            "== '<id>' joined to the rest by &&"
        )
    return None


@rule(
    "gcp-github-provider-condition",
    types=(GCP_WORKLOAD_IDENTITY_PROVIDER,),
    description="Workload identity providers for GitHub's issuer have an attribute_condition "
    "that, read as CEL, is a conjunction pinning assertion.repository or "
    "assertion.repository_id (Google requires a condition for GitHub). " + NO_CONTROL,
)
def gcp_github_provider_condition(resource_type: str, props: Props, config: Config) -> list[str]:
    """Google's own rule for GitHub's shared issuer, made mandatory: a condition that pins the
    repository, or any GitHub repository could sign in to the pool."""
    issuer = get(props, "oidc", "issuerUri")
    if not isinstance(issuer, str) or issuer.rstrip("/") != GITHUB_OIDC_ISSUER:
        return []
    condition = props.get("attributeCondition")
    problem = (
        condition_pins_repository(condition)
        if isinstance(condition, str) and condition.strip()
        else "is empty"
    )
    if problem is not None:
        return [
            f"attributeCondition {condition!r} {problem}; a provider for GitHub's issuer must "
            "pin assertion.repository == '<owner>/<name>' or assertion.repository_id == '<id>'"
        ]
    return []
