"""Clean-up never breaks a kept image's provenance (issue 23 item 2): each cloud's policy, as the
program declares it, evaluated with that cloud's documented semantics (tests/cleanup_semantics.py)
on a literal repository listing, with exactly what is kept asserted by name.

The listing: eight images pushed 14, 12, 10, 8, 6, 4, 2 and 0.5 days ago, each signed and attested
by the generated workflow (`<name>.sig`, `<name>.att`, tagged `sha256-<hex>.sig|.att`), except `v5`,
which the program pushed itself (unsigned); two untagged manifests 20 and 1 days old; and, as a
cloud with the referrers API stores them, an OCI referrer (untagged, with a subject) of `v8`.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from container_registry.aws.policies import lifecycle_policy
from container_registry.azure.registry import purge_commands, uses_retention_policy
from container_registry.gcp.policies import cleanup_policies
from container_registry.options import AwsOptions, AzureOptions, RegistryOptions
from tests.cleanup_semantics import (
    Manifest,
    acr_purge,
    artifact_registry_deleted,
    ecr_evaluate,
    signature_tags,
    signed_listing,
)

IMAGES = [
    ("v1", 14),
    ("v2", 12),
    ("v3", 10),
    ("v4", 8),
    ("v5", 6),
    ("v6", 4),
    ("v7", 2),
    ("v8", 0.5),
]
UNTAGGED = [Manifest("old-untagged", (), 20), Manifest("new-untagged", (), 1)]
REFERRER = Manifest("v8.bundle", (), 0.4, subject="v8")
KEEP = 3
UNTAGGED_DAYS = 7


def listing() -> list[Manifest]:
    return [*signed_listing(IMAGES, unsigned=["v5"]), *UNTAGGED, REFERRER]


def provenance_of(names: set[str]) -> set[str]:
    """Each kept, signed image's signature and attestation."""
    return {f"{n}.{kind}" for n in names if n != "v5" for kind in ("sig", "att")}


SETTINGS = RegistryOptions(untagged_expiry_days=UNTAGGED_DAYS, keep_tagged_images=KEEP)
# The newest three images are v8, v7, v6 (signed): three images and their six signatures fill the
# window of 3 x 3 tagged manifests exactly. v5 and older go, and with them their signatures.
KEPT_IMAGES = {"v8", "v7", "v6"}


def test_the_listing_has_what_the_tests_talk_about() -> None:
    names = {m.name for m in listing()}
    assert {"v1", "v1.sig", "v1.att", "v5", "v8.bundle"} <= names
    assert "v5.sig" not in names
    v1 = next(m for m in listing() if m.name == "v1")
    sig = next(m for m in listing() if m.name == "v1.sig")
    # cosign's fallback tag: sha256-<hex of the image's digest>.sig
    assert sig.tags == (f"sha256-{v1.digest.removeprefix('sha256:')}.sig",)
    assert signature_tags(v1)[1].endswith(".att")


# ---------------------------------------------------------------------- the ECR model itself


def test_ecr_model_reproduces_the_documented_example() -> None:
    """Example A of "Examples of lifecycle policies in Amazon ECR" (Filtering on multiple rules):
    rule 2 marks A and B, but B matched rule 1's tagging requirements: only A is expired."""
    images = [
        Manifest("A", ("beta-1", "prod-1"), 10),
        Manifest("B", ("beta-2", "prod-2"), 9),
        Manifest("C", ("beta-3",), 8),
    ]

    def rule(priority: int, pattern: str) -> dict[str, Any]:
        return {
            "rulePriority": priority,
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": [pattern],
                "countType": "imageCountMoreThan",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        }

    outcome = ecr_evaluate({"rules": [rule(1, "prod*"), rule(2, "beta*")]}, images)
    assert outcome.expired == {"A"}


