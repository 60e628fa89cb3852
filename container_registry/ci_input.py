"""The `ci` block of the Args, checked: the GitHub repository (names, or names with GitHub's
numeric IDs), the ref, the environment, the paths and build arguments of the workflow, and the
rules a cloud adds (Google Cloud's 127-byte subject). Plain values in, CiOptions out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from container_registry.args import DEFAULTS
from container_registry.errors import ArgumentError, required
from container_registry.naming import DISTRIBUTION_NAME, flag, normal_platform, optional_text
from container_registry.options import SUBJECT_CLAIM_KEYS, CiOptions

# GitHub: an owner (user or organization) is 1 to 39 letters, digits or single hyphens, neither
# first nor last; a repository name is 1 to 100 ASCII letters, digits, '.', '-' or '_', and
# '.' and '..' are reserved.
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
_GITHUB_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# GitHub's immutable subject claims append the owner's and the repository's numeric IDs to their
# names with '@' (`repo:octocat@123456/my-repo@456789:ref:...`; GitHub docs, "OpenID Connect
# reference", "Immutable subject claims"). The IDs are positive decimal integers (the REST API's
# `.owner.id` and `.id`), carried in the token as the strings `repository_owner_id` and
# `repository_id`.
_GITHUB_ID = re.compile(r"[1-9][0-9]{0,19}")
# A branch or tag ref, in a subset of git's check-ref-format rules that is also free of the glob
# characters of GitHub's `on.push` filters (`*`, `?`, `+`, `!`, `[`): components of letters,
# digits, '.', '_' and '-', not starting with '.', not ending with '.lock' or '.'.
_REF_COMPONENT = r"(?!\.)[A-Za-z0-9._-]+(?<!\.lock)(?<!\.)"
CI_REF = re.compile(rf"(?!.*\.\.)refs/(?:heads|tags)/{_REF_COMPONENT}(?:/{_REF_COMPONENT})*")
CI_ENVIRONMENT = re.compile(r"[A-Za-z0-9._-]{1,255}")
# A path in the repository: no absolute path, no `..`, no quote or shell metacharacter.
_REPO_PATH = re.compile(r"(?!/)(?!.*(?:^|/)\.\.(?:/|$))[A-Za-z0-9._/-]{1,200}")
_BUILD_ARG = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# google.subject holds at most 127 bytes (Google Cloud, "Workload Identity Federation",
# attribute mappings); gcp/access.py maps the token's job_workflow_ref to it.
GCP_SUBJECT_MAX = 127
REPOSITORY_RULE = (
    "is not a GitHub repository as owner/name, or as owner@OWNER_ID/name@REPO_ID with "
    "GitHub's numeric IDs: the owner 1 to 39 letters, digits or single hyphens, the name "
    "1 to 100 letters, digits, '.', '-' or '_', each ID decimal digits; wildcards and "
    "a bare owner are never allowed"
)
ONE_ID_RULE = (
    "carries only one of the two IDs: GitHub's immutable subject appends both, as "
    "owner@OWNER_ID/name@REPO_ID"
)


def ref_and_environment(ci: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """`ci.ref` and `ci.environment`, each checked, None when not given (and
    `ci.subject_includes_ref`, which must be a boolean)."""
    flag(ci, "subject_includes_ref", "ci.subject_includes_ref")
    ref = optional_text(
        ci,
        "ref",
        "ci.ref",
        CI_REF,
        "is not a branch or tag ref such as refs/heads/main or refs/tags/v1: components of "
        "letters, digits, '.', '_' and '-' (no wildcards), not starting with '.'",
    )
    environment = optional_text(
        ci,
        "environment",
        "ci.environment",
        CI_ENVIRONMENT,
        "is not a GitHub environment name: 1 to 255 letters, digits, '.', '_' or '-' "
        "(no wildcards)",
    )
    return ref, environment


def resolve_ci(ci: Mapping[str, Any] | None, cloud: str) -> CiOptions | None:
    """The `ci` options checked; None when `ci` is not given. Everything is checked before the
    cloud is, so a typo shows up at once."""
    if not ci:
        return None
    ref, environment = ref_and_environment(ci)
    value = ci.get("repository")
    if not value:
        raise required("ci.repository", "the GitHub repository whose runs may push")
    if not isinstance(value, str):
        raise ArgumentError("ci.repository", value, REPOSITORY_RULE)
    owner, slash, name = value.partition("/")
    owner, owner_at, owner_id = owner.partition("@")
    name, name_at, repository_id = name.partition("@")
    if (
        not slash
        or not _GITHUB_OWNER.fullmatch(owner)
        or not _GITHUB_REPO_NAME.fullmatch(name)
        or name in (".", "..")
        or (owner_at and not _GITHUB_ID.fullmatch(owner_id))
        or (name_at and not _GITHUB_ID.fullmatch(repository_id))
    ):
        raise ArgumentError("ci.repository", value, REPOSITORY_RULE)
    if bool(owner_at) != bool(name_at):
        raise ArgumentError("ci.repository", value, ONE_ID_RULE)
    if cloud == "local":
        raise ArgumentError(
            "ci.repository",
            value,
            "is not allowed with cloud local: the local registry listens on 127.0.0.1, which "
            "hosted CI runners cannot reach; choose aws, azure or gcp",
        )
    options = CiOptions(
        repository=f"{owner}/{name}",
        ref=ref or str(DEFAULTS["ci.ref"]),
        environment=environment,
        owner_id=owner_id or None,
        repository_id=repository_id or None,
        subject_includes_ref=flag(ci, "subject_includes_ref", "ci.subject_includes_ref"),
        context=_repo_path(ci, "context") or str(DEFAULTS["ci.context"]),
        dockerfile=_repo_path(ci, "dockerfile"),
        platform=normal_platform(str(ci.get("platform") or DEFAULTS["ci.platform"]), "ci.platform"),
        mirror_build_args=_mirror_build_args(ci.get("mirror_build_args")),
    )
    _require_ref_in_environment_subject(options, cloud)
    # google.subject holds at most 127 bytes: the value checked is the workflow's own
    # job_workflow_ref, which gcp/access.py maps to it (`sub` with the template is longer).
    if cloud == "gcp" and len(options.job_workflow_ref.encode()) > GCP_SUBJECT_MAX:
        path, given = (
            ("ci.ref", options.ref)
            if len(options.ref) >= len(options.repository)
            else ("ci.repository", value)
        )
        raise ArgumentError(
            path,
            given,
            f"makes the workflow's job_workflow_ref {options.job_workflow_ref!r}, which Google "
            f"Cloud's google.subject holds, longer than its {GCP_SUBJECT_MAX} bytes; use a "
            "shorter name",
        )
    return options


def _repo_path(ci: Mapping[str, Any], key: str) -> str | None:
    return optional_text(
        ci,
        key,
        f"ci.{key}",
        _REPO_PATH,
        "is not a path inside the repository: letters, digits, '.', '_', '-' and '/', "
        "relative, without '..'",
    )


def _mirror_build_args(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ArgumentError(
            "ci.mirror_build_args", value, "is not a map of build argument to image name"
        )
    found: list[tuple[str, str]] = []
    for arg, repository in cast("dict[object, object]", value).items():
        path = f"ci.mirror_build_args.{arg}"
        if not isinstance(arg, str) or not _BUILD_ARG.fullmatch(arg):
            raise ArgumentError(path, arg, "is not a build argument name")
        if not isinstance(repository, str) or not DISTRIBUTION_NAME.fullmatch(repository):
            raise ArgumentError(path, repository, "is not a Docker official image name")
        found.append((arg, repository))
    return tuple(sorted(found))


def _require_ref_in_environment_subject(ci: CiOptions, cloud: str) -> None:
    """Azure compares `sub` alone, and GitHub's default subject for a job in an environment
    names no ref: any branch naming the environment would be trusted. So ci.environment there
    needs the template that adds the ref, and the caller's word that the repository has it
    (ci.subject_includes_ref). AWS binds the ref through job_workflow_ref as well, but only
    since 2026 (aws/access.py, trust_policy): it keeps the ref in `sub` too, the claim IAM has
    always evaluated. Google Cloud checks `assertion.ref` itself."""
    if ci.environment is None or ci.subject_includes_ref or cloud not in ("aws", "azure"):
        return
    raise ArgumentError(
        "ci.subject_includes_ref",
        None,
        f"is not true, and ci.environment is set: on {cloud} the default OIDC subject of a job "
        "in an environment names no ref, so a job on any branch that names the environment "
        "would be trusted. Set the repository's subject template to "
        f"{', '.join(SUBJECT_CLAIM_KEYS)} (tokens then carry "
        f"{replace(ci, subject_includes_ref=True).subject})",
    )
