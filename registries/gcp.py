"""Google Artifact Registry: a Docker repository with immutable tags, cleanup policies and
vulnerability scanning, in a project whose Artifact Registry API this stack switches on (and never
off). Google's older Container Registry (gcr.io) was shut down in 2025; this is its successor."""

from __future__ import annotations

import re

import pulumi
import pulumi_gcp as gcp

from registries.component import RegistryComponent
from registries.gcp_access import repository_access
from registries.image import RegistryLogin, mirror_build_args
from registries.provenance import tagged_window
from registries.settings import Settings, SettingsError

ARTIFACT_REGISTRY_API = "artifactregistry.googleapis.com"
# The user name Google's registries take with an OAuth 2.0 access token as the password.
TOKEN_USERNAME = "oauth2accesstoken"
SECONDS_PER_DAY = 86_400

_LABEL_VALUE_INVALID = re.compile(r"[^a-z0-9_-]")
_LABEL_VALUE_MAX = 63


def label_value(text: str) -> str:
    """`text` as a Google Cloud label value: lowercase letters, digits, '_' and '-', at most 63."""
    return _LABEL_VALUE_INVALID.sub("-", text.lower())[:_LABEL_VALUE_MAX]


def registry_host(location: str) -> str:
    """The Docker host of an Artifact Registry location, such as europe-west4-docker.pkg.dev."""
    return f"{location}-docker.pkg.dev"


def project_path(project: str) -> str:
    """The project as it appears in an image path: a domain-scoped `example.com:proj` becomes
    `example.com/proj`, the way Artifact Registry spells it."""
    return project.replace(":", "/")


def inherited_scanning() -> gcp.artifactregistry.RepositoryVulnerabilityScanningConfigArgs:
    """INHERITED: a repository is scanned whenever its project has the Container Scanning API on."""
    return gcp.artifactregistry.RepositoryVulnerabilityScanningConfigArgs(
        enablement_config="INHERITED"
    )


def cleanup_policies(settings: Settings) -> list[gcp.artifactregistry.RepositoryCleanupPolicyArgs]:
    """Delete untagged versions after N days; keep only the newest M versions once tagged.

    Artifact Registry deletes a version only when some DELETE policy matches it and no KEEP
    policy does; a KEEP policy on its own deletes nothing. So "keep only the newest M tagged
    images" takes two policies: `delete-tagged` matches every tagged version, and
    `keep-newest` (most_recent_versions) exempts the newest M. Tagged versions beyond the newest
    M are deleted; untagged ones go after `untaggedExpiryDays`.

    `delete-tagged` says TAGGED, not ANY: with ANY an untagged version outside the newest M would
    be deleted at once, ignoring `untaggedExpiryDays`. The same rules as the ECR lifecycle policy.
    One difference remains, set by the API: most_recent_versions counts every version, tagged or
    not, so an untagged version among the newest M is kept until it falls out of them.

    The newest M images keep their cosign signatures and attestations (registries/provenance.py):
    `keep-newest` keeps the newest 3M versions, and a signature, younger than its image, is among
    them whenever its image is. A signature whose image has gone is deleted with the other
    tagged versions past the newest 3M.
    """
    untagged_age = f"{settings.untagged_expiry_days * SECONDS_PER_DAY}s"
    return [
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="delete-untagged",
            action="DELETE",
            condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                tag_state="UNTAGGED", older_than=untagged_age
            ),
        ),
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="delete-tagged",
            action="DELETE",
            condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(tag_state="TAGGED"),
        ),
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="keep-newest",
            action="KEEP",
            most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(
                keep_count=tagged_window(settings.keep_tagged_images)
            ),
        ),
    ]


# ------------------------------------------------------------------ the mirror (issue 12)

MIRROR_SUFFIX = "-mirror"
_REPOSITORY_ID_MAX = 63


def mirror_repository_id(repository_name: str) -> str:
    """The remote repository's ID: the main one's plus `-mirror`, within the 63-character limit."""
    stem = repository_name[: _REPOSITORY_ID_MAX - len(MIRROR_SUFFIX)].rstrip("-")
    return stem + MIRROR_SUFFIX


SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
_SECRET_VERSION_PARTS = re.compile(r"projects/([^/]+)/secrets/([^/]+)/versions/[^/]+")


