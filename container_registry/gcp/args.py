"""The Args of `ArtifactRegistry` (no SDK here): flat, the Artifact Registry options beside the
shared ones. `REGISTRY_PATHS` says where each comes from in `Registry`'s Args, where the path
differs (container_registry/switch.py)."""

from typing import TypedDict

from typing_extensions import Required

from container_registry.args import CiPush, Lifecycle


class ArtifactMirror(TypedDict, total=False):
    """An Artifact Registry remote repository of Docker Hub's official images (docs/mirror.md)."""

    enabled: bool
    """Create the remote repository and output its path as `mirror_endpoint`. Default false."""
    docker_hub_user: str
    """The Docker Hub user the upstream credentials belong to. Default: none, anonymous pulls."""
    docker_hub_password_secret_version: str
    """A Secret Manager secret version (`projects/<p>/secrets/<s>/versions/<v>`) holding the
    Docker Hub access token of `docker_hub_user`. Default: none, anonymous pulls."""


class ArtifactRegistryArgs(TypedDict, total=False):
    """The inputs of `ArtifactRegistry`: a Docker repository in Google Artifact Registry, with
    cleanup policies and grants on the repository only."""

    project: Required[str]
    """The Google Cloud project ID the repository lives in."""
    location: Required[str]
    """The Artifact Registry location, such as us-central1, europe-west4 or europe."""
    repository_name: str
    """The repository ID: 1 to 63 lowercase letters, digits and hyphens, starting with a letter.
    Default app."""
    immutable_tags: bool
    """Refuse to overwrite a pushed tag. Default true."""
    force_delete: bool
    """Let a destroy delete the repository with the images stored in it. Default false: it is
    protected."""
    lifecycle: Lifecycle
    """What the repository deletes on its own (cleanup policies)."""
    pull_principals: list[str]
    """IAM members such as serviceAccount:... or group:... granted roles/artifactregistry.reader
    on the repository; never allUsers or allAuthenticatedUsers. Default: nobody."""
    mirror: ArtifactMirror
    """A remote repository of Docker Hub's official images. Default: off."""
    ci: CiPush
    """Keyless push from GitHub Actions (workload identity federation). Default: none."""


# ArtifactRegistryArgs path -> RegistryArgs path, where they differ.
REGISTRY_PATHS: dict[str, str] = {
    "project": "gcp.project",
    "location": "gcp.location",
    "mirror.docker_hub_password_secret_version": "gcp.docker_hub_password_secret_version",
}
