"""A service's Args once checked: plain, frozen values its component's children read.

Each service's `resolve` (container_registry/<target>/options.py) makes them from its own Args;
no child sees raw Args. The field names follow the Args (lifecycle values flattened). One record
for all four services still (a record per service is what is left of issue 28's item 1), so one
test fixture serves every one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from container_registry.args import DEFAULTS

DEFAULT_CI_REF = str(DEFAULTS["ci.ref"])
DEFAULT_PLATFORM = str(DEFAULTS["image.platform"])
# The file the generated workflow is committed as (the `ci_workflow` output says so): GitHub's
# `job_workflow_ref` of its jobs is `<owner>/<repo>/<this path>@<ref>`.
WORKFLOW_PATH = ".github/workflows/push-image.yml"
# The repository's OIDC subject template that puts the ref and the workflow beside the
# environment (GitHub docs, "OpenID Connect reference", "Customizing the subject claims for an
# organization or repository", the example template [repo, context, job_workflow_ref]): `repo` is
# the repository as the default `sub` spells it (with the owner and repository IDs for a
# repository on immutable subject claims: "owner_id and repo_id are always included in the repo
# segment of the sub claim, even when you customize claims with include_claim_keys"), `context`
# is what follows it by default (`environment:<name>`, `ref:<ref>` or `pull_request`), `ref` is
# the ref the run is for, and `job_workflow_ref` the workflow file the job runs, at that ref
# (`<owner>/<repo>/.github/workflows/<file>@<ref>`). Each claim is written as `<key>:<value>`,
# in this order:
# `repo:acme/app:environment:prod:ref:refs/heads/main:job_workflow_ref:acme/app/.github/...`.
SUBJECT_CLAIM_KEYS: tuple[str, ...] = ("repo", "context", "ref", "job_workflow_ref")


def custom_subject(
    repository: str, context: str, ref: str, job_workflow_ref: str, includes_ref: bool
) -> str:
    """`sub` as GitHub renders it: `repo:<repository>:<context>` in the default template, then
    `:ref:<ref>:job_workflow_ref:<job_workflow_ref>` with the template of SUBJECT_CLAIM_KEYS.
    Values hold no ':' (ci.ref, ci.environment and the repository refuse it), so GitHub's `%3A`
    escaping never applies."""
    subject = f"repo:{repository}:{context}"
    if not includes_ref:
        return subject
    return f"{subject}:ref:{ref}:job_workflow_ref:{job_workflow_ref}"


@dataclass(frozen=True)
class AwsOptions:
    pull_principals: tuple[str, ...] = ()
    kms_key_arn: str | None = None
    # An existing IAM OIDC provider for GitHub to trust instead of creating one.
    oidc_provider_arn: str | None = None
    # Archive tagged images unpulled this many days instead of deleting past keep_tagged_images.
    archive_unpulled_days: int | None = None


@dataclass(frozen=True)
class AzureOptions:
    sku: str = str(DEFAULTS["azure.sku"])
    resource_group: str | None = None
    location: str | None = None
    # `<principal type>:<Entra object ID>` of each principal granted AcrPull on the registry.
    pull_principals: tuple[str, ...] = ()


@dataclass(frozen=True)
class GcpOptions:
    project: str
    location: str
    # IAM members granted roles/artifactregistry.reader on the repository.
    pull_principals: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalOptions:
    port: int = int(str(DEFAULTS["local.port"]))
    user: str = str(DEFAULTS["local.user"])


@dataclass(frozen=True)
class CiOptions:
    """Which GitHub Actions runs may push: one repository and one ref, and with an environment
    only the jobs that run in it. With the owner's and the repository's numeric IDs the clouds
    trust GitHub's immutable subject; without them, the name-only form of older repositories.
    And what the generated workflow builds."""

    repository: str
    """owner/name, as GitHub spells it."""
    ref: str = DEFAULT_CI_REF
    environment: str | None = None
    owner_id: str | None = None
    repository_id: str | None = None
    subject_includes_ref: bool = False
    """ci.subject_includes_ref: the repository's subject template is SUBJECT_CLAIM_KEYS."""
    context: str = str(DEFAULTS["ci.context"])
    dockerfile: str | None = None
    platform: str = DEFAULT_PLATFORM
    mirror_build_args: tuple[tuple[str, str], ...] = ()

    @property
    def immutable(self) -> bool:
        return self.owner_id is not None and self.repository_id is not None

    @property
    def subject_repository(self) -> str:
        """The repository as the token's `sub` spells it: `owner@OWNER_ID/name@REPO_ID` in the
        immutable form, `owner/name` in the old one."""
        if not self.immutable:
            return self.repository
        owner, _, name = self.repository.partition("/")
        return f"{owner}@{self.owner_id}/{name}@{self.repository_id}"

    @property
    def job_workflow_ref(self) -> str:
        """GitHub's `job_workflow_ref` claim of the generated workflow's job:
        `<owner>/<name>/<WORKFLOW_PATH>@<ref>`, by name in either form (GitHub docs, "OpenID
        Connect reference", the example token; Fulcio signs the same claim as the certificate's
        identity)."""
        return f"{self.repository}/{WORKFLOW_PATH}@{self.ref}"

    @property
    def subject(self) -> str:
        """The `sub` claim of the runs allowed to push. In GitHub's default template:
        `repo:<repository>:environment:<env>` for a job in an environment (GitHub puts the
        environment in place of the ref then), else `repo:<repository>:ref:<ref>`. With the
        template of SUBJECT_CLAIM_KEYS, the same followed by `:ref:<ref>` and
        `:job_workflow_ref:<job_workflow_ref>`, so that the subject names the ref in every mode
        and the generated workflow's file."""
        context = f"environment:{self.environment}" if self.environment else f"ref:{self.ref}"
        return custom_subject(
            self.subject_repository,
            context,
            self.ref,
            self.job_workflow_ref,
            self.subject_includes_ref,
        )

    @property
    def dockerfile_path(self) -> str:
        """The Dockerfile the workflow builds: the option, else `<context>/Dockerfile`."""
        if self.dockerfile:
            return self.dockerfile
        return "Dockerfile" if self.context in ("", ".") else f"{self.context}/Dockerfile"


