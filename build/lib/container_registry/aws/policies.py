"""What ECR is told, as plain data: the actions pushing and pulling need, the lifecycle policy
and the repository policy. No SDK here, so the policy pack and the docs can import it."""

from __future__ import annotations

from typing import Any

from container_registry.options import RegistryOptions

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
    """Expire untagged images after N days; keep only the newest M tagged images."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": (
                    f"Expire untagged images {options.untagged_expiry_days} days after push"
                ),
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": options.untagged_expiry_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep only the newest {options.keep_tagged_images} tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": options.keep_tagged_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


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
