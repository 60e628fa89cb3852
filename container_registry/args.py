"""The typed Args of `Registry` and `RegistryImage`: the public shape of the package.

Each field carries a docstring; Pulumi's component provider (`pulumi.provider.experimental`)
reads them into the schema, so this file is the one place a field is described. Every default is
written once, in `DEFAULTS` below (and in the docstrings that state it); validation lives next to
what it validates (`container_registry/<target>/options.py`, `naming.py`, `github.py`), after
`shape.py` has checked every value against the types below.

Fields that decide which resources exist (the cloud, a switch, a name) are plain values, known
when the component is constructed; only what a registry made elsewhere hands over (its URL and
login) may be an Output.
"""

import enum
from typing import TypedDict

import pulumi

# typing has Required from 3.11 on; typing_extensions (a dependency of pulumi) on 3.10 too.
from typing_extensions import Required

__all__ = [
    "AcrSku",
    "AwsTarget",
    "AzureTarget",
    "CiPush",
    "Cloud",
    "DEFAULTS",
    "GcpTarget",
    "Lifecycle",
    "LocalTarget",
    "PullThroughMirror",
    "RegistryArgs",
    "RegistryImageArgs",
    "RegistryCredentials",
]


class Lifecycle(TypedDict, total=False):
    """What the registry deletes (ECR lifecycle policy, ACR retention and purge task, Artifact
    Registry cleanup policies; on the local registry, the retention run of
    container_registry/local/retention.py). A kept image keeps its cosign signature and
    attestation (docs/supply-chain.md)."""

    untagged_expiry_days: int
    """Untagged images are deleted this many days after they were pushed, 1 to 3650.
    Default 14."""
    keep_tagged_images: int
    """Only this many of the newest tagged images are kept, with their signatures, 1 to 10000.
    Default 30. Exactly that many on azure (image tags) and local, signed or not. ECR and
    Artifact Registry count a signature as an image: without `ci` exactly N; with `ci` the
    newest 3N + 2 tagged manifests, so N signed images (each with its signature and
    attestation), up to 3N + 2 unsigned ones (docs/supply-chain.md)."""


class PullThroughMirror(TypedDict, total=False):
    """A pull-through mirror of Docker Hub's official images in the same registry (an ECR
    pull-through cache from ECR Public, an ACR cache rule, an Artifact Registry remote
    repository, or a second local registry container in proxy mode). Its upstream credentials,
    where a target takes a reference to a stored secret, are in that target's options."""

    enabled: bool
    """Create the mirror and output its path as `mirror_endpoint`. Default false: nothing is
    created."""
    repositories: list[str]
    """(azure) The docker.io/library repositories ACR caches, one cache rule each, or `["*"]`
    for one wildcard rule. Default `["*"]`."""
    docker_hub_user: str
    """(gcp, local) The Docker Hub user the mirror's upstream credentials belong to; used with
    `docker_hub_token` (local) or `gcp.docker_hub_password_secret_version` (gcp), and without
    them the mirror pulls anonymously. Default: none, anonymous pulls."""
    docker_hub_token: pulumi.Input[str]
    """(local) The Docker Hub access token of `docker_hub_user`; kept as a Pulumi secret.
    Default: none."""


class CiPush(TypedDict, total=False):
    """Keyless push from GitHub Actions (OIDC): an identity only one repository's runs on one ref
    (or in one environment) can take, allowed to push to this repository, and the workflow that
    uses it. aws, azure and gcp only: hosted runners cannot reach a local registry."""

    repository: Required[str]
    """The GitHub repository whose workflow runs may push: `owner@OWNER_ID/name@REPO_ID`
    (GitHub's immutable subject, preferred) or `owner/name` (the name-only subject)."""
    ref: str
    """The branch or tag ref (`refs/heads/...` or `refs/tags/...`, no wildcards) whose runs may
    push. Default `refs/heads/main`."""
    environment: str
    """A GitHub environment: when set, only jobs in it (on `ref`) may push; on aws and azure it
    needs `subject_includes_ref`. Default: none."""
    subject_includes_ref: bool
    """Declares that the repository's OIDC subject template is include_claim_keys
    [repo, context, ref, job_workflow_ref] (use_default false), so `sub` is
    `repo:<repository>:<context>:ref:<ref>:job_workflow_ref:<owner>/<name>/<workflow>@<ref>`:
    it binds an environment's jobs to `ref`, and on azure the trust to the generated workflow.
    Required with `environment` on aws and azure. Default false: GitHub's default template."""
    context: str
    """The build context the workflow builds, relative to the repository root. Default `.`."""
    dockerfile: str
    """The Dockerfile the workflow builds, relative to the repository root. Default
    `<context>/Dockerfile`."""
    platform: str
    """The platform the workflow builds for, such as linux/amd64. Default linux/amd64."""
    mirror_build_args: dict[str, str]
    """Build arguments that name a Docker official image in the mirror: `{"BASE_IMAGE": "nginx"}`
    builds with `BASE_IMAGE=<mirror_endpoint>/nginx`. Used only with the mirror on."""


