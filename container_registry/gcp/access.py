"""Who may push to and pull from the Artifact Registry repository: GitHub Actions runs of one
repository and ref (or environment), through a Workload Identity pool with direct federation (no
service account, no key), get roles/artifactregistry.writer on the repository; pullPrincipals get
roles/artifactregistry.reader on it. Nothing is granted on the project. Called by
ArtifactRegistry."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from container_registry import github as ci
from container_registry import github_pins as pins
from container_registry.gcp.options import ArtifactOptions
from container_registry.options import CiOptions
from container_registry.service import CiAccess

WRITER_ROLE = "roles/artifactregistry.writer"
READER_ROLE = "roles/artifactregistry.reader"
# Creating pools needs the IAM API; exchanging GitHub's token needs the Security Token Service.
FEDERATION_APIS: tuple[str, ...] = ("iam.googleapis.com", "sts.googleapis.com")
# Pool and provider IDs: 4 to 32 of [a-z0-9-], starting with a letter. A deleted pool or
# provider keeps its ID for 30 days, so each carries a random suffix kept in the stack's state.
POOL_PREFIX = "github-"
SUFFIX_BYTES = 3
# google.subject is the token's `job_workflow_ref`, the generated workflow's file at its ref
# (at most 127 bytes, checked in ci_input.resolve_ci): `sub` itself is compared in the condition,
# and with the subject template of ciSubjectIncludesRef it is longer than google.subject holds.
# The ID claims are mapped so a principal set can name the repository by its immutable ID.
# Mapping and condition are updated in place, not replaced, when they change (neither is
# ForceNew in hashicorp/terraform-provider-google,
# google/services/iambeta/resource_iam_workload_identity_pool_provider.go, which also documents
# the `assertion`, `google` and `attribute` names a condition may use).
ATTRIBUTE_MAPPING: dict[str, str] = {
    "google.subject": "assertion.job_workflow_ref",
    "attribute.repository": "assertion.repository",
    "attribute.repository_owner": "assertion.repository_owner",
    "attribute.repository_id": "assertion.repository_id",
    "attribute.repository_owner_id": "assertion.repository_owner_id",
    "attribute.ref": "assertion.ref",
}


def _cel_string(value: str) -> str:
    """A CEL string literal; JSON's escaping is valid CEL for these characters."""
    return json.dumps(value)


def attribute_condition(ci_settings: CiOptions) -> str:
    """Google requires a condition for GitHub's shared issuer. This one admits only tokens of
    the configured repository, of runs on the configured ref, of the generated workflow's own
    file (`job_workflow_ref`) started by one of its own triggers (`event_name`, read from the
    workflow generator), with the one subject AWS and Azure pin too. With ciRepository's IDs
    it names the repository by the numeric `repository_owner_id` and `repository_id` claims,
    which a re-created repository of the same name cannot take (google-github-actions/auth,
    docs/SECURITY_CONSIDERATIONS.md: use the numeric `*_id` fields, with this very condition as
    its example). The IDs are strings in GitHub's token, so they are compared as strings.
    Unlike `sub`, `ref` is in an environment's tokens too, so a job in the environment is held
    to ciRef here as well, with GitHub's default subject template or the one of
    ciSubjectIncludesRef (`sub` is compared to CiSettings.subject, written in the template the
    user declared). A claim a token lacks makes the condition an error, which Google refuses."""
    repository = (
        [
            f"assertion.repository_owner_id == {_cel_string(ci_settings.owner_id or '')}",
            f"assertion.repository_id == {_cel_string(ci_settings.repository_id or '')}",
        ]
        if ci_settings.immutable
        else [f"assertion.repository == {_cel_string(ci_settings.repository)}"]
    )
    events = ", ".join(_cel_string(event) for event in ci_settings.workflow_events)
    return " && ".join(
        [
            *repository,
            f"assertion.ref == {_cel_string(ci_settings.ref)}",
            f"assertion.job_workflow_ref == {_cel_string(ci_settings.job_workflow_ref)}",
            f"assertion.event_name in [{events}]",
            f"assertion.sub == {_cel_string(ci.oidc_subject(ci_settings))}",
        ]
    )


def repository_principal_set(pool_name: str, ci_settings: CiOptions) -> str:
    """Every identity of the pool whose token names this GitHub repository: by its immutable ID
    when ciRepository carries it (a new repository under the same name has another ID), by
    owner/name otherwise. The ID does not carry the trust across a rename or transfer: the
    provider's attribute_condition pins `sub`, which holds the names (beside the IDs in the
    immutable form), so from then on no token passes until ciRepository names the repository
    as it is now and the stack is updated, as on AWS and Azure (docs/ci.md)."""
    if ci_settings.immutable:
        attribute = f"attribute.repository_id/{ci_settings.repository_id}"
    else:
        attribute = f"attribute.repository/{ci_settings.repository}"
    return f"principalSet://iam.googleapis.com/{pool_name}/{attribute}"


def member_resource_name(name: str, role: str, member: str) -> str:
    """A stable, short resource name per grant (members may be long and hold ':' and '/')."""
    digest = hashlib.sha256(f"{role}\0{member}".encode()).hexdigest()[:12]
    return f"{name}-{role.rsplit('.', 1)[-1]}-{digest}"


