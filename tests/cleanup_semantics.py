"""Each cloud's documented clean-up semantics, evaluated on a literal repository listing.

These are models of the clouds, written from their documentation (cited at each rule), so the tests
can ask "what does this policy keep?" of the policy documents the program declares. They are the
tests' oracle: the program never imports them. What only a real cloud run can prove (the clouds'
own evaluators, and how each treats OCI referrers) is said in docs/supply-chain.md.

A listing is a list of `Manifest`s: images, cosign's signature and attestation manifests under
their fallback tags (`sha256-<hex>.sig`, `sha256-<hex>.att`), and referrers (manifests with a
`subject`), each with its age in days.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Manifest:
    """One manifest in a repository, as the clouds' listings show it."""

    name: str
    """A short name the tests use to talk about it (not the digest)."""
    tags: tuple[str, ...] = ()
    pushed_days_ago: float = 0.0
    """When it was pushed: ECR's imagePushedAt, Artifact Registry's createTime, ACR's
    lastUpdateTime (the tag's, for a tagged manifest)."""
    pulled_days_ago: float | None = None
    """ECR's lastRecordedPullTime; None when never pulled."""
    subject: str | None = None
    """The `name` of the manifest this one refers to (the OCI 1.1 `subject` field)."""
    digest: str = field(default="")
    archived: bool = False
    """In ECR's archive storage class (ECR, "Archiving an image")."""

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", f"sha256:{_hex(self.name)}")


def _hex(name: str) -> str:
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()


def signature_tags(image: Manifest) -> tuple[str, str]:
    """cosign's fallback tags for `image`'s signature and attestation: `sha256-<hex>.sig` and
    `sha256-<hex>.att` (sigstore/cosign, pkg/oci/remote/remote.go, SignatureTag/AttestationTag:
    the digest's algorithm and hex joined by `-`, then the suffix)."""
    stem = image.digest.replace(":", "-")
    return f"{stem}.sig", f"{stem}.att"


def signed_listing(
    images: Sequence[tuple[str, float]], *, unsigned: Iterable[str] = ()
) -> list[Manifest]:
    """Images (name, pushed days ago; tag = name), each followed by its cosign signature and
    attestation, pushed a moment after it, as the generated workflow does (sign, then attest)."""
    skip = set(unsigned)
    listing: list[Manifest] = []
    for name, age in images:
        image = Manifest(name, (name,), age)
        listing.append(image)
        if name in skip:
            continue
        sig, att = signature_tags(image)
        listing.append(Manifest(f"{name}.sig", (sig,), age - 0.001))
        listing.append(Manifest(f"{name}.att", (att,), age - 0.002))
    return listing


def resign(listing: Sequence[Manifest], name: str, days_ago: float) -> list[Manifest]:
    """`cosign sign` and `cosign attest` of `name`'s digest again, `days_ago`, in the tag form:
    cosign adds the new signature to the manifest under `sha256-<hex>.sig` (`.att`) and pushes
    it as a new manifest under the same tag (pkg/oci/mutate, AttachSignatureToEntity; then
    remote.WriteSignatures), so the old one is left untagged and the tag points at the youngest
    manifest in the repository."""
    image = next(m for m in listing if m.name == name)
    result: list[Manifest] = []
    for manifest in listing:
        if manifest.name in (f"{name}.sig", f"{name}.att"):
            result.append(Manifest(f"{manifest.name}-old", (), manifest.pushed_days_ago))
        else:
            result.append(manifest)
    sig, att = signature_tags(image)
    result.append(
        Manifest(f"{name}.sig", (sig,), days_ago, digest=f"sha256:{_hex(name + '.sig2')}")
    )
    result.append(
        Manifest(f"{name}.att", (att,), days_ago - 0.001, digest=f"sha256:{_hex(name + '.att2')}")
    )
    return result


def referrer_listing(images: Sequence[tuple[str, float]]) -> list[Manifest]:
    """Images (name, pushed days ago; tag = name), each signed and attested the way cosign 3
    does by default (`--new-bundle-format`): a Sigstore bundle pushed through the referrers API,
    an untagged manifest whose `subject` is the image."""
    listing: list[Manifest] = []
    for name, age in images:
        listing.append(Manifest(name, (name,), age))
        listing.append(Manifest(f"{name}.sig", (), age - 0.001, subject=name))
        listing.append(Manifest(f"{name}.att", (), age - 0.002, subject=name))
    return listing


