"""The gcp target's options checked (no SDK here): the project and location, Artifact Registry's
repository ID rule, the pull principals as IAM members, and the mirror's secret version."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from container_registry.ci_input import resolve_ci
from container_registry.errors import required
from container_registry.gcp.args import ArtifactRegistryArgs
from container_registry.mirror import docker_hub_user
from container_registry.mirror import enabled as mirror_enabled
from container_registry.naming import optional_text, repository_name
from container_registry.options import MirrorOptions, ServiceOptions
from container_registry.principals import pull_principals
from container_registry.service import common_options

GAR_REPOSITORY = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
REPOSITORY_RULE = (
    "is not a valid Artifact Registry repository ID: up to 63 lowercase letters, digits "
    "and hyphens, starting with a letter and ending with a letter or digit"
)
PROJECT = re.compile(r"(?:[a-z][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
PROJECT_RULE = (
    "is not a Google Cloud project ID: 6 to 30 lowercase letters, digits and hyphens, "
    "starting with a letter"
)
LOCATION = re.compile(r"[a-z]+(?:-[a-z]+[0-9]+)?")
LOCATION_RULE = "is not a Google Cloud location such as us-central1, europe-west4 or us"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
IAM_MEMBER = re.compile(
    rf"(?:(?:serviceAccount|group|user):{_EMAIL}"
    r"|domain:[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
    r"|(?:principal|principalSet)://iam\.googleapis\.com/[A-Za-z0-9._~@:/-]+)"
)
PRINCIPAL_RULE = (
    "is not a Google Cloud IAM member (serviceAccount:, group:, user:, domain:, "
    "principal:// or principalSet://iam.googleapis.com/...); allUsers, "
    "allAuthenticatedUsers, '*' and wildcards are never allowed"
)
SECRET_VERSION = re.compile(
    r"projects/(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})/secrets/[A-Za-z0-9_-]{1,255}"
    r"/versions/(?:[1-9][0-9]{0,18}|latest)"
)


@dataclass(frozen=True, kw_only=True)
class ArtifactMirrorOptions(MirrorOptions):
    docker_hub_user: str | None = None
    docker_hub_password_secret_version: str | None = None
    """A Secret Manager secret version holding the Docker Hub token of docker_hub_user."""


@dataclass(frozen=True, kw_only=True)
class ArtifactOptions(ServiceOptions):
    """ArtifactRegistryArgs as checked. `project` is the Google Cloud project."""

    project: str
    location: str
    mirror: ArtifactMirrorOptions = field(default_factory=ArtifactMirrorOptions)
    pull_principals: tuple[str, ...] = ()
    """IAM members granted roles/artifactregistry.reader on the repository."""


def resolve(args: ArtifactRegistryArgs) -> ArtifactOptions:
    """Every ArtifactRegistryArgs value checked, once, before anything is registered."""
    common = common_options(args, ArtifactRegistryArgs)
    name = common.pop("repository_name")
    mirror: Mapping[str, Any] = args.get("mirror") or {}
    project = optional_text(args, "project", "project", PROJECT, PROJECT_RULE)
    location = optional_text(args, "location", "location", LOCATION, LOCATION_RULE)
    version = optional_text(
        mirror,
        "docker_hub_password_secret_version",
        "mirror.docker_hub_password_secret_version",
        SECRET_VERSION,
        "is not a Secret Manager secret version "
        "(projects/<project>/secrets/<secret>/versions/<number or latest>)",
    )
    user = docker_hub_user(mirror)
    if version is not None and user is None:
        raise required("mirror.docker_hub_user", "Docker Hub credentials need the user name too")
    name = repository_name(name, "repository_name", GAR_REPOSITORY, 1, 63, REPOSITORY_RULE)
    principals = pull_principals(
        args.get("pull_principals"), IAM_MEMBER, "IAM members", PRINCIPAL_RULE
    )
    if project is None:
        raise required("project", "the Google Cloud project the repository lives in")
    if location is None:
        raise required("location", "the Artifact Registry location, such as us-central1")
    return ArtifactOptions(
        **common,
        repository_name=name,
        project=project,
        location=location,
        pull_principals=principals,
        mirror=ArtifactMirrorOptions(
            enabled=mirror_enabled(mirror),
            docker_hub_user=user,
            docker_hub_password_secret_version=version,
        ),
        ci=resolve_ci(args.get("ci"), "gcp"),
    )
