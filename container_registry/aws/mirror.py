"""The ECR mirror (issue 12): pull-through cache rules from ECR Public (and Docker Hub, with a
Secrets Manager secret), each with a repository creation template, under prefixes unique to the
stack."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from container_registry.aws.options import EcrOptions
from container_registry.aws.policies import PULL_ACTIONS, lifecycle_policy

# ECR Public carries Docker's official images under docker/library/..., with no credentials.
ECR_PUBLIC_URL = "public.ecr.aws"
ECR_PUBLIC = "ecr-public"
# Docker Hub, only with a Secrets Manager secret (ECR reads it through its service-linked role).
DOCKER_HUB_URL = "registry-1.docker.io"
DOCKER_HUB = "docker-hub"
UPSTREAM_URLS = {ECR_PUBLIC: ECR_PUBLIC_URL, DOCKER_HUB: DOCKER_HUB_URL}
MIRROR_SUFFIX_LENGTH = 8
# What an identity needs for the first pull of an image through the cache, and nothing more.
PULL_THROUGH_ACTIONS: tuple[str, ...] = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")


def cache_prefix(options: EcrOptions, upstream: str) -> str:
    """The cache prefix (repository namespace) of one upstream for this stack:
    `<upstream>-<8 hex digits of a SHA-256 over project and stack>`, such as
    `ecr-public-1a2b3c4d`. A cache rule and a creation template exist once per prefix in an
    account and region, so a fixed prefix would make a second stack there fail with
    PullThroughCacheRuleAlreadyExistsException, and destroying one stack would take the other's
    cache with it. At most 30 characters of [a-z0-9-], as ECR takes them."""
    identity = f"{options.pulumi_project}\0{options.pulumi_stack}".encode()
    return f"{upstream}-{hashlib.sha256(identity).hexdigest()[:MIRROR_SUFFIX_LENGTH]}"


def mirror_upstreams(options: EcrOptions) -> tuple[str, ...]:
    """The upstreams the mirror has rules for: ECR Public always, Docker Hub with credentials."""
    if options.mirror.docker_hub_secret_arn:
        return (ECR_PUBLIC, DOCKER_HUB)
    return (ECR_PUBLIC,)


def mirror_prefixes(options: EcrOptions) -> tuple[str, ...]:
    """The cache prefixes (repository namespaces) the mirror creates rules for."""
    return tuple(cache_prefix(options, upstream) for upstream in mirror_upstreams(options))


def mirror_endpoint(registry_server: str, options: EcrOptions) -> str:
    """Docker official images through the cache: `<registry>/<ecr-public prefix>/docker/library`."""
    return f"{registry_server}/{cache_prefix(options, ECR_PUBLIC)}/docker/library"


def pull_through_identity_policy(
    partition: str, region: str, account: str, prefixes: tuple[str, ...]
) -> dict[str, Any]:
    """The IAM policy the identity that runs `pulumi up` (and so the image build) needs to pull
    through the cache: the pull actions, and for a first pull importing the image and creating
    its cache repository, under the cache prefixes only (docs/mirror.md shows it, and
    docs/aws.md's deployer policy holds it)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MirrorPullThroughCache",
                "Effect": "Allow",
                "Action": sorted(PULL_ACTIONS + PULL_THROUGH_ACTIONS),
                "Resource": [
                    f"arn:{partition}:ecr:{region}:{account}:repository/{prefix}/*"
                    for prefix in prefixes
                ],
            }
        ],
    }


def ecr_mirror(name: str, options: EcrOptions, parent: pulumi.Resource) -> list[pulumi.Resource]:
    """Pull-through cache rules and, per cache prefix, a repository creation template: every
    repository the cache creates is encrypted and expires images like ours. Its tags stay
    mutable, because the cache must follow upstream tags. Templates encrypt with AES256: KMS (and
    resource tags) would need a custom role for ECR to assume (RepositoryCreationTemplate's
    custom_role_arn in pulumi_aws/ecr/repository_creation_template.py)."""
    child = pulumi.ResourceOptions(parent=parent)
    created: list[pulumi.Resource] = []
    for upstream in mirror_upstreams(options):
        prefix = cache_prefix(options, upstream)
        created.append(
            aws.ecr.PullThroughCacheRule(
                f"{name}-mirror-{upstream}",
                aws.ecr.PullThroughCacheRuleArgs(
                    ecr_repository_prefix=prefix,
                    upstream_registry_url=UPSTREAM_URLS[upstream],
                    # Docker Hub only, and only with credentials (mirror_upstreams).
                    credential_arn=options.mirror.docker_hub_secret_arn
                    if upstream == DOCKER_HUB
                    else None,
                ),
                opts=child,
            )
        )
        created.append(
            aws.ecr.RepositoryCreationTemplate(
                f"{name}-mirror-{upstream}-template",
                aws.ecr.RepositoryCreationTemplateArgs(
                    prefix=prefix,
                    applied_fors=["PULL_THROUGH_CACHE"],
                    description=f"Pull-through cache of {options.stack_path}",
                    encryption_configurations=[
                        aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                            encryption_type="AES256"
                        )
                    ],
                    image_tag_mutability="MUTABLE",
                    lifecycle_policy=json.dumps(lifecycle_policy(options)),
                ),
                opts=child,
            )
        )
    return created
