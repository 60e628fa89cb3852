"""What ECR is told, as plain data: the actions pushing and pulling need, the lifecycle policy
and the repository policy. No SDK here, so the policy pack and the docs can import it."""

from __future__ import annotations

from typing import Any

from container_registry.aws.options import EcrOptions
from container_registry.provenance import SIGNATURE_TAG_PREFIX, tagged_window

# In archive mode (aws.archive_unpulled_days) the signature rule matches every signature and acts
# on none: a hundred years.
SIGNATURES_KEPT_DAYS = 36500
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


def lifecycle_policy(options: EcrOptions) -> dict[str, Any]:
    """Expire untagged images after N days; keep the newest tagged images with their cosign
    signatures and attestations (container_registry/provenance.py, docs/supply-chain.md).

    ECR evaluates rules by priority and "an image that matches the tagging requirements of a
    higher priority rule cannot be expired by a rule with a lower priority"; a lower rule still
    counts such images (the "identify them as if they haven't been expired" rule, and Example A
    of the documentation's lifecycle policy examples). So rule 3 counts images and signatures
    together, keeping the newest W tagged manifests (provenance.tagged_window: `keepTaggedImages`
    M without `ci`, 3M + 2 with it), and can only expire images; rule 1 claims every signature tag
    (`sha256-*`) and keeps the newest W of them. A kept image's signatures are younger than it,
    so among the newest W manifests, of which at most W are signatures: rule 1 never expires one,
    however many older digests were signed again. A signature goes once W newer ones exist,
    after its image.

    ECR deletes an OCI referrer (an untagged manifest with a `subject`) when a lifecycle rule
    expires its subject ("Amazon ECR supports OCI Image and Distribution specification version
    1.1", AWS What's New, 2024-06-27); whether rule 2 also selects a referrer whose subject is
    kept is not documented, so the workflow keeps cosign's tag form (github.COSIGN_TAG_FORM).

    With `aws.archive_unpulled_days` X, rule 3 moves tagged images not pulled for X days
    (`sinceImagePulled`) to the archive storage class (`transition`) instead, and nothing tagged
    is deleted; rule 1 still claims the signatures, so they are neither deleted nor archived.
    pulumi-aws 7 knows both (pulumi_aws/ecr/_inputs.py: LifecyclePolicyActionArgs, type
    "expire" or "transition" with target_storage_class "archive";
    GetLifecyclePolicyDocumentRuleSelectionArgs, count_type sinceImagePulled). Without a
    `storageClass`, every rule here selects standard-storage images only.
    """
    keep = options.keep_tagged_images
    window = tagged_window(options)
    signatures_rule: dict[str, Any] = {
        "rulePriority": 1,
        "description": f"Keep the signatures and attestations of the newest {keep} images",
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": [f"{SIGNATURE_TAG_PREFIX}*"],
            "countType": "imageCountMoreThan",
            "countNumber": window,
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
        "description": f"Keep the newest {window} tagged images and signatures",
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": ["*"],
            "countType": "imageCountMoreThan",
            "countNumber": window,
        },
        "action": {"type": "expire"},
    }
    if options.archive_unpulled_days is not None:
        # Archive instead of delete: no rule deletes tagged images, so signatures stay with them.
        # Rule 1 still claims the signature tags (so rule 3 cannot archive them: a signature
        # must stay pullable for as long as its image can be restored) and never fires.
        signatures_rule["description"] = "Keep every signature and attestation"
        signatures_rule["selection"] = {
            "tagStatus": "tagged",
            "tagPatternList": [f"{SIGNATURE_TAG_PREFIX}*"],
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": SIGNATURES_KEPT_DAYS,
        }
        days = options.archive_unpulled_days
        images_rule = {
            "rulePriority": 3,
            "description": f"Archive tagged images not pulled for {days} days",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "sinceImagePulled",
                "countUnit": "days",
                "countNumber": days,
            },
            # ECR's archive storage class ("Archiving an image"): not pullable until restored,
            # listed, 90 days minimum storage.
            "action": {"type": "transition", "targetStorageClass": "archive"},
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
