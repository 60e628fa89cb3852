"""Google Artifact Registry and IAM: the repository, who is granted it, and the workload identity
provider keyless CI push signs in through."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# The program's own values, taken from its package (container_registry) in this one place.
from container_registry.github import GITHUB_OIDC_ISSUER
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
# The repository by name, or by its immutable numeric ID (never the owner alone).
_PINS_REPOSITORY = re.compile(r"\bassertion\.repository(?:_id)?\s*==")


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


@rule(
    "gcp-github-provider-condition",
    types=(GCP_WORKLOAD_IDENTITY_PROVIDER,),
    description="Workload identity providers for GitHub's issuer have an attribute_condition "
    "pinning assertion.repository or assertion.repository_id (Google requires a condition for "
    "GitHub). " + NO_CONTROL,
)
def gcp_github_provider_condition(resource_type: str, props: Props, config: Config) -> list[str]:
    """Google's own rule for GitHub's shared issuer, made mandatory: a condition that pins the
    repository, or any GitHub repository could sign in to the pool."""
    issuer = get(props, "oidc", "issuerUri")
    if not isinstance(issuer, str) or issuer.rstrip("/") != GITHUB_OIDC_ISSUER:
        return []
    condition = props.get("attributeCondition")
    if not isinstance(condition, str) or not _PINS_REPOSITORY.search(condition):
        return [
            f"attributeCondition is {condition!r}; a provider for GitHub's issuer must pin "
            "assertion.repository == '<owner>/<name>' or assertion.repository_id == '<id>'"
        ]
    return []
