"""A service's Args once checked: plain, frozen values its component's children read.

Each service's `resolve` (container_registry/<target>/options.py) makes its own record from its
own Args; no child sees raw Args. The field names are the Args' (the lifecycle's flattened).
Here: what every service's record holds, and the GitHub Actions push (`ci`) three of them take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    def workflow_on(self) -> dict[str, Any]:
        """The generated workflow's `on:`: a push of the trusted ref, or a run by hand; with an
        environment too, so that a push to any other branch never starts a job that asks for the
        environment's token."""
        kind, _, name = self.ref.removeprefix("refs/").partition("/")
        return {
            "push": {"branches" if kind == "heads" else "tags": [name]},
            "workflow_dispatch": None,
        }

    @property
    def workflow_events(self) -> tuple[str, ...]:
        """The events that start the generated workflow, as its jobs' tokens name them in
        `event_name` (GitHub docs, "Events that trigger workflows": the event's name is the `on`
        key); the signature check accepts these triggers only."""
        return tuple(self.workflow_on)

    @property
    def dockerfile_path(self) -> str:
        """The Dockerfile the workflow builds: the option, else `<context>/Dockerfile`."""
        if self.dockerfile:
            return self.dockerfile
        return "Dockerfile" if self.context in ("", ".") else f"{self.context}/Dockerfile"


@dataclass(frozen=True, kw_only=True)
class MirrorOptions:
    """The pull-through mirror of Docker Hub's official images (docs/mirror.md): each service's
    own record (`<target>/options.py`) adds its upstream's credentials under their Args' names."""

    enabled: bool = False


@dataclass(frozen=True, kw_only=True)
class ServiceOptions:
    """A service's Args as checked, the fields every service takes; each service's own record
    (EcrOptions, AcrOptions, ArtifactOptions, LocalOptions in `<target>/options.py`) adds its
    fields under their Args' names. `pulumi_project` and `pulumi_stack` are the running
    program's (pulumi.get_project/get_stack): names that must not collide between stacks use
    them."""

    repository_name: str = str(DEFAULTS["repository_name"])
    untagged_expiry_days: int = int(str(DEFAULTS["lifecycle.untagged_expiry_days"]))
    keep_tagged_images: int = int(str(DEFAULTS["lifecycle.keep_tagged_images"]))
    immutable_tags: bool = bool(DEFAULTS["immutable_tags"])
    force_delete: bool = bool(DEFAULTS["force_delete"])
    mirror: MirrorOptions = field(default_factory=MirrorOptions)
    ci: CiOptions | None = None
    pulumi_project: str = "container-registry"
    pulumi_stack: str = "dev"

    @property
    def stack_path(self) -> str:
        """`<project>/<stack>`, as descriptions of the resources name their stack."""
        return f"{self.pulumi_project}/{self.pulumi_stack}"

    @property
    def tags(self) -> dict[str, str]:
        """The AWS and Azure resource tags that say which project and stack made a resource."""
        return {"project": self.pulumi_project, "stack": self.pulumi_stack}