def test_ecr_model_prefix_lists_need_every_prefix() -> None:
    """tagPrefixList: "an image is successfully matched if all of the tags in the tagPrefixList
    value are matched against any of the image's tags"."""
    images = [
        Manifest("both", ("prod-1", "beta-1"), 10),
        Manifest("prod-only", ("prod-2",), 9),
        Manifest("newest", ("prod-3", "beta-3"), 1),
    ]
    rule = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "tagged",
            "tagPrefixList": ["prod", "beta"],
            "countType": "imageCountMoreThan",
            "countNumber": 1,
        },
        "action": {"type": "expire"},
    }
    assert ecr_evaluate({"rules": [rule]}, images).expired == {"both"}


def test_ecr_model_rules_select_their_storage_class_only() -> None:
    """storageClass: "If you omit this, the value of standard will be used"
    (lifecycle_policy_parameters.html): an archived image is neither counted nor expired by a
    rule without `"storageClass": "archive"`."""
    images = [
        Manifest("C", ("c",), 1),
        Manifest("B", ("b",), 2),
        Manifest("A", ("a",), 3, archived=True),
    ]
    rule = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": ["*"],
            "countType": "imageCountMoreThan",
            "countNumber": 1,
        },
        "action": {"type": "expire"},
    }
    assert ecr_evaluate({"rules": [rule]}, images).expired == {"B"}


def test_ecr_model_refuses_to_expire_by_last_pull() -> None:
    """AWS: "With countType = sinceImagePulled, all images whose last_recorded_pulltime is older
    than ... are archived" (LifecyclePolicies.html, evaluation rules): never expired."""
    rule = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "any",
            "countType": "sinceImagePulled",
            "countUnit": "days",
            "countNumber": 1,
        },
        "action": {"type": "expire"},
    }
    with pytest.raises(ValueError, match="sinceImagePulled"):
        ecr_evaluate({"rules": [rule]}, [Manifest("A", ("a",), 5)])


def test_why_the_workflow_keeps_cosigns_tag_form() -> None:
    """cosign 3's default stores a signature as an OCI referrer: an untagged manifest with a
    subject. ECR's and Artifact Registry's untagged rules select it like any untagged image, so a
    kept image's referrer signature would go after untaggedExpiryDays. acr-cli keeps it."""
    old_referrer = Manifest("v7.bundle", (), UNTAGGED_DAYS + 3, subject="v7")
    repo = [*listing(), old_referrer]
    assert "v7" in ecr_kept(SETTINGS, repo) and "v7.bundle" not in ecr_kept(SETTINGS, repo)
    assert "v7" in ar_kept(SETTINGS, repo) and "v7.bundle" not in ar_kept(SETTINGS, repo)
    azure = RegistryOptions(
        untagged_expiry_days=UNTAGGED_DAYS, keep_tagged_images=KEEP, azure=AzureOptions("Standard")
    )
    assert {"v7", "v7.bundle"} <= acr_kept(azure, repo)


def test_acr_purge_leaves_a_referrer_whose_subject_went_to_acr() -> None:
    """acr-cli never deletes a manifest with a subject, even when the subject is gone: ACR deletes
    it on the server side with its subject (only a real run shows that)."""
    orphan = Manifest("v1.bundle", (), 30, subject="v1")
    azure = RegistryOptions(
        untagged_expiry_days=UNTAGGED_DAYS, keep_tagged_images=KEEP, azure=AzureOptions("Standard")
    )
    kept = acr_kept(azure, [*listing(), orphan])
    assert "v1" not in kept and "v1.bundle" in kept


