"""The policy pack's Google Cloud rules (policy/gcp.py) shown biting on broken copies of what the
program registers for Artifact Registry, its IAM and the CI workload identity provider."""

from __future__ import annotations

import json

from policy_harness import (
    DELETE,
    Breakage,
    add,
    ci_breakage,
    edit,
    set_key,
)

from policy import gcp

# Keyless CI push (issue 11): broken copies of what CI_STACK['gcp'] creates.
GCP_CI_BREAKAGES: tuple[Breakage, ...] = (
    ci_breakage(
        "gcp-github-provider-condition",
        "gcp",
        "no-condition",
        edit(gcp.GCP_WORKLOAD_IDENTITY_PROVIDER, set_key("attributeCondition", DELETE)),
    ),
    ci_breakage(
        "gcp-github-provider-condition",
        "gcp",
        "empty-condition",
        edit(gcp.GCP_WORKLOAD_IDENTITY_PROVIDER, set_key("attributeCondition", "")),
    ),
    ci_breakage(
        "gcp-github-provider-condition",
        "gcp",
        "owner-only",
        edit(
            gcp.GCP_WORKLOAD_IDENTITY_PROVIDER,
            set_key("attributeCondition", 'assertion.repository_owner == "acme"'),
        ),
    ),
    # The program's own condition with `|| true` after it: read as CEL, it admits any token.
    ci_breakage(
        "gcp-github-provider-condition",
        "gcp",
        "or-true",
        edit(
            gcp.GCP_WORKLOAD_IDENTITY_PROVIDER,
            lambda props: props.update(attributeCondition=props["attributeCondition"] + " || true"),
        ),
    ),
    ci_breakage(
        "no-public-grants",
        "gcp",
        "repository-member-star",
        edit(gcp.GAR_IAM_MEMBER, set_key("member", "*")),
    ),
    ci_breakage(
        "no-public-grants",
        "gcp",
        "project-all-users",
        add(
            gcp.GCP_PROJECT_IAM_MEMBER,
            {"project": "my-project-123", "role": "roles/viewer", "member": "allUsers"},
        ),
    ),
)
GCP_BREAKAGES: tuple[Breakage, ...] = (
    *GCP_CI_BREAKAGES,
    # Artifact Registry
    Breakage(
        "gar-docker-format", "gcp", "maven", edit(gcp.GAR_REPOSITORY, set_key("format", "MAVEN"))
    ),
    Breakage(
        "gar-docker-format",
        "gcp",
        "no-format",
        edit(gcp.GAR_REPOSITORY, set_key("format", DELETE)),
    ),
    Breakage(
        "gar-docker-format",
        "gcp",
        "empty-format",
        edit(gcp.GAR_REPOSITORY, set_key("format", "")),
    ),
    Breakage(
        "gar-immutable-tags",
        "gcp",
        "mutable",
        edit(gcp.GAR_REPOSITORY, set_key("dockerConfig.immutableTags", False)),
    ),
    Breakage(
        "gar-immutable-tags",
        "gcp",
        "no-docker-config",
        edit(gcp.GAR_REPOSITORY, set_key("dockerConfig", DELETE)),
    ),
    Breakage(
        "gar-cleanup-policies",
        "gcp",
        "none",
        edit(gcp.GAR_REPOSITORY, set_key("cleanupPolicies", DELETE)),
    ),
    Breakage(
        "gar-cleanup-policies",
        "gcp",
        "dry-run",
        edit(gcp.GAR_REPOSITORY, set_key("cleanupPolicyDryRun", True)),
    ),
    Breakage(
        "gar-not-public",
        "gcp",
        "member-all-users",
        add(gcp.GAR_IAM_MEMBER, {"repository": "app", "member": "allUsers"}),
    ),
    Breakage(
        "gar-not-public",
        "gcp",
        "binding-all-authenticated",
        add(
            gcp.GAR_IAM_BINDING,
            {"repository": "app", "members": ["user:ops@example.com", "allAuthenticatedUsers"]},
        ),
    ),
    Breakage(
        "gar-not-public",
        "gcp",
        "policy-all-users",
        add(
            gcp.GAR_IAM_POLICY,
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
)