@dataclass(frozen=True)
class MirrorOptions:
    """The pull-through mirror of Docker Hub's official images (docs/mirror.md)."""

    enabled: bool = False
    # azure: the docker.io/library repositories ACR caches, or ("*",) for one wildcard rule.
    repositories: tuple[str, ...] = ("*",)
    # aws: a Secrets Manager secret (ecr-pullthroughcache/...) for an extra Docker Hub rule.
    docker_hub_secret_arn: str | None = None
    # azure: Key Vault secret URIs of a Docker Hub user name and token, for a credential set.
    acr_username_secret_uri: str | None = None
    acr_password_secret_uri: str | None = None
    # azure: the ARM resource ID of the vault holding both, where the credential set's identity
    # is granted Key Vault Secrets User.
    acr_key_vault_id: str | None = None
    # gcp: a Secret Manager secret version holding the Docker Hub token of docker_hub_user.
    gcp_password_secret_version: str | None = None
    # gcp and local: the Docker Hub user name the upstream credentials belong to.
    docker_hub_user: str | None = None
    # local: the Docker Hub token, a Pulumi secret (never a plain string here).
    docker_hub_token: pulumi.Output[str] | None = field(default=None, compare=False, repr=False)
    # local: the port on 127.0.0.1 the mirror is published on.
    local_port: int = 5001


@dataclass(frozen=True)
class RegistryOptions:
    """Everything a target builder reads. `project` and `stack` are the running program's
    (pulumi.get_project/get_stack): names that must not collide between stacks use them."""

    cloud: str = "local"
    repository_name: str = str(DEFAULTS["repository_name"])
    untagged_expiry_days: int = int(str(DEFAULTS["lifecycle.untagged_expiry_days"]))
    keep_tagged_images: int = int(str(DEFAULTS["lifecycle.keep_tagged_images"]))
    immutable_tags: bool = bool(DEFAULTS["immutable_tags"])
    force_delete: bool = bool(DEFAULTS["force_delete"])
    aws: AwsOptions = field(default_factory=AwsOptions)
    azure: AzureOptions = field(default_factory=AzureOptions)
    gcp: GcpOptions | None = None
    local: LocalOptions = field(default_factory=LocalOptions)
    mirror: MirrorOptions = field(default_factory=MirrorOptions)
    ci: CiOptions | None = None
    project: str = "container-registry"
    stack: str = "dev"

    @property
    def tags(self) -> dict[str, str]:
        """The AWS and Azure resource tags that say which project and stack made a resource."""
        return {"project": self.project, "stack": self.stack}
