"""What ECR is told, as plain data: the actions pushing and pulling need, the lifecycle policy
and the repository policy. No SDK here, so the policy pack and the docs can import it."""

from __future__ import annotations

from typing import Any

from container_registry.options import RegistryOptions
from container_registry.provenance import SIGNATURE_TAG_PREFIX, signature_window, tagged_window

PULL_ACTIONS: tuple[str, ...] = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
PUSH_ACTIONS: tuple[str, ...] = (
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


def lifecycle_policy(options: RegistryOptions) -> dict[str, Any]:
    """Expire untagged images after N days; keep the newest M tagged images with their cosign
    signatures and attestations (container_registry/provenance.py, docs/supply-chain.md).

    ECR evaluates rules by priority and "an image that matches the tagging requirements of a
    higher priority rule cannot be expired by a rule with a lower priority"; a lower rule still
    counts such images (the "identify them as if they haven't been expired" rule, and Example A
    of the documentation's lifecycle policy examples). So rule 1 claims every signature tag
    (`sha256-*`) and keeps the newest 2M of them (those of the newest M images, which are younger
    than their images); rule 3 counts images and signatures together, keeping the newest 3M
    tagged manifests, and can only expire images. A signature is thus expired only once it is no
    longer among the newest 2M: after its image has gone.
    """
    keep = options.keep_tagged_images
    signatures_rule: dict[str, Any] = {
        "rulePriority": 1,
        "description": f"Keep the signatures and attestations of the newest {keep} images",
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": [f"{SIGNATURE_TAG_PREFIX}*"],
            "countType": "imageCountMoreThan",
            "countNumber": signature_window(keep),
        },
        "action": {"type": "expire"},
    }
    untagged_rule: dict[str, Any] = {
        "rulePriority": 2,
        "description": f"Expire untagged images {options.untagged_expiry_days} days after push",
        "selection": {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": options.untagged_expiry_days,
        },
        "action": {"type": "expire"},
    }
    images_rule: dict[str, Any] = {
        "rulePriority": 3,
        "description": f"Keep the newest {keep} tagged images and their signatures",
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": ["*"],
            "countType": "imageCountMoreThan",
            "countNumber": tagged_window(keep),
        },
        "action": {"type": "expire"},
    }
    return {"rules": [signatures_rule, untagged_rule, images_rule]}


def repository_policy(account_root: str, pull_principals: tuple[str, ...]) -> dict[str, Any]:
    """Push and pull for this account; pull only for the listed principals. Never `*`, and never
    delete or policy actions: those stay with IAM, where they are audited."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PushPullForThisAccount",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": sorted(PULL_ACTIONS + PUSH_ACTIONS),
        }
    ]
    if pull_principals:
        statements.append(
            {
                "Sid": "PullForListedPrincipals",
                "Effect": "Allow",
                "Principal": {"AWS": list(pull_principals)},
                "Action": sorted(PULL_ACTIONS),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
