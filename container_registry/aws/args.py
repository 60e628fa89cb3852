"""The Args of `EcrRegistry` (no SDK here): flat, the ECR options beside the shared ones.

`REGISTRY_PATHS` says where each comes from in `Registry`'s Args (the `cloud` switch): the same
path unless listed. Registry builds these Args from its own with it, and names its own path in
an error raised here."""

from typing import TypedDict

from container_registry.args import CiPush, Lifecycle


class EcrMirror(TypedDict, total=False):
    """A pull-through cache of Docker Hub's official images from ECR Public, in the same
    registry (docs/mirror.md)."""

    enabled: bool
    """Create the cache rule and output its path as `mirror_endpoint`. Default false."""
    docker_hub_secret_arn: str
    """A Secrets Manager secret ARN named `ecr-pullthroughcache/...` holding a Docker Hub
    username and accessToken: adds a Docker Hub cache rule. Default: none, ECR Public only."""


class EcrRegistryArgs(TypedDict, total=False):
    """The inputs of `EcrRegistry`: an Amazon ECR repository, scanned on push and encrypted, with
    a lifecycle policy and a repository policy that grants only what pushing and pulling need."""

    repository_name: str
    """The repository name: 2 to 256 characters, lowercase segments of [a-z0-9] joined by '.',
    '_' or '-', optionally separated by '/'. Default app."""
    immutable_tags: bool
    """Refuse to overwrite a pushed tag. Default true."""
    force_delete: bool
    """Let a destroy delete the repository with the images stored in it. Default false."""
    lifecycle: Lifecycle
    """What the repository deletes on its own."""
    pull_principals: list[str]
    """IAM principal ARNs (arn:aws:iam::<account>:root, :role/... or :user/...) that may pull;
    never `*`. Default: nobody beyond the registry's own account."""
    mirror: EcrMirror
    """A pull-through cache of Docker Hub's official images. Default: off."""
    ci: CiPush
    """Keyless push from GitHub Actions (an IAM role for GitHub's OIDC tokens). Default: none."""
    kms_key_arn: str
    """A customer managed KMS key ARN (not an alias ARN) to encrypt the repository with.
    Default: none, AES256 with ECR-managed keys."""
    oidc_provider_arn: str
    """An existing IAM OIDC provider for token.actions.githubusercontent.com for `ci` to trust
    (an account holds one per URL). Default: none, the registry creates it."""
    archive_unpulled_days: int
    """Move a tagged image not pulled for this many days (1 to 3650) to ECR's archive storage
    class instead of deleting tagged images past `lifecycle.keep_tagged_images`; signatures and
    attestations stay. Default: none, delete."""


# EcrRegistryArgs path -> RegistryArgs path, where they differ.
REGISTRY_PATHS: dict[str, str] = {
    "kms_key_arn": "aws.kms_key_arn",
    "oidc_provider_arn": "aws.oidc_provider_arn",
    "archive_unpulled_days": "aws.archive_unpulled_days",
    "mirror.docker_hub_secret_arn": "aws.docker_hub_secret_arn",
}