def test_the_old_ecr_policy_loses_signatures_and_images() -> None:
    """Why the rules changed: the policy before issue 23 ("untagged after N days; keep the newest M
    tagged") counts signature tags as images: it keeps signatures in place of images."""

    def old(keep: int) -> dict[str, Any]:
        return {
            "rules": [
                {
                    "rulePriority": 1,
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": UNTAGGED_DAYS,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": keep,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }

    repo = listing()
    assert ecr_evaluate(old(3), repo).kept(repo) == {
        "v8", "v8.sig", "v8.att", "new-untagged", "v8.bundle"
    }, "three images asked for, one kept"  # fmt: skip
    assert ecr_evaluate(old(2), repo).kept(repo) == {
        "v8.sig", "v8.att", "new-untagged", "v8.bundle"
    }, "two images asked for, none kept: only the newest one's signatures"  # fmt: skip


# ---------------------------------------------------------------------- the program's policies


def test_ecr_keeps_the_newest_images_with_their_signatures() -> None:
    outcome = ecr_evaluate(lifecycle_policy(SETTINGS), listing())
    kept = outcome.kept(listing())
    assert kept == KEPT_IMAGES | provenance_of(KEPT_IMAGES) | {"new-untagged", "v8.bundle"}
    assert outcome.archived == set()


def test_ecr_with_every_image_unsigned_keeps_more_never_fewer() -> None:
    unsigned = signed_listing(IMAGES, unsigned=[name for name, _ in IMAGES])
    kept = ecr_evaluate(lifecycle_policy(SETTINGS), unsigned).kept(unsigned)
    assert kept == {name for name, _ in IMAGES[-3 * KEEP :]}


def test_ecr_never_expires_a_kept_images_signature_whatever_the_push_order() -> None:
    """Signed and unsigned images in every pattern of eight: every image kept keeps its
    signature and attestation, and at least `keepTaggedImages` images are kept."""
    for mask in range(256):
        unsigned = [name for i, (name, _) in enumerate(IMAGES) if mask >> i & 1]
        repo = signed_listing(IMAGES, unsigned=unsigned)
        kept = ecr_evaluate(lifecycle_policy(SETTINGS), repo).kept(repo)
        kept_images = {name for name, _ in IMAGES if name in kept}
        signed_kept = {n for n in kept_images if n not in unsigned}
        expected = {f"{n}.{kind}" for n in signed_kept for kind in ("sig", "att")}
        assert expected <= kept, f"unsigned={unsigned}: lost {expected - kept}"
        assert len(kept_images) >= KEEP, f"unsigned={unsigned}: kept only {kept_images}"


def ar_kept(settings: RegistryOptions, repo: list[Manifest]) -> set[str]:
    """What the program's Artifact Registry cleanup policies keep of `repo`."""
    policies: list[dict[str, Any]] = []
    for policy in cleanup_policies(settings):
        # The provider's Args, plain values here (typed as Inputs).
        condition: Any = policy.condition
        recent: Any = policy.most_recent_versions
        policies.append(
            {
                "action": policy.action,
                "condition": None
                if condition is None
                else {
                    "tag_state": condition.tag_state,
                    "tag_prefixes": condition.tag_prefixes,
                    "older_than": condition.older_than,
                },
                "most_recent_versions": None
                if recent is None
                else {"keep_count": recent.keep_count},
            }
        )
    return {m.name for m in repo} - artifact_registry_deleted(policies, repo)


def acr_kept(settings: RegistryOptions, repo: list[Manifest]) -> set[str]:
    """What the program's daily `acr purge` runs keep of `repo`."""
    for command in purge_commands(settings):
        args = shlex.split(command)[2:]
        flags = dict(zip(args[::2], args[1::2], strict=False))
        repository, _, tag_regex = flags["--filter"].partition(":")
        assert repository == settings.repository_name
        repo = acr_purge(
            repo,
            tag_regex=tag_regex,
            ago_days=float(flags["--ago"].removesuffix("d")),
            keep=int(flags.get("--keep", "0")),
            untagged="--untagged" in args,
        )
    return {m.name for m in repo}


def ecr_kept(settings: RegistryOptions, repo: list[Manifest]) -> set[str]:
    return ecr_evaluate(lifecycle_policy(settings), repo).kept(repo)


def test_artifact_registry_keeps_the_newest_images_with_their_signatures() -> None:
    kept = ar_kept(SETTINGS, listing())
    # most_recent_versions counts untagged versions too: the newest 9 versions are v8 with its
    # two, v8.bundle, new-untagged, v7 with its two, and v6.att. v6.sig and v6 come next: tagged
    # and past the window, they are deleted; v6.att (an orphan now) goes once it leaves the window.
    assert kept == {"v8", "v7"} | provenance_of({"v8", "v7"}) | {
        "new-untagged",
        "v8.bundle",
        "v6.att",
    }


def test_acr_purge_keeps_the_newest_images_with_their_signatures() -> None:
    settings = RegistryOptions(
        untagged_expiry_days=UNTAGGED_DAYS,
        keep_tagged_images=KEEP,
        azure=AzureOptions(sku="Standard"),
    )
    assert not uses_retention_policy(settings)
    kept = acr_kept(settings, listing())
    # The referrer stays: acr-cli never deletes a manifest with a subject (ACR deletes it with
    # its subject). v8.bundle's subject is kept anyway.
    assert kept == KEPT_IMAGES | provenance_of(KEPT_IMAGES) | {"new-untagged", "v8.bundle"} | {
        # untagged by the tag purge, younger than untaggedExpiryDays: deleted by a later run
        "v5",
    }


def test_ecr_archive_mode_archives_the_unpulled_and_deletes_no_tagged_image() -> None:
    """With `ecrArchiveUnpulledDays` 5: v1 to v4 were last pulled more than 5 days ago (v2 never,
    pushed 12 days ago: the push stands in), v5 to v8 less; signatures are never pulled by a
    plain `docker pull`, and none is archived or deleted."""
    pulls = {"v1": 9.0, "v3": 7.0, "v4": 6.0, "v5": 1.0, "v6": 0.5, "v7": 2.0, "v8": None}
    repo = [
        Manifest(m.name, m.tags, m.pushed_days_ago, pulls.get(m.name), m.subject, m.digest)
        for m in listing()
    ]
    options = RegistryOptions(
        untagged_expiry_days=UNTAGGED_DAYS,
        keep_tagged_images=KEEP,
        aws=AwsOptions(archive_unpulled_days=5),
    )
    outcome = ecr_evaluate(lifecycle_policy(options), repo)
    assert outcome.archived == {"v1", "v2", "v3", "v4"}
    assert outcome.expired == {"old-untagged"}
    kept = outcome.kept(repo)
    names = {name for name, _ in IMAGES}
    assert provenance_of(names) <= kept, "every signature stays in standard storage"


CLOUDS = {"ecr": ecr_kept, "artifact-registry": ar_kept, "acr": acr_kept}


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("keep", [1, 2, 3, 5])
def test_no_cloud_keeps_an_image_without_its_signatures(cloud: str, keep: int) -> None:
    """The invariant, for every pattern of signed and unsigned images among the eight: an image
    kept keeps its signature and attestation, and a signed image is kept among the newest
    `keepTaggedImages` tagged images whenever no untagged version shares the window."""
    settings = RegistryOptions(
        untagged_expiry_days=UNTAGGED_DAYS,
        keep_tagged_images=keep,
        azure=AzureOptions(sku="Standard"),
    )
    for mask in range(256):
        unsigned = [name for i, (name, _) in enumerate(IMAGES) if mask >> i & 1]
        repo = signed_listing(IMAGES, unsigned=unsigned)
        kept = CLOUDS[cloud](settings, repo)
        images = {name for name, _ in IMAGES if name in kept}
        lost = {f"{n}.{kind}" for n in images - set(unsigned) for kind in ("sig", "att")} - kept
        assert not lost, f"{cloud}, keep {keep}, unsigned {unsigned}: lost {lost}"
        newest = {name for name, _ in IMAGES[-keep:]}
        assert newest <= kept, f"{cloud}, keep {keep}, unsigned {unsigned}: kept {images}"
