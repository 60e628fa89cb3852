"""The Artifact Registry mirror (issue 12): a remote repository of Docker Hub, with upstream
credentials from Secret Manager when given (and read access on that one secret for Artifact
Registry's service agent)."""

from __future__ import annotations

import re

import pulumi
import pulumi_gcp as gcp

from container_registry.errors import ArgumentError
from container_registry.gcp.options import ArtifactOptions
from container_registry.gcp.policies import (
    ARTIFACT_REGISTRY_API,
    cleanup_policies,
    inherited_scanning,
    mirror_repository_id,
)

SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
_SECRET_VERSION_PARTS = re.compile(r"projects/([^/]+)/secrets/([^/]+)/versions/[^/]+")


def secret_of_version(version: str) -> tuple[str, str]:
    """(project, secret) of a Secret Manager secret version name."""
    found = _SECRET_VERSION_PARTS.fullmatch(version)
    if found is None:
        raise ArgumentError(
            "gcp.docker_hub_password_secret_version",
            version,
            "is not a Secret Manager secret version",
        )
    return found[1], found[2]


def _secret_access(
    name: str,
    version: str,
    project: str,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
) -> gcp.secretmanager.SecretIamMember:
    """Artifact Registry's service agent, and read access for it on the one secret."""
    agent = gcp.projects.ServiceIdentity(
        f"{name}-mirror-agent",
        gcp.projects.ServiceIdentityArgs(project=project, service=ARTIFACT_REGISTRY_API),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
    secret_project, secret_id = secret_of_version(version)
    return gcp.secretmanager.SecretIamMember(
        f"{name}-mirror-secret-access",
        gcp.secretmanager.SecretIamMemberArgs(
            project=secret_project,
            secret_id=secret_id,
            role=SECRET_ACCESSOR_ROLE,
            member=agent.member,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def gar_mirror(
    name: str,
    options: ArtifactOptions,
    *,
    project: str,
    location: str,
    labels: dict[str, str],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
) -> gcp.artifactregistry.Repository:
    """A REMOTE_REPOSITORY with Docker Hub upstream: pulls through it are cached in it. Its own
    cleanup policies keep the cache in bounds; it is protected like the main repository. Its tags
    follow upstream, so there is no immutable-tags switch (dockerConfig applies to STANDARD
    repositories only)."""
    mirror = options.mirror
    credentials = None
    skip_validation: bool | None = None
    if mirror.docker_hub_user and mirror.docker_hub_password_secret_version:
        # Artifact Registry's service agent reads the secret version on each upstream pull. So
        # the agent is made to exist (it may not yet, in a project whose API this stack just
        # turned on) and granted read on that one secret before the repository is created.
        #
        # Google also validates the upstream credentials when it creates a remote repository,
        # unless disable_upstream_validation is set (pulumi_gcp/artifactregistry/_inputs.py,
        # RepositoryRemoteRepositoryConfigArgs). An IAM grant takes effect after a propagation
        # delay Google does not bound (typically two minutes, sometimes seven or more:
        # https://cloud.google.com/iam/docs/access-change-propagation), and the
        # provider sends the create once: resourceArtifactRegistryRepositoryCreate in
        # google/services/artifactregistry/resource_artifact_registry_repository.go of
        # hashicorp/terraform-provider-google has no retry for "Failed to validate remote
        # upstream" (issue 17589). Ordering alone cannot close that race and a fixed wait cannot
        # bound it, so validation is turned off, as Google's engineer advised on that issue and
        # the provider's own Docker Hub example does (testAccArtifactRegistryRepository_
        # artifactRegistryRepositoryRemoteDockerhubAuthExample). The field is input-only and
        # updatable (its flatten function returns the configured value), so it never shows as a
        # diff. The ordering stays, so the grant has the repository's creation behind it before
        # the build's first pull reads the secret; that pull also names a wrong token, in the
        # same `up`, where validation would have named it at creation.
        skip_validation = True
        depends_on = [
            *depends_on,
            _secret_access(
                name, mirror.docker_hub_password_secret_version, project, parent, depends_on
            ),
        ]
        credentials = gcp.artifactregistry.RepositoryRemoteRepositoryConfigUpstreamCredentialsArgs(
            username_password_credentials=gcp.artifactregistry.RepositoryRemoteRepositoryConfigUpstreamCredentialsUsernamePasswordCredentialsArgs(  # noqa: E501
                username=mirror.docker_hub_user,
                password_secret_version=mirror.docker_hub_password_secret_version,
            )
        )
    return gcp.artifactregistry.Repository(
        f"{name}-mirror",
        gcp.artifactregistry.RepositoryArgs(
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            repository_id=mirror_repository_id(options.repository_name),
            project=project,
            location=location,
            description=f"Docker Hub pull-through cache of {options.stack_path}",
            labels=labels,
            remote_repository_config=gcp.artifactregistry.RepositoryRemoteRepositoryConfigArgs(
                description="Docker Hub",
                docker_repository=gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryArgs(  # noqa: E501
                    public_repository="DOCKER_HUB"
                ),
                upstream_credentials=credentials,
                disable_upstream_validation=skip_validation,
            ),
            cleanup_policies=cleanup_policies(options),
            cleanup_policy_dry_run=False,
            # Scanned like the main repository.
            vulnerability_scanning_config=inherited_scanning(),
        ),
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=depends_on, protect=not options.force_delete
        ),
    )
