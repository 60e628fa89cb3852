"""No public grants, on any cloud: the one rule that reads IAM of every target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy import aws, azure, gcp
from policy.common import (
    Config,
    Props,
    allowing_statements,
    as_list,
    get,
    parse_json,
    public_principals,
    rule,
)

PUBLIC_MEMBERS: tuple[str, ...] = (*gcp.PUBLIC_GCP_MEMBERS, "*")


def _iam_document_members(key: str) -> Callable[[Props], list[Any]]:
    """'*' for each allowing statement of the AWS IAM document at `key` whose principal is a
    wildcard: any wildcard in an IAM principal matches every account."""

    def members(props: Props) -> list[Any]:
        document, _ = parse_json(props.get(key))
        return [
            "*"
            for _, statement in allowing_statements(document)
            if public_principals(get(statement, "Principal"))
        ]

    return members


def _granted(read: gcp.MemberReader) -> Callable[[Props], list[Any]]:
    """Who a GCP IAM resource grants access to, leaving out why it cannot be read."""
    return lambda props: read(props)[0]


# Who each resource type grants access to; an unreadable GCP policy document grants no one here
# (gar-not-public reports it).
MEMBERS: dict[str, Callable[[Props], list[Any]]] = {
    **{resource_type: _granted(read) for resource_type, read in gcp.IAM_MEMBERS.items()},
    azure.AZURE_ROLE_ASSIGNMENT: lambda props: as_list(props.get("principalId")),
    aws.AWS_IAM_ROLE: _iam_document_members("assumeRolePolicy"),
    aws.ECR_REPOSITORY_POLICY: _iam_document_members("policy"),
}


@rule(
    "no-public-grants",
    types=tuple(MEMBERS),
    description="No IAM grant to allUsers, allAuthenticatedUsers or '*', on any cloud (checkov "
    "CKV_GCP_101 and CKV_AWS_32, extended to trust policies and Azure role assignments).",
    controls=("CKV_GCP_101", "CKV_AWS_32"),
)
def no_public_grants(resource_type: str, props: Props, config: Config) -> list[str]:
    """No grant to allUsers, allAuthenticatedUsers or '*' anywhere: GCP IAM on the repository or
    the project, Azure role assignments, IAM trust and ECR repository policies."""
    members = MEMBERS[resource_type](props)
    public = [m for m in members if isinstance(m, str) and (m in PUBLIC_MEMBERS or m.endswith("*"))]
    if public:
        return [f"grants access to {', '.join(dict.fromkeys(public))} (anyone)"]
    return []
