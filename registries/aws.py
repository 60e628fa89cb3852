"""Amazon ECR: a scanned, encrypted repository with tag immutability, a lifecycle policy and a
repository policy that grants only what pushing and pulling need."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from registries.aws_access import ci_push_access
from registries.component import RegistryComponent
from registries.image import RegistryLogin
from registries.settings import Settings

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


def lifecycle_policy(settings: Settings) -> dict[str, Any]:
    """Expire untagged images after N days; keep only the newest M tagged images."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": (
                    f"Expire untagged images {settings.untagged_expiry_days} days after push"
                ),
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": settings.untagged_expiry_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep only the newest {settings.keep_tagged_images} tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": settings.keep_tagged_images,
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


class EcrRegistry(RegistryComponent):
    """An ECR repository with the app image pushed to it."""

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-registry:aws:EcrRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        kms_key = settings.aws.kms_key_arn

        repo = aws.ecr.Repository(
            f"{name}-repo",
            aws.ecr.RepositoryArgs(
                name=settings.repository_name,
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                image_tag_mutability="IMMUTABLE" if settings.immutable_tags else "MUTABLE",
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(
                        encryption_type="KMS" if kms_key else "AES256",
                        kms_key=kms_key,
                    )
                ],
                force_delete=settings.force_delete,
                tags={"project": settings.project, "stack": settings.stack},
            ),
            opts=child,
        )

        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            aws.ecr.LifecyclePolicyArgs(
                repository=repo.name, policy=json.dumps(lifecycle_policy(settings))
            ),
            opts=child,
        )

        identity = aws.get_caller_identity_output(opts=invoke)
        partition = aws.get_partition_output(opts=invoke)
        account_root = pulumi.Output.concat(
            "arn:", partition.partition, ":iam::", identity.account_id, ":root"
        )
        policy = aws.ecr.RepositoryPolicy(
            f"{name}-policy",
            aws.ecr.RepositoryPolicyArgs(
                repository=repo.name,
                policy=account_root.apply(
                    lambda root: json.dumps(repository_policy(root, settings.aws.pull_principals))
                ),
            ),
            opts=child,
        )

        # Keyless push from GitHub Actions (issue 11): only when ciRepository is set.
        ci_access = ci_push_access(
            name,
            settings,
            parent=self,
            repository=repo,
            pull_actions=PULL_ACTIONS,
            push_actions=PUSH_ACTIONS,
        )

        # A fresh 12-hour token on every run, for the push only; the provider stays untouched.
        token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id, opts=invoke)
        registry_server = repo.repository_url.apply(lambda url: url.split("/", 1)[0])
        self._publish(
            name,
            settings,
            registry_server=registry_server,
            repo_endpoint=repo.repository_url,
            login=RegistryLogin(
                server=registry_server,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            depends_on=[policy],
            ci_access=ci_access,
        )
