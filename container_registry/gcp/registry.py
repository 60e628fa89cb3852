"""Google Artifact Registry: a Docker repository with immutable tags, cleanup policies and
vulnerability scanning, in a project whose Artifact Registry API this stack switches on (and never
off). Google's older Container Registry (gcr.io) was shut down in 2025; this is its successor."""

import re

import pulumi
import pulumi_gcp as gcp

from container_registry.args import RegistryCredentials
from container_registry.gcp.access import repository_access
from container_registry.gcp.args import ArtifactRegistryArgs
from container_registry.gcp.mirror import gar_mirror
from container_registry.gcp.options import ArtifactOptions, resolve
from container_registry.gcp.policies import (
    ARTIFACT_REGISTRY_API,
    cleanup_policies,
    inherited_scanning,
)
from container_registry.service import Built, CloudRegistry, RegistryLogin

# The user name Google's registries take with an OAuth 2.0 access token as the password.
TOKEN_USERNAME = "oauth2accesstoken"

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


TYPE = "container-registry:index:ArtifactRegistry"


class ArtifactRegistry(CloudRegistry):
    """A private Docker repository in Google Artifact Registry: its resources are attributes a
    program can attach more to. `repository` is the `artifactregistry.Repository`, `api` the
    switched-on Artifact Registry API. Through the component provider (other languages) the
    repository is an output by ID: `repository_id` (its full resource name)."""

    registry_server: pulumi.Output[str]
    """The host (or host:port) to `docker login` to."""
    repository_url: pulumi.Output[str]
    """The repository URL, without a tag; ready to push to once it resolves."""
    login: pulumi.Output[RegistryCredentials]
    """`{server, username, password}` for `docker login`, a Pulumi secret as a whole."""
    mirror_endpoint: pulumi.Output[str | None]
    """With the mirror on: the path that stands for Docker official images
    (`docker pull <mirror_endpoint>/nginx:<tag>`); else none."""
    ci: pulumi.Output[dict[str, str] | None]
    """With `ci`: what a GitHub Actions workflow logs in with, and the certificate identity,
    issuer and commands that verify what it signs (nothing secret); else none."""
    ci_workflow: pulumi.Output[str | None]
    """With `ci`: that workflow, as YAML for .github/workflows/; else none."""

    repository_id: pulumi.Output[str]
    """The repository's resource name, projects/<p>/locations/<l>/repositories/<r> (the
    `repository` attribute in Python)."""

    def __init__(
        self, name: str, args: ArtifactRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Checked before anything is registered, so bad input creates nothing.
        self._build(name, resolve(args), opts)

    def _build(
        self, name: str, options: ArtifactOptions, opts: pulumi.ResourceOptions | None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        built = self._children(name, options)
        self.repository_id = self.repository.id
        outputs = {"repositoryId": self.repository_id}
        self._finish_cloud(built, options.ci, outputs)

    def _children(self, name: str, options: ArtifactOptions) -> Built:
        """The API switched on, the repository with its cleanup policies, the mirror, reader and CI
        grants when asked, and a fresh access token; children of `parent` named `<name>-...`."""
        parent = self
        project, location = options.project, options.location

        # Switched on, never off: other stacks in the project may use the API too.
        self.api = api = gcp.projects.Service(
            f"{name}-api",
            gcp.projects.ServiceArgs(
                project=project, service=ARTIFACT_REGISTRY_API, disable_on_destroy=False
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )

        labels = {
            "project": label_value(options.pulumi_project),
            "stack": label_value(options.pulumi_stack),
        }
        self.repository = repo = gcp.artifactregistry.Repository(
            f"{name}-repo",
            gcp.artifactregistry.RepositoryArgs(
                format="DOCKER",
                repository_id=options.repository_name,
                project=project,
                location=location,
                description=f"Images of {options.stack_path}, pushed by Pulumi",
                labels=labels,
                docker_config=gcp.artifactregistry.RepositoryDockerConfigArgs(
                    immutable_tags=options.immutable_tags
                ),
                cleanup_policies=cleanup_policies(options),
                cleanup_policy_dry_run=False,
                vulnerability_scanning_config=inherited_scanning(),
            ),
            # Deleting a repository deletes every image in it; only forceDelete allows that.
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=[api], protect=not options.force_delete
            ),
        )

        # A fresh access token (valid for an hour) on every run, from the provider's own
        # credentials: no gcloud and no credential helper needed.
        client = gcp.organizations.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=parent)
        )
        server = registry_host(location)
        mirror = (
            gar_mirror(
                name,
                options,
                project=project,
                location=location,
                labels=labels,
                parent=parent,
                depends_on=[api],
            )
            if options.mirror.enabled
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
            options,
            parent=parent,
            project=project,
            location=location,
            repository=repo,
            registry_host=server,
            repo_endpoint=repo_endpoint,
            mirror=mirror,
            mirror_endpoint=endpoint,
        )
        return Built(
            registry_server=server,
            repository_url=repo_endpoint,
            login=RegistryLogin(
                server=server,
                username=TOKEN_USERNAME,
                password=pulumi.Output.secret(client.access_token),
            ),
            ready=[repo] if mirror is None else [repo, mirror],
            mirror_endpoint=endpoint,
            ci=ci_access,
        )