# ------------------------------------------------------------------------ Amazon ECR
#
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html ("How lifecycle
# policies work") and .../lifecycle_policy_parameters.html, whose rules are, verbatim:
#   - "An image is expired by exactly one or zero rules."
#   - "An image that matches the tagging requirements of a higher priority rule cannot be expired
#     by a rule with a lower priority."
#   - "Rules can never mark images that are marked by higher priority rules, but can still
#     identify them as if they haven't been expired."
#   - "Expiration is always ordered by pushed_at_time, and always expires older images before
#     newer ones."
#   - tagPatternList / tagPrefixList: an image is matched when every pattern (prefix) of the list
#     matches one of its tags; `*` is the only wildcard.
#   - imageCountMoreThan: images are sorted youngest to oldest by pushed_at_time, and all past
#     countNumber are expired; sinceImagePushed / sinceImagePulled: expired when the push (last
#     recorded pull) is more than countNumber days ago.
# The documentation's example ("Filtering on multiple rules", Example A) shows the third rule: rule
# 2 identifies images rule 1 matched, counts them, and skips marking them.
# "With countType = sinceImagePulled, all images whose last_recorded_pulltime is older than the
# specified number of days based on countNumber are archived. If an image was never pulled, the
# image's pushed_at_time is used instead" (LifecyclePolicies.html, evaluation rules, read 2026-12):
# archive only, so this model refuses sinceImagePulled with expire. storageClass: "If you omit
# this, the value of standard will be used" (lifecycle_policy_parameters.html): a rule without it
# never selects an archived image. (Restored images' last_activated_at is not modelled.)


def _ecr_tag_match(selection: Mapping[str, Any], image: Manifest) -> bool:
    status = selection["tagStatus"]
    if status == "untagged":
        return not image.tags
    if status == "any":
        return True
    if not image.tags:
        return False
    if "tagPatternList" in selection:
        return all(
            any(fnmatch.fnmatchcase(tag, pattern) for tag in image.tags)
            for pattern in selection["tagPatternList"]
        )
    return all(
        any(tag.startswith(prefix) for tag in image.tags) for prefix in selection["tagPrefixList"]
    )


@dataclass(frozen=True)
class EcrOutcome:
    expired: frozenset[str]
    archived: frozenset[str]

    def kept(self, listing: Iterable[Manifest]) -> set[str]:
        """Names left in standard storage."""
        return {m.name for m in listing} - self.expired - self.archived


def ecr_evaluate(policy: Mapping[str, Any], listing: Sequence[Manifest]) -> EcrOutcome:
    """What one evaluation of an ECR lifecycle policy expires (or archives)."""
    rules = sorted(policy["rules"], key=lambda rule: rule["rulePriority"])
    claimed: set[str] = set()  # matched the tagging requirements of a rule already evaluated
    marked: dict[str, str] = {}  # name -> action type
    for rule in rules:
        selection = rule["selection"]
        count_type, action = selection["countType"], rule["action"]["type"]
        if count_type == "sinceImagePulled" and action != "transition":
            raise ValueError("ECR's sinceImagePulled only archives (action transition)")
        in_archive = selection.get("storageClass", "standard") == "archive"
        identified = [
            m for m in listing if m.archived == in_archive and _ecr_tag_match(selection, m)
        ]
        identified.sort(key=lambda m: m.pushed_days_ago)  # youngest first
        number = selection["countNumber"]
        if count_type == "imageCountMoreThan":
            chosen = identified[number:]
        elif count_type == "sinceImagePushed":
            chosen = [m for m in identified if m.pushed_days_ago > number]
        elif count_type == "sinceImagePulled":
            chosen = [
                m
                for m in identified
                if (m.pushed_days_ago if m.pulled_days_ago is None else m.pulled_days_ago) > number
            ]
        else:
            raise ValueError(f"countType {count_type!r} is not modelled")
        for image in chosen:
            if image.name in claimed or image.name in marked:
                continue
            marked[image.name] = rule["action"]["type"]
        claimed.update(m.name for m in identified)
    expired = {n for n, action in marked.items() if action == "expire"}
    # "ECR Lifecycle Policies also supports referring artifacts by deleting references when a
    # subject image is deleted as a result of a lifecycle policy rule expire action" (AWS What's
    # New, "Amazon ECR supports OCI Image and Distribution specification version 1.1",
    # 2024-06-27): a referrer goes with its subject, and so on down the chain.
    while True:
        cascade = {m.name for m in listing if m.subject in expired and m.name not in expired}
        if not cascade:
            break
        expired |= cascade
    return EcrOutcome(
        expired=frozenset(expired),
        archived=frozenset(n for n, action in marked.items() if action == "transition"),
    )


# ------------------------------------------------------------------------ Artifact Registry
#
# https://cloud.google.com/artifact-registry/docs/repositories/cleanup-policy:
#   - "If a version matches both a delete policy and a keep policy, the version is kept": an
#     artifact is deleted when some DELETE policy matches it and no KEEP policy does.
#   - condition: tagState TAGGED / UNTAGGED / ANY; tagPrefixes (TAGGED: any tag of the version
#     starts with any prefix); olderThan / newerThan on the version's creation time.
#   - mostRecentVersions (KEEP only): keeps the keepCount most recently created versions of each
#     package, tagged or not.
# In a Docker repository a package is an image name and a version is a manifest digest.


def _ar_condition_match(condition: Mapping[str, Any], version: Manifest) -> bool:
    state = condition.get("tag_state", "ANY")
    if state == "TAGGED" and not version.tags:
        return False
    if state == "UNTAGGED" and version.tags:
        return False
    prefixes = condition.get("tag_prefixes")
    if prefixes and not any(tag.startswith(p) for tag in version.tags for p in prefixes):
        return False
    older = condition.get("older_than")
    if older is not None and not version.pushed_days_ago * 86400 > _seconds(older):
        return False
    newer = condition.get("newer_than")
    if newer is not None and not version.pushed_days_ago * 86400 < _seconds(newer):
        return False
    return True


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", duration)
    if not match:
        raise ValueError(f"not a duration in seconds: {duration!r}")
    return float(match.group(1))


def artifact_registry_deleted(
    policies: Sequence[Mapping[str, Any]], listing: Sequence[Manifest]
) -> set[str]:
    """Names of the versions one run of these cleanup policies deletes (one package).

    A policy is a dict with `action` ("DELETE"/"KEEP") and either `condition` (snake_case keys,
    as the provider's Args) or `most_recent_versions` (`keep_count`)."""
    newest_first = sorted(listing, key=lambda m: m.pushed_days_ago)
    kept: set[str] = set()
    deleted: set[str] = set()
    for policy in policies:
        if policy.get("most_recent_versions") is not None:
            count = policy["most_recent_versions"]["keep_count"]
            matched = {m.name for m in newest_first[:count]}
        else:
            matched = {m.name for m in listing if _ar_condition_match(policy["condition"], m)}
        (kept if policy["action"] == "KEEP" else deleted).update(matched)
    return deleted - kept


# ------------------------------------------------------------------------ ACR purge (acr-cli)
#
# The pinned acr-cli (container_registry/azure/registry.py, ACR_CLI), read from Azure/acr-cli's
# source:
#   - cmd/acr/purge.go, getTagsToDelete: tags of the repository listed newest first
#     (`timedesc`, by lastUpdateTime); those that match the filter's tag regex and are older than
#     `--ago` are eligible; the first `--keep` eligible ones are spared, the rest are deleted
#     (the tag only: the manifest stays, untagged).
#   - cmd/repository/image_functions.go, GetUntaggedManifests (`--untagged`): manifests with no
#     tag, older than `--ago`, are deleted, except an OCI manifest or index that has a `subject`
#     ("we want to preserve it as ACR does cleanup on the server side when a parent manifest is
#     deleted", since PR #188, "support OCI media types for purge") and a manifest an index
#     still refers to.
# The tag regex is .NET-flavoured (dlclark/regexp2) and not anchored (BuildRegexFilter compiles it
# as given; MatchString finds a match anywhere): `re.search` here.


def acr_purge(
    listing: Sequence[Manifest], *, tag_regex: str, ago_days: float, keep: int, untagged: bool
) -> list[Manifest]:
    """The listing after one `acr purge` run; untagged manifests keep their names."""
    pattern = re.compile(tag_regex)
    tag_ages = sorted(
        ((tag, m) for m in listing for tag in m.tags), key=lambda pair: pair[1].pushed_days_ago
    )
    eligible = [tag for tag, m in tag_ages if pattern.search(tag) and m.pushed_days_ago > ago_days]
    removed_tags = set(eligible[keep:])
    after = [
        Manifest(m.name, tuple(t for t in m.tags if t not in removed_tags), m.pushed_days_ago,
                 m.pulled_days_ago, m.subject, m.digest)
        for m in listing
    ]  # fmt: skip
    if not untagged:
        return after
    return [m for m in after if m.tags or m.subject is not None or not m.pushed_days_ago > ago_days]
