"""Amazon ECR: a scanned, encrypted repository with tag immutability, a lifecycle policy and a
repository policy that grants only what pushing and pulling need."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from registries.aws_access import ci_push_access
from registries.component import RegistryComponent
from registries.image import RegistryLogin, mirror_build_args
from registries.provenance import SIGNATURE_TAG_PREFIX, signature_window, tagged_window
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
    """Expire untagged images after N days; keep the newest M tagged images with their cosign
    signatures and attestations (registries/provenance.py, docs/supply-chain.md).

    ECR evaluates rules by priority and "an image that matches the tagging requirements of a
    higher priority rule cannot be expired by a rule with a lower priority"; a lower rule still
    counts such images (the "identify them as if they haven't been expired" rule, and Example A
    of the documentation's lifecycle policy examples). So rule 1 claims every signature tag
    (`sha256-*`) and keeps the newest 2M of them (those of the newest M images, which are younger
    than their images); rule 3 counts images and signatures together, keeping the newest 3M
    tagged manifests, and can only expire images. A signature is thus expired only once it is no
    longer among the newest 2M: after its image has gone.
    """
    untagged_rule: dict[str, Any] = {
        "rulePriority": 2,
        "description": f"Expire untagged images {settings.untagged_expiry_days} days after push",
        "selection": {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": settings.untagged_expiry_days,
        },
        "action": {"type": "expire"},
    }
    signatures_rule: dict[str, Any] = {
        "rulePriority": 1,
        "description": (
            f"Keep the signatures and attestations of the newest {settings.keep_tagged_images} "
            "images"
        ),
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": [f"{SIGNATURE_TAG_PREFIX}*"],
            "countType": "imageCountMoreThan",
            "countNumber": signature_window(settings.keep_tagged_images),
        },
        "action": {"type": "expire"},
    }
    images_rule: dict[str, Any] = {
        "rulePriority": 3,
        "description": (
            f"Keep the newest {settings.keep_tagged_images} tagged images and their signatures"
        ),
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": ["*"],
            "countType": "imageCountMoreThan",
            "countNumber": tagged_window(settings.keep_tagged_images),
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


# ------------------------------------------------------------------ the mirror (issue 12)

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


def cache_prefix(settings: Settings, upstream: str) -> str:
    """The cache prefix (repository namespace) of one upstream for this stack:
    `<upstream>-<8 hex digits of a SHA-256 over project and stack>`, such as
    `ecr-public-1a2b3c4d`. A cache rule and a creation template exist once per prefix in an
    account and region, so a fixed prefix would make a second stack there fail with
    PullThroughCacheRuleAlreadyExistsException, and destroying one stack would take the other's
    cache with it. At most 30 characters of [a-z0-9-], as ECR takes them."""
    identity = f"{settings.project}\0{settings.stack}".encode()
    return f"{upstream}-{hashlib.sha256(identity).hexdigest()[:MIRROR_SUFFIX_LENGTH]}"


def mirror_upstreams(settings: Settings) -> tuple[str, ...]:
    """The upstreams the mirror has rules for: ECR Public always, Docker Hub with credentials."""
    if settings.mirror.docker_hub_secret_arn:
        return (ECR_PUBLIC, DOCKER_HUB)
    return (ECR_PUBLIC,)


def mirror_prefixes(settings: Settings) -> tuple[str, ...]:
    """The cache prefixes (repository namespaces) the mirror creates rules for."""
    return tuple(cache_prefix(settings, upstream) for upstream in mirror_upstreams(settings))


def mirror_endpoint(registry_server: str, settings: Settings) -> str:
    """Docker official images through the cache: `<registry>/<ecr-public prefix>/docker/library`."""
    return f"{registry_server}/{cache_prefix(settings, ECR_PUBLIC)}/docker/library"


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


def _ecr_mirror(name: str, settings: Settings, parent: pulumi.Resource) -> list[pulumi.Resource]:
    """Pull-through cache rules and, per cache prefix, a repository creation template: every
    repository the cache creates is encrypted and expires images like ours. Its tags stay
    mutable, because the cache must follow upstream tags. Templates encrypt with AES256: KMS (and
    resource tags) would need a custom role for ECR to assume (RepositoryCreationTemplate's
    custom_role_arn in pulumi_aws/ecr/repository_creation_template.py)."""
    child = pulumi.ResourceOptions(parent=parent)
    created: list[pulumi.Resource] = []
    for upstream in mirror_upstreams(settings):
        prefix = cache_prefix(settings, upstream)
        created.append(
            aws.ecr.PullThroughCacheRule(
                f"{name}-mirror-{upstream}",
                aws.ecr.PullThroughCacheRuleArgs(
                    ecr_repository_prefix=prefix,
                    upstream_registry_url=UPSTREAM_URLS[upstream],
                    # Docker Hub only, and only with credentials (mirror_upstreams).
                    credential_arn=settings.mirror.docker_hub_secret_arn
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
                    description=f"Pull-through cache of {settings.project}/{settings.stack}",
                    encryption_configurations=[
                        aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                            encryption_type="AES256"
                        )
                    ],
                    image_tag_mutability="MUTABLE",
                    lifecycle_policy=json.dumps(lifecycle_policy(settings)),
                ),
                opts=child,
            )
        )
    return created


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

        registry_server = repo.repository_url.apply(lambda url: url.split("/", 1)[0])
        mirror = _ecr_mirror(name, settings, self) if settings.mirror.enabled else []
        endpoint = (
            registry_server.apply(lambda server: mirror_endpoint(server, settings))
            if mirror
            else None
        )

        # Keyless push from GitHub Actions (issue 11): only when ciRepository is set. With the
        # mirror, its build takes the base image through the cache, and may make the first pull.
        ci_access = ci_push_access(
            name,
            settings,
            parent=self,
            repository=repo,
            pull_actions=PULL_ACTIONS,
            push_actions=PUSH_ACTIONS,
            mirror_prefixes=mirror_prefixes(settings) if mirror else (),
            pull_through_actions=PULL_THROUGH_ACTIONS,
            build_args=None if endpoint is None else mirror_build_args(endpoint),
        )

        # A fresh 12-hour token on every run, for the push only; the provider stays untouched.
        token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id, opts=invoke)
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
            depends_on=[policy, *mirror],
            build_args=None if endpoint is None else mirror_build_args(endpoint),
            mirror_endpoint=endpoint,
            ci_access=ci_access,
        )
