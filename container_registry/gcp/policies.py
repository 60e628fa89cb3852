"""What Artifact Registry is told about a repository: its cleanup policies and scanning, and
the mirror repository's ID; shared by registry.py and mirror.py."""

from __future__ import annotations

import pulumi_gcp as gcp

from container_registry.options import ServiceOptions
from container_registry.provenance import tagged_window

ARTIFACT_REGISTRY_API = "artifactregistry.googleapis.com"
SECONDS_PER_DAY = 86_400
MIRROR_SUFFIX = "-mirror"
_REPOSITORY_ID_MAX = 63


def mirror_repository_id(repository_name: str) -> str:
    """The remote repository's ID: the main one's plus `-mirror`, within the 63-character limit."""
    stem = repository_name[: _REPOSITORY_ID_MAX - len(MIRROR_SUFFIX)].rstrip("-")
    return stem + MIRROR_SUFFIX


def inherited_scanning() -> gcp.artifactregistry.RepositoryVulnerabilityScanningConfigArgs:
    """INHERITED: a repository is scanned whenever its project has the Container Scanning API on."""
    return gcp.artifactregistry.RepositoryVulnerabilityScanningConfigArgs(
        enablement_config="INHERITED"
    )


def cleanup_policies(
    options: ServiceOptions,
) -> list[gcp.artifactregistry.RepositoryCleanupPolicyArgs]:
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

    The newest images keep their cosign signatures and attestations
    (container_registry/provenance.py): `keep-newest` keeps the newest W versions
    (provenance.tagged_window: M without `ci`, 3M + 2 with it, as most_recent_versions counts
    signatures as versions), and a signature, younger than its image, is among them whenever its
    image is. A signature whose image has gone is deleted with the other tagged versions past
    the newest W.

    OCI referrers (untagged manifests with a `subject`; Artifact Registry lists them as
    attachments, "Manage artifact metadata") are not mentioned by the cleanup policy
    documentation ("Cleanup policy overview"): read as untagged versions, `delete-untagged`
    deletes them after `untaggedExpiryDays`, so the workflow keeps cosign's tag form
    (github.COSIGN_TAG_FORM).
    """
    untagged_age = f"{options.untagged_expiry_days * SECONDS_PER_DAY}s"
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
                keep_count=tagged_window(options)
            ),
        ),
    ]