class Cloud(str, enum.Enum):
    """Where a `Registry` lives: the service it builds."""

    LOCAL = "local"
    """A registry container on your Docker engine (LocalRegistry)."""
    AWS = "aws"
    """Amazon ECR (EcrRegistry)."""
    AZURE = "azure"
    """Azure Container Registry (AcrRegistry)."""
    GCP = "gcp"
    """Google Artifact Registry (ArtifactRegistry)."""


class AcrSku(str, enum.Enum):
    """An Azure Container Registry SKU (Microsoft Learn, "Azure Container Registry service
    tiers")."""

    BASIC = "Basic"
    """The smallest tier; the default."""
    STANDARD = "Standard"
    """More storage and throughput."""
    PREMIUM = "Premium"
    """Adds the registry's own retention policy for untagged manifests."""


class AwsTarget(TypedDict, total=False):
    """Options of the aws target (Amazon ECR)."""

    kms_key_arn: str
    """A customer managed KMS key ARN (not an alias ARN) to encrypt the repository with.
    Default: none, AES256 with ECR-managed keys."""
    oidc_provider_arn: str
    """An existing IAM OIDC provider for token.actions.githubusercontent.com for `ci` to trust
    (an account holds one per URL). Default: none, the registry creates it."""
    docker_hub_secret_arn: str
    """(with the mirror) A Secrets Manager secret ARN named `ecr-pullthroughcache/...` holding a
    Docker Hub username and accessToken: adds a Docker Hub cache rule. Default: none, ECR Public
    only."""
    archive_unpulled_days: int
    """Move a tagged image not pulled for this many days (1 to 3650) to ECR's archive storage
    class instead of deleting tagged images past `lifecycle.keep_tagged_images`; signatures and
    attestations stay. Default: none, delete."""


class AzureTarget(TypedDict, total=False):
    """Options of the azure target (Azure Container Registry)."""

    sku: AcrSku
    """The registry SKU: Basic, Standard or Premium. Default Basic."""
    resource_group: str
    """An existing resource group to put the registry in. Default: none, a new resource group
    owned by this registry."""
    location: str
    """The Azure region, such as westeurope. Required unless `resource_group` is set (then the
    group's location)."""
    docker_hub_username_secret_uri: str
    """(with the mirror) The Key Vault secret URI of a Docker Hub user name, for an ACR
    credential set; set with `docker_hub_password_secret_uri` and `docker_hub_key_vault_id`.
    Default: none, anonymous pulls."""
    docker_hub_password_secret_uri: str
    """(with the mirror) The Key Vault secret URI of a Docker Hub access token, in the same
    vault as the user name."""
    docker_hub_key_vault_id: str
    """(with the mirror) The ARM resource ID of the Key Vault holding both secrets: the credential
    set's identity is granted Key Vault Secrets User there."""


class GcpTarget(TypedDict, total=False):
    """Options of the gcp target (Artifact Registry)."""

    project: Required[str]
    """The Google Cloud project ID the repository lives in."""
    location: Required[str]
    """The Artifact Registry location, such as us-central1, europe-west4 or europe."""
    docker_hub_password_secret_version: str
    """(with the mirror) A Secret Manager secret version
    (`projects/<p>/secrets/<s>/versions/<v>`) holding the Docker Hub access token of
    `mirror.docker_hub_user`. Default: none, anonymous pulls."""


