"""EcrRegistryArgs checked (no SDK here): ECR's repository naming rule, the pull
principals as IAM principal ARNs, the KMS key, the OIDC provider and the mirror's secret."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from container_registry.aws.args import EcrRegistryArgs
from container_registry.ci_input import resolve_ci
from container_registry.mirror import enabled as mirror_enabled
from container_registry.naming import optional_text, repository_name, whole_number
from container_registry.options import MirrorOptions, ServiceOptions
from container_registry.principals import pull_principals
from container_registry.service import common_options

# ECR: lowercase segments of [a-z0-9] joined by '.', '_' or '-', optionally separated by '/'.
_ECR_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
ECR_REPOSITORY = re.compile(rf"{_ECR_COMPONENT}(?:/{_ECR_COMPONENT})*")
REPOSITORY_RULE = (
    "is not a valid ECR repository name: 2 to 256 characters, lowercase segments of "
    "[a-z0-9] joined by '.', '_' or '-', optionally separated by '/'"
)
IAM_PRINCIPAL = re.compile(
    r"arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:(?:root|(?:role|user)/[A-Za-z0-9+=,.@_/-]{1,512})"
)
PRINCIPAL_RULE = (
    "is not an IAM principal ARN (arn:aws:iam::<12-digit account>:root, :role/... "
    "or :user/...); '*' and wildcards are never allowed"
)
KMS_KEY = re.compile(
    r"arn:aws(?:-[a-z]+)*:kms:[a-z]{2}(?:-[a-z]+)+-[0-9]:[0-9]{12}:key/[A-Za-z0-9-]{1,256}"
)
# The audience GitHub's token carries for AWS, which the CI role's trust policy requires
# (GitHub docs, "Configuring OpenID Connect in Amazon Web Services": `sts.amazonaws.com`).
STS_AUDIENCE = "sts.amazonaws.com"
GITHUB_OIDC_PROVIDER = re.compile(
    r"arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com"
)
# Days without a pull before an image is archived (the same range as untagged_expiry_days).
ARCHIVE_UNPULLED_DAYS = (1, 3650)
# Secrets Manager secrets for ECR pull-through cache must be named `ecr-pullthroughcache/...`;
# the ARN ends in '-' and six random characters.
PULL_THROUGH_SECRET = re.compile(
    r"arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-[0-9]:[0-9]{12}:"
    r"secret:ecr-pullthroughcache/[A-Za-z0-9/_+=.@-]{1,480}"
)


@dataclass(frozen=True, kw_only=True)
class EcrMirrorOptions(MirrorOptions):
    docker_hub_secret_arn: str | None = None
    """A Secrets Manager secret (ecr-pullthroughcache/...) for an extra Docker Hub rule."""


@dataclass(frozen=True, kw_only=True)
class EcrOptions(ServiceOptions):
    """EcrRegistryArgs as checked."""

    mirror: EcrMirrorOptions = field(default_factory=EcrMirrorOptions)
    pull_principals: tuple[str, ...] = ()
    kms_key_arn: str | None = None
    oidc_provider_arn: str | None = None
    """An existing IAM OIDC provider for GitHub to trust instead of creating one."""
    archive_unpulled_days: int | None = None
    """Archive tagged images unpulled this many days instead of deleting past
    keep_tagged_images."""


def resolve(args: EcrRegistryArgs) -> EcrOptions:
    """Every EcrRegistryArgs value checked, once, before anything is registered."""
    common = common_options(args, EcrRegistryArgs)
    name = common.pop("repository_name")
    mirror: Mapping[str, Any] = args.get("mirror") or {}
    return EcrOptions(
        **common,
        repository_name=repository_name(
            name, "repository_name", ECR_REPOSITORY, 2, 256, REPOSITORY_RULE
        ),
        kms_key_arn=optional_text(
            args,
            "kms_key_arn",
            "kms_key_arn",
            KMS_KEY,
            "is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); an alias ARN "
            "is refused because ECR reports the key ARN back and would replace the "
            "repository on every update",
        ),
        oidc_provider_arn=optional_text(
            args,
            "oidc_provider_arn",
            "oidc_provider_arn",
            GITHUB_OIDC_PROVIDER,
            "is not the ARN of an IAM OIDC provider for GitHub Actions (arn:aws:iam::"
            "<12-digit account>:oidc-provider/token.actions.githubusercontent.com)",
        ),
        archive_unpulled_days=(
            None
            if args.get("archive_unpulled_days") is None
            else whole_number(
                args.get("archive_unpulled_days"), "archive_unpulled_days", *ARCHIVE_UNPULLED_DAYS
            )
        ),
        pull_principals=pull_principals(
            args.get("pull_principals"), IAM_PRINCIPAL, "IAM principal ARNs", PRINCIPAL_RULE
        ),
        mirror=EcrMirrorOptions(
            enabled=mirror_enabled(mirror),
            docker_hub_secret_arn=optional_text(
                mirror,
                "docker_hub_secret_arn",
                "mirror.docker_hub_secret_arn",
                PULL_THROUGH_SECRET,
                "is not the ARN of a Secrets Manager secret named ecr-pullthroughcache/... "
                "(ECR pull-through cache only reads secrets with that prefix)",
            ),
        ),
        ci=resolve_ci(args.get("ci"), "aws"),
    )
