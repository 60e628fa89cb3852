"""Keyless push to ECR from GitHub Actions: GitHub's OIDC provider in IAM (unless one is named),
a role only the generated workflow of the configured repository and ref (or environment) can
assume, and an inline policy that pushes and pulls this one repository. Called by
aws/registry.py when `ci` is set."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from container_registry import github as ci
from container_registry import github_pins as pins
from container_registry.aws.mirror import PULL_THROUGH_ACTIONS
from container_registry.aws.options import STS_AUDIENCE, EcrOptions
from container_registry.aws.policies import PULL_ACTIONS, PUSH_ACTIONS
from container_registry.options import CiOptions
from container_registry.service import CiAccess

# ECR requires GetAuthorizationToken on "*"; it names no repository.
AUTH_TOKEN_ACTION = "ecr:GetAuthorizationToken"


def trust_policy(provider_arn: str, ci_settings: CiOptions) -> dict[str, Any]:
    """Only GitHub's tokens for this audience, this exact subject and the generated workflow's
    file at its ref may assume the role. IAM evaluates GitHub's `job_workflow_ref` as the
    condition key `token.actions.githubusercontent.com:job_workflow_ref` (AWS STS "now supports
    validation of select identity provider specific claims from Google, GitHub, CircleCI and
    OCI", What's New 2026-01; IAM User Guide, "IAM and AWS STS condition context keys",
    "Available keys for AWS OIDC federation", GitHub: actor, actor_id, job_workflow_ref,
    repository, repository_id, workflow, ref, environment, enterprise_id), so another workflow
    on the trusted ref is refused even with GitHub's default subject template. `event_name` is
    not among those keys: IAM cannot tell the workflow's own triggers from another trigger of
    the same file. A key missing from a request fails StringEquals, so a partition without these
    keys refuses rather than admits. With ciRepository's IDs the subject is the immutable one."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{pins.GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                        f"{pins.GITHUB_OIDC_HOST}:sub": ci.oidc_subject(ci_settings),
                        f"{pins.GITHUB_OIDC_HOST}:job_workflow_ref": ci_settings.job_workflow_ref,
                    }
                },
            }
        ],
    }


def push_policy(repository_arn: str, mirror_prefixes: tuple[str, ...] = ()) -> dict[str, Any]:
    """A token for `docker login`, and push and pull on this repository's ARN alone; with the
    mirror, also what a first pull through the cache needs, on the cache prefixes alone."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": AUTH_TOKEN_ACTION,
            "Resource": "*",
        },
        {
            "Sid": "PushAndPullThisRepository",
            "Effect": "Allow",
            "Action": sorted(PULL_ACTIONS + PUSH_ACTIONS),
            "Resource": repository_arn,
        },
    ]
    if mirror_prefixes:
        # arn:<partition>:ecr:<region>:<account>:repository/<name> -> the same, for each prefix.
        base = repository_arn.split(":repository/", 1)[0]
        statements.append(
            {
                "Sid": "PullThroughTheMirror",
                "Effect": "Allow",
                "Action": sorted(PULL_ACTIONS + PULL_THROUGH_ACTIONS),
                "Resource": [f"{base}:repository/{prefix}/*" for prefix in mirror_prefixes],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def login_steps(role_arn: str, region: str) -> list[dict[str, Any]]:
    return [
        ci.step(
            pins.AWS_CREDENTIALS,
            "Assume the push role",
            **{"role-to-assume": role_arn, "aws-region": region},
        ),
        ci.step(pins.ECR_LOGIN, "Log in to ECR"),
    ]


def ci_push_access(
    name: str,
    options: EcrOptions,
    *,
    parent: pulumi.Resource,
    repository: aws.ecr.Repository,
    mirror_prefixes: tuple[str, ...] = (),
    mirror_endpoint: pulumi.Input[str] | None = None,
) -> CiAccess | None:
    """The OIDC provider (unless aws.oidc_provider_arn names one), the push role and its policy;
    None, and nothing created, without `ci`. (pull_principals are in the repository policy, see
    aws/policies.py.)"""
    if options.ci is None:
        return None
    ci_settings: CiOptions = options.ci
    child = pulumi.ResourceOptions(parent=parent)
    provider_arn: pulumi.Input[str]
    if options.oidc_provider_arn is not None:
        provider_arn = options.oidc_provider_arn
    else:
        # No thumbprint_lists: for GitHub's issuer IAM validates the certificate against its own
        # trusted CAs and ignores thumbprints (pulumi_aws/iam/open_id_connect_provider.py,
        # OpenIdConnectProviderArgs.thumbprint_lists).
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github-oidc",
            aws.iam.OpenIdConnectProviderArgs(
                url=pins.GITHUB_OIDC_ISSUER,
                client_id_lists=[STS_AUDIENCE],
                tags=options.tags,
            ),
            opts=child,
        )
        provider_arn = provider.arn

    subject = ci.oidc_subject(ci_settings)
    role = aws.iam.Role(
        f"{name}-ci-push",
        aws.iam.RoleArgs(
            description=f"Pushes images to ECR from GitHub Actions runs of {subject}",
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: json.dumps(trust_policy(arn, ci_settings))
            ),
            max_session_duration=3600,
            tags=options.tags,
        ),
        opts=child,
    )
    aws.iam.RolePolicy(
        f"{name}-ci-push",
        aws.iam.RolePolicyArgs(
            role=role.id,
            policy=repository.arn.apply(lambda arn: json.dumps(push_policy(arn, mirror_prefixes))),
        ),
        opts=child,
    )

    region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region
    values = pulumi.Output.all(role.arn, region).apply(
        lambda v: {
            "roleArn": v[0],
            "region": v[1],
            # IAM binds job_workflow_ref, not event_name (trust_policy).
            **ci.subject_values(ci_settings, ci.trusted_runs(ci_settings, workflow=True)),
        }
    )
    document = ci.workflow_output(
        ci_settings,
        cloud_name="Amazon ECR",
        login_steps=pulumi.Output.all(role.arn, region).apply(lambda v: login_steps(v[0], v[1])),
        repo_endpoint=repository.repository_url,
        mirror_endpoint=mirror_endpoint,
    )
    return CiAccess(values=values, workflow=document)