def secret_of_version(version: str) -> tuple[str, str]:
    """(project, secret) of a Secret Manager secret version name."""
    found = _SECRET_VERSION_PARTS.fullmatch(version)
    if found is None:
        raise SettingsError(
            "gcpDockerHubPasswordSecretVersion", version, "is not a Secret Manager secret version"
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


def _gar_mirror(
    name: str,
    settings: Settings,
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
    mirror = settings.mirror
    credentials = None
    skip_validation: bool | None = None
    if mirror.docker_hub_user and mirror.gcp_password_secret_version:
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
            _secret_access(name, mirror.gcp_password_secret_version, project, parent, depends_on),
        ]
        credentials = gcp.artifactregistry.RepositoryRemoteRepositoryConfigUpstreamCredentialsArgs(
            username_password_credentials=gcp.artifactregistry.RepositoryRemoteRepositoryConfigUpstreamCredentialsUsernamePasswordCredentialsArgs(  # noqa: E501
                username=mirror.docker_hub_user,
                password_secret_version=mirror.gcp_password_secret_version,
            )
        )
    return gcp.artifactregistry.Repository(
        f"{name}-mirror",
        gcp.artifactregistry.RepositoryArgs(
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            repository_id=mirror_repository_id(settings.repository_name),
            project=project,
            location=location,
            description=f"Docker Hub pull-through cache of {settings.project}/{settings.stack}",
            labels=labels,
            remote_repository_config=gcp.artifactregistry.RepositoryRemoteRepositoryConfigArgs(
                description="Docker Hub",
                docker_repository=gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryArgs(  # noqa: E501
                    public_repository="DOCKER_HUB"
                ),
                upstream_credentials=credentials,
                disable_upstream_validation=skip_validation,
            ),
            cleanup_policies=cleanup_policies(settings),
            cleanup_policy_dry_run=False,
            # Scanned like the main repository.
            vulnerability_scanning_config=inherited_scanning(),
        ),
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=depends_on, protect=not settings.force_delete
        ),
    )


class ArtifactRegistry(RegistryComponent):
    """An Artifact Registry Docker repository with the app image pushed to it."""

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        gcp_settings = settings.gcp
        if gcp_settings is None:
            raise SettingsError(
                "gcp:project", None, "is not set: the gcp target needs a project and a location"
            )
        super().__init__("container-registry:gcp:ArtifactRegistry", name, None, opts)
        project, location = gcp_settings.project, gcp_settings.location

        # Switched on, never off: other stacks in the project may use the API too.
        api = gcp.projects.Service(
            f"{name}-api",
            gcp.projects.ServiceArgs(
                project=project, service=ARTIFACT_REGISTRY_API, disable_on_destroy=False
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        labels = {"project": label_value(settings.project), "stack": label_value(settings.stack)}
        repo = gcp.artifactregistry.Repository(
            f"{name}-repo",
            gcp.artifactregistry.RepositoryArgs(
                format="DOCKER",
                repository_id=settings.repository_name,
                project=project,
                location=location,
                description=f"Images of {settings.project}/{settings.stack}, pushed by Pulumi",
                labels=labels,
                docker_config=gcp.artifactregistry.RepositoryDockerConfigArgs(
                    immutable_tags=settings.immutable_tags
                ),
                cleanup_policies=cleanup_policies(settings),
                cleanup_policy_dry_run=False,
                vulnerability_scanning_config=inherited_scanning(),
            ),
            # Deleting a repository deletes every image in it; only forceDelete allows that.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[api], protect=not settings.force_delete
            ),
        )

        # A fresh access token (valid for an hour) on every run, from the provider's own
        # credentials: no gcloud and no credential helper needed.
        client = gcp.organizations.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        )
        server = registry_host(location)
        mirror = (
            _gar_mirror(
                name,
                settings,
                project=project,
                location=location,
                labels=labels,
                parent=self,
                depends_on=[api],
            )
            if settings.mirror.enabled
            else None
        )
        # Docker official images through the remote repository: <host>/<project>/<repo>/library.
        endpoint = (
            None
            if mirror is None
            else pulumi.Output.concat(
                server, "/", project_path(project), "/", mirror.repository_id, "/library"
            )
        )
        # A push needs <host>/<project>/<repository>/<image>: Artifact Registry refuses one without
        # an image name ("NAME_INVALID: Missing image name"). The image is named after the
        # repository, so its name is repositoryName on every target.
        repo_endpoint = pulumi.Output.concat(
            server, "/", project_path(project), "/", repo.repository_id, "/", repo.repository_id
        )
        # Keyless push from CI and reader grants for pullPrincipals (issue 11), on the
        # repository only.
        ci_access = repository_access(
            name,
            settings,
            parent=self,
            project=project,
            location=location,
            repository=repo,
            registry_host=server,
            repo_endpoint=repo_endpoint,
            mirror=mirror,
            build_args=None if endpoint is None else mirror_build_args(endpoint),
        )
        self._publish(
            name,
            settings,
            registry_server=server,
            repo_endpoint=repo_endpoint,
            login=RegistryLogin(
                server=server,
                username=TOKEN_USERNAME,
                password=pulumi.Output.secret(client.access_token),
            ),
            depends_on=[repo] if mirror is None else [repo, mirror],
            build_args=None if endpoint is None else mirror_build_args(endpoint),
            mirror_endpoint=endpoint,
            ci_access=ci_access,
        )