class LocalTarget(TypedDict, total=False):
    """Options of the local target (a CNCF Distribution registry container on the Docker engine
    of the Docker provider in use, published on 127.0.0.1 only)."""

    port: int
    """The port on 127.0.0.1 the registry is published on, 1 to 65535. Default 5000."""
    user: str
    """The registry's basic-auth user; its password is generated and kept as a secret.
    Default admin."""
    mirror_port: int
    """(with the mirror) The port on 127.0.0.1 the mirror is published on. Default: `port` + 1."""


class RegistryArgs(TypedDict, total=False):
    """The inputs of `Registry`: a private registry with one repository on one target."""

    cloud: Required[Cloud]
    """Where the registry lives: local, aws, azure or gcp."""
    repository_name: str
    """The repository images are pushed to, checked against the target's naming rules.
    Default app."""
    immutable_tags: bool
    """Refuse to overwrite a pushed tag (ECR, Artifact Registry; ACR and the local registry have
    no such switch). Default true."""
    force_delete: bool
    """Let a destroy delete the registry with the images stored in it. Default false: the
    registry is protected (azure, gcp) or refuses to be deleted while it holds images (aws)."""
    lifecycle: Lifecycle
    """What the registry deletes on its own."""
    pull_principals: list[str]
    """Who may pull, in the target's own form: IAM principal ARNs (aws), Entra object IDs,
    optionally as User:/Group:/ServicePrincipal:<id> (azure; a bare ID is a service principal),
    IAM members such as serviceAccount:... (gcp). Never `*`, allUsers or allAuthenticatedUsers.
    Default: nobody beyond the registry's own account."""
    mirror: PullThroughMirror
    """A pull-through mirror of Docker Hub's official images. Default: off."""
    ci: CiPush
    """Keyless push from GitHub Actions. Default: none, no CI identity is created."""
    aws: AwsTarget
    """Options of the aws target (EcrRegistry's own). Like every field the chosen target does
    not take, ignored on another cloud."""
    azure: AzureTarget
    """Options of the azure target (AcrRegistry's own); ignored on another cloud."""
    gcp: GcpTarget
    """Options of the gcp target (ArtifactRegistry's own); required there, ignored elsewhere."""
    local: LocalTarget
    """Options of the local target (LocalRegistry's own); ignored on another cloud."""


class RegistryCredentials(TypedDict):
    """What `docker login` needs; the password is treated as a secret wherever it goes."""

    server: pulumi.Input[str]
    """The registry host (or host:port) to log in to."""
    username: pulumi.Input[str]
    """The user name."""
    password: pulumi.Input[str]
    """The password or token."""


class RegistryImageArgs(TypedDict, total=False):
    """The inputs of `RegistryImage`: an image built from any context and pushed to any registry
    given by its outputs, `Registry`'s or one made elsewhere."""

    context: Required[str]
    """The build context, a directory path (relative to the program's working directory)."""
    dockerfile: str
    """The Dockerfile, relative to `context`. Default Dockerfile."""
    platform: str
    """The platform to build for, such as linux/amd64, linux/arm64/v8 or linux/arm/v7.
    Default linux/amd64."""
    build_args: dict[str, pulumi.Input[str]]
    """Build arguments (`ARG`s of the Dockerfile); they count in the content tag. Default: none."""
    tag: str
    """The image tag; `latest` is refused. Default: the first 12 hex digits of a SHA-256 over
    the context (as .dockerignore filters it), the platform and the build arguments."""
    repository_url: Required[pulumi.Input[str]]
    """The repository to push to, without a tag, such as `Registry.repository_url`."""
    login: Required[pulumi.Input[RegistryCredentials]]
    """How to log in to the registry, such as `Registry.login`."""


# Every default, once: the components read them from here, the stack's Pulumi.yaml must agree
# (tests/test_project_files.py holds the two together), and the docstrings above state them.
DEFAULTS: dict[str, object] = {
    "repository_name": "app",
    "immutable_tags": True,
    "force_delete": False,
    "lifecycle.untagged_expiry_days": 14,
    "lifecycle.keep_tagged_images": 30,
    "mirror.enabled": False,
    "mirror.repositories": ["*"],
    "ci.ref": "refs/heads/main",
    "ci.subject_includes_ref": False,
    "ci.context": ".",
    "ci.platform": "linux/amd64",
    "azure.sku": "Basic",
    "local.port": 5000,
    "local.user": "admin",
    "image.dockerfile": "Dockerfile",
    "image.platform": "linux/amd64",
}