def login_steps(provider: str, project: str, registry_host: str) -> list[dict[str, Any]]:
    return [
        # No service_account: direct Workload Identity Federation, the pool's principal set is
        # what the repository grants to (google-github-actions/auth, README "Direct Workload
        # Identity Federation").
        ci.step(
            pins.GOOGLE_AUTH,
            "Authenticate to Google Cloud",
            workload_identity_provider=provider,
            project_id=project,
        ),
        # The runner's own gcloud (setup-gcloud's action.yml: `version` defaults to "latest",
        # which downloads the newest Cloud SDK unpinned; skip_install uses the runner image's).
        ci.step(pins.GOOGLE_SETUP_GCLOUD, "Set up gcloud", skip_install="true"),
        # gcloud as Docker's credential helper, not a token pasted into `docker login`: a
        # federated token lives 10 minutes at most, and the helper fetches a fresh one per request.
        ci.run_step(
            "Log in to Artifact Registry",
            'gcloud auth configure-docker "$REGISTRY_HOST" --quiet',
            env={"REGISTRY_HOST": registry_host},
        ),
    ]


def repository_access(
    name: str,
    options: ArtifactOptions,
    *,
    parent: pulumi.Resource,
    project: str,
    location: str,
    repository: gcp.artifactregistry.Repository,
    registry_host: str,
    repo_endpoint: pulumi.Output[str],
    mirror: gcp.artifactregistry.Repository | None = None,
    mirror_endpoint: pulumi.Input[str] | None = None,
) -> CiAccess | None:
    """Reader grants for pullPrincipals; the pool, provider and writer grant when ciRepository
    is set (and a reader grant on the mirror, which the CI build takes its base image from).
    Every grant is a RepositoryIamMember: additive, and on one repository only."""
    for member in options.pull_principals:
        _grant(name, parent, project, location, repository, READER_ROLE, member)
    if options.ci is None:
        return None
    return _ci_push(
        name,
        options,
        options.ci,
        parent=parent,
        project=project,
        location=location,
        repository=repository,
        registry_host=registry_host,
        repo_endpoint=repo_endpoint,
        mirror=mirror,
        mirror_endpoint=mirror_endpoint,
    )


def _grant(
    name: str,
    parent: pulumi.Resource,
    project: str,
    location: str,
    repository: gcp.artifactregistry.Repository,
    role: str,
    member: pulumi.Input[str],
    resource_name: str | None = None,
) -> gcp.artifactregistry.RepositoryIamMember:
    if resource_name is None:
        assert isinstance(member, str)
        resource_name = member_resource_name(name, role, member)
    return gcp.artifactregistry.RepositoryIamMember(
        resource_name,
        gcp.artifactregistry.RepositoryIamMemberArgs(
            project=project,
            location=location,
            repository=repository.repository_id,
            role=role,
            member=member,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _ci_push(
    name: str,
    options: ArtifactOptions,
    ci_settings: CiOptions,
    *,
    parent: pulumi.Resource,
    project: str,
    location: str,
    repository: gcp.artifactregistry.Repository,
    registry_host: str,
    repo_endpoint: pulumi.Output[str],
    mirror: gcp.artifactregistry.Repository | None,
    mirror_endpoint: pulumi.Input[str] | None,
) -> CiAccess:
    child = pulumi.ResourceOptions(parent=parent)
    # Switched on, never off: other stacks in the project may use them too.
    apis = [
        gcp.projects.Service(
            f"{name}-api-{api.split('.', 1)[0]}",
            gcp.projects.ServiceArgs(project=project, service=api, disable_on_destroy=False),
            opts=child,
        )
        for api in FEDERATION_APIS
    ]
    suffix = random.RandomId(
        f"{name}-ci-suffix", random.RandomIdArgs(byte_length=SUFFIX_BYTES), opts=child
    )
    federation_id = suffix.hex.apply(lambda h: f"{POOL_PREFIX}{h}")
    pool = gcp.iam.WorkloadIdentityPool(
        f"{name}-ci-pool",
        gcp.iam.WorkloadIdentityPoolArgs(
            project=project,
            workload_identity_pool_id=federation_id,
            display_name="GitHub Actions",
            description=f"GitHub Actions runs that push to {options.stack_path}",
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    provider = gcp.iam.WorkloadIdentityPoolProvider(
        f"{name}-ci-github",
        gcp.iam.WorkloadIdentityPoolProviderArgs(
            project=project,
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=federation_id,
            display_name="GitHub",
            attribute_mapping=ATTRIBUTE_MAPPING,
            attribute_condition=attribute_condition(ci_settings),
            # No allowed_audiences: the default is the provider's own resource name, which is
            # the audience google-github-actions/auth asks GitHub for.
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=pins.GITHUB_OIDC_ISSUER),
        ),
        opts=child,
    )
    principal_set = pool.name.apply(
        lambda pool_name: repository_principal_set(pool_name, ci_settings)
    )
    _grant(
        name,
        parent,
        project,
        location,
        repository,
        WRITER_ROLE,
        principal_set,
        resource_name=f"{name}-ci-writer",
    )
    if mirror is not None:
        # The CI build takes its base image through the mirror: read, on that repository only.
        _grant(
            name,
            parent,
            project,
            location,
            mirror,
            READER_ROLE,
            principal_set,
            resource_name=f"{name}-ci-mirror-reader",
        )
    values = provider.name.apply(
        lambda provider_name: {
            "workloadIdentityProvider": provider_name,
            "project": project,
            "registryHost": registry_host,
            **ci.subject_values(
                ci_settings,
                ci.trusted_runs(ci_settings, workflow=True, events=ci_settings.workflow_events),
            ),
        }
    )
    document = ci.workflow_output(
        ci_settings,
        cloud_name="Artifact Registry",
        login_steps=provider.name.apply(lambda p: login_steps(p, project, registry_host)),
        repo_endpoint=repo_endpoint,
        mirror_endpoint=mirror_endpoint,
    )
    return CiAccess(values=values, workflow=document)
