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
from dataclasses import fields, replace
from typing import Any

import pytest

from container_registry.aws.options import EcrOptions
from container_registry.aws.policies import lifecycle_policy
from container_registry.azure.options import AcrOptions
from container_registry.azure.registry import purge_commands, uses_retention_policy
from container_registry.gcp.policies import cleanup_policies
from container_registry.options import CiOptions, ServiceOptions
from tests.cleanup_semantics import (
    Manifest,
    acr_purge,
    artifact_registry_deleted,
    ecr_evaluate,
    referrer_listing,
    resign,
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


# With `ci`: the generated workflow signs what it pushes.
SIGNED = CiOptions("octo/app")
SETTINGS = ServiceOptions(untagged_expiry_days=UNTAGGED_DAYS, keep_tagged_images=KEEP, ci=SIGNED)
# Without: nothing signs.
UNSIGNED = ServiceOptions(untagged_expiry_days=UNTAGGED_DAYS, keep_tagged_images=KEEP)
KEPT_IMAGES = {"v8", "v7", "v6"}


def shared(settings: ServiceOptions) -> dict[str, Any]:
    """The fields every service's options hold (the mirror aside), as keyword arguments."""
    return {f.name: getattr(settings, f.name) for f in fields(ServiceOptions) if f.name != "mirror"}


def azure(settings: ServiceOptions, sku: str = "Standard") -> AcrOptions:
    """`settings` on a registry of `sku`: on Standard the purge task deletes untagged manifests
    too."""
    return AcrOptions(**shared(settings), sku=sku)


def ecr(settings: ServiceOptions, **own: Any) -> EcrOptions:
    """`settings` on an ECR repository, with EcrOptions' own fields `own`."""
    return EcrOptions(**shared(settings), **own)


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
    assert {"v7", "v7.bundle"} <= acr_kept(azure(SETTINGS), repo)


def test_acr_purge_leaves_a_referrer_whose_subject_went_to_acr() -> None:
    """acr-cli never deletes a manifest with a subject, even when the subject is gone: ACR deletes
    it on the server side with its subject (only a real run shows that)."""
    orphan = Manifest("v1.bundle", (), 30, subject="v1")
    kept = acr_kept(azure(SETTINGS), [*listing(), orphan])
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
        "v8.sig", "v8.att", "new-untagged"
    }, "two images asked for, none kept: only the newest one's signatures"  # fmt: skip


# ---------------------------------------------------------------------- the program's policies


def ar_kept(settings: ServiceOptions, repo: list[Manifest]) -> set[str]:
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


def acr_kept(settings: AcrOptions, repo: list[Manifest]) -> set[str]:
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


def ecr_kept(settings: ServiceOptions, repo: list[Manifest]) -> set[str]:
    return ecr_evaluate(lifecycle_policy(ecr(settings)), repo).kept(repo)


CLOUDS = {
    "ecr": ecr_kept,
    "artifact-registry": ar_kept,
    "acr": lambda settings, repo: acr_kept(azure(settings), repo),
}
IMAGE_NAMES = [name for name, _ in IMAGES]


def images_in(kept: set[str]) -> set[str]:
    return {name for name in IMAGE_NAMES if name in kept}


def test_ecr_keeps_the_newest_images_with_their_signatures() -> None:
    """Rule 3 keeps the newest 3 x 3 + 2 tagged manifests: v8, v7, v6 with their six
    signatures, v5 (unsigned) and v4's attestation. Rule 1 keeps the newest 11 signatures: v4's
    and v3's and v2's attestation stay (orphans) until 11 newer ones exist."""
    outcome = ecr_evaluate(lifecycle_policy(ecr(SETTINGS)), listing())
    kept = outcome.kept(listing())
    assert kept == KEPT_IMAGES | provenance_of(KEPT_IMAGES) | {
        "v5", "v4.sig", "v4.att", "v3.sig", "v3.att", "v2.att", "new-untagged", "v8.bundle"
    }  # fmt: skip
    assert outcome.archived == set()


def test_artifact_registry_keeps_the_newest_images_with_their_signatures() -> None:
    kept = ar_kept(SETTINGS, listing())
    # most_recent_versions counts untagged versions too: the newest 11 versions are v8 with its
    # two, v8.bundle, new-untagged, v7 with its two and v6 with its two.
    assert kept == KEPT_IMAGES | provenance_of(KEPT_IMAGES) | {"new-untagged", "v8.bundle"}


def test_acr_purge_keeps_the_newest_images_with_their_signatures() -> None:
    settings = azure(SETTINGS)
    assert not uses_retention_policy(settings)
    kept = acr_kept(settings, listing())
    # Image tags and signature tags are counted apart: 3 image tags, 3 x 2 + 2 signature tags
    # (v4's are the 7th and 8th). The referrer stays: acr-cli never deletes a manifest with a
    # subject (ACR deletes it with its subject).
    assert kept == KEPT_IMAGES | provenance_of(KEPT_IMAGES) | {
        "v4.sig", "v4.att", "new-untagged", "v8.bundle",
        # untagged by the tag purge, younger than untaggedExpiryDays: deleted by a later run
        "v5",
    }  # fmt: skip


# ------------------------------------------------------------ keepTaggedImages N means N images


UNSIGNED_IMAGES = [(f"u{i}", 20 - i) for i in range(10)]


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("keep", [1, 3, 4])
def test_an_unsigned_repository_keeps_exactly_n_images(cloud: str, keep: int) -> None:
    """No `ci`, nothing signed: ten images, `keepTaggedImages` N keeps the newest N on every
    cloud (before issue 27 ECR, Artifact Registry and ACR kept 3N)."""
    repo = [Manifest(name, (name,), age) for name, age in UNSIGNED_IMAGES]
    settings = replace(UNSIGNED, keep_tagged_images=keep)
    kept = CLOUDS[cloud](settings, repo)
    newest = {name for name, _ in UNSIGNED_IMAGES[-keep:]}
    if cloud == "acr":
        # the purge only untags; the untagged run deletes them once older than the days
        old = {m.name for m in repo if m.pushed_days_ago <= UNTAGGED_DAYS} - newest
        assert kept == newest | old
        assert acr_tagged(settings, repo) == newest
    else:
        assert kept == newest


def acr_tagged(settings: ServiceOptions, repo: list[Manifest]) -> set[str]:
    """The manifests that still have a tag after the purge runs (the images ACR serves by tag)."""
    for command in purge_commands(azure(settings))[:2]:
        args = shlex.split(command)[2:]
        flags = dict(zip(args[::2], args[1::2], strict=False))
        repo = acr_purge(
            repo,
            tag_regex=flags["--filter"].partition(":")[2],
            ago_days=0,
            keep=int(flags["--keep"]),
            untagged=False,
        )
    return {m.name for m in repo if m.tags}


def test_the_old_windows_kept_three_n_unsigned_images() -> None:
    """Why the windows changed: the issue 23 rules (ECR rule 3 and Artifact Registry's
    keep-newest at 3N, acr-cli `--keep 3N` over every tag) keep 3N unsigned images."""
    repo = [Manifest(name, (name,), age) for name, age in UNSIGNED_IMAGES]
    old = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["sha256-*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 2 * KEEP,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 3,
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 3 * KEEP,
                },
                "action": {"type": "expire"},
            },
        ]
    }
    assert len(ecr_evaluate(old, repo).kept(repo)) == 9
    assert len(ecr_kept(UNSIGNED, repo)) == KEEP


@pytest.mark.parametrize("keep", [1, 3])
def test_unsigned_images_in_a_signed_repository(keep: int) -> None:
    """With `ci`, images that nothing signed (`./up.sh` pushes one) on the clouds whose rules
    count signatures as images: ECR and Artifact Registry keep the newest 3N + 2 tagged
    manifests, here all images (the bound docs/supply-chain.md and the Args description state);
    acr-cli counts image tags apart: N."""
    repo = [Manifest(name, (name,), age) for name, age in UNSIGNED_IMAGES]
    settings = replace(SETTINGS, keep_tagged_images=keep)
    window = {name for name, _ in UNSIGNED_IMAGES[-(3 * keep + 2) :]}
    assert ecr_kept(settings, repo) == window
    assert ar_kept(settings, repo) == window
    assert acr_tagged(settings, repo) == {name for name, _ in UNSIGNED_IMAGES[-keep:]}


# ------------------------------------------------------------------------- signing again


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("keep", [1, 2, 3])
@pytest.mark.parametrize("again", ["v1", "v4", "v6", "v8"])
def test_signing_an_older_digest_again_evicts_no_kept_signature(
    cloud: str, keep: int, again: str
) -> None:
    """Every image signed; then one digest, old or kept, is signed and attested again (its
    `.sig` and `.att` replaced by manifests pushed now). Every image kept still has both, and
    the newest N images are all kept."""
    repo = resign(signed_listing(IMAGES), again, 0.1)
    settings = replace(SETTINGS, keep_tagged_images=keep)
    kept = CLOUDS[cloud](settings, repo)
    tagged = acr_tagged(settings, repo) if cloud == "acr" else kept
    images = images_in(tagged)
    lost = {f"{n}.{kind}" for n in images for kind in ("sig", "att")} - kept
    assert not lost, f"{cloud}, keep {keep}, {again} signed again: lost {lost}"
    assert set(IMAGE_NAMES[-keep:]) <= images, f"{cloud}: kept only {images}"


def test_the_old_ecr_windows_lost_the_newest_image_to_a_second_signature() -> None:
    """The issue 23 policy (rule 1 keeps 2N signatures, rule 3 3N tagged manifests), N = 1: v1
    signed again takes a place in both windows, and v8, the newest image, goes."""
    old_policy = lifecycle_policy(ecr(replace(SETTINGS, keep_tagged_images=1)))
    for rule, number in zip(old_policy["rules"], (2, None, 3), strict=True):
        if number is not None:
            rule["selection"]["countNumber"] = number
    repo = resign(signed_listing(IMAGES), "v1", 0.1)
    assert "v8" not in ecr_evaluate(old_policy, repo).kept(repo)
    assert "v8" in ecr_kept(replace(SETTINGS, keep_tagged_images=1), repo)


# ------------------------------------------------------------------------------ referrers


def test_referrers_under_each_clouds_rules() -> None:
    """The listing cosign 3 makes by default (an untagged referrer per signature, its `subject`
    the image), under each cloud's documented rules. Where a referrer of a kept image is lost,
    the rules cannot keep it, which is why the workflow keeps cosign's tag form (and
    test_the_pinned_cosign_still_writes_the_tag_form fails on the day it cannot)."""
    repo = referrer_listing(IMAGES)
    # ECR: rule 3 counts the tagged images alone (11 >= 8: all kept); the untagged rule's
    # reading of referrers is not documented, modelled as selecting them: v1-v4's referrers,
    # older than 7 days, go while their images stay.
    ecr = ecr_kept(SETTINGS, repo)
    assert images_in(ecr) == set(IMAGE_NAMES)
    assert {n for n in ecr if "." in n} == {
        "v5.sig", "v5.att", "v6.sig", "v6.att", "v7.sig", "v7.att", "v8.sig", "v8.att"
    }  # fmt: skip
    # Artifact Registry: keep-newest counts the referrers as versions, so a kept image's
    # referrers (younger than it) are kept with it; past the window they go as untagged ones.
    assert ar_kept(SETTINGS, repo) == KEPT_IMAGES | provenance_of(KEPT_IMAGES) | {
        "v5.sig", "v5.att"
    }  # fmt: skip
    # ACR: acr-cli never deletes a manifest with a subject; the kept images keep theirs, and
    # ACR deletes the others with their subjects (acr-cli's comment in GetUntaggedManifests).
    acr = acr_kept(azure(SETTINGS), repo)
    assert images_in(acr) == KEPT_IMAGES | {"v5"}
    assert provenance_of(set(IMAGE_NAMES)) <= acr


def test_ecr_deletes_a_referrer_with_its_subject() -> None:
    """AWS: referrers are deleted "when a subject image is deleted as a result of a lifecycle
    policy rule expire action" (What's New, 2024-06-27): a young referrer of an expired image."""
    repo = [
        *signed_listing([("v1", 10), ("v2", 8), ("v3", 6)]),
        Manifest("v1.bundle", (), 0.1, subject="v1"),
    ]
    settings = replace(SETTINGS, keep_tagged_images=1)
    outcome = ecr_evaluate(lifecycle_policy(ecr(settings)), repo)
    assert {"v1", "v1.bundle"} <= outcome.expired


# -------------------------------------------------------------------------- archive mode


def test_ecr_archive_mode_archives_the_unpulled_and_deletes_no_tagged_image() -> None:
    """With `ecrArchiveUnpulledDays` 5: v1 to v4 were last pulled more than 5 days ago (v2 never,
    pushed 12 days ago: the push stands in), v5 to v8 less; signatures are never pulled by a
    plain `docker pull`, and none is archived or deleted."""
    pulls = {"v1": 9.0, "v3": 7.0, "v4": 6.0, "v5": 1.0, "v6": 0.5, "v7": 2.0, "v8": None}
    repo = [
        Manifest(m.name, m.tags, m.pushed_days_ago, pulls.get(m.name), m.subject, m.digest)
        for m in listing()
    ]
    options = ecr(SETTINGS, archive_unpulled_days=5)
    outcome = ecr_evaluate(lifecycle_policy(options), repo)
    assert outcome.archived == {"v1", "v2", "v3", "v4"}
    assert outcome.expired == {"old-untagged"}
    kept = outcome.kept(repo)
    assert provenance_of(set(IMAGE_NAMES)) <= kept, "every signature stays in standard storage"


# ----------------------------------------------------------------------- every push order


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("keep", [1, 2, 3, 5])
def test_no_cloud_keeps_an_image_without_its_signatures(cloud: str, keep: int) -> None:
    """The invariant, for every pattern of signed and unsigned images among the eight: an image
    kept keeps its signature and attestation, and the newest `keepTaggedImages` images are
    kept."""
    settings = replace(SETTINGS, keep_tagged_images=keep)
    for mask in range(256):
        unsigned = [name for i, name in enumerate(IMAGE_NAMES) if mask >> i & 1]
        repo = signed_listing(IMAGES, unsigned=unsigned)
        kept = CLOUDS[cloud](settings, repo)
        tagged = acr_tagged(settings, repo) if cloud == "acr" else kept
        images = images_in(tagged)
        lost = {f"{n}.{kind}" for n in images - set(unsigned) for kind in ("sig", "att")} - kept
        assert not lost, f"{cloud}, keep {keep}, unsigned {unsigned}: lost {lost}"
        newest = set(IMAGE_NAMES[-keep:])
        assert newest <= images, f"{cloud}, keep {keep}, unsigned {unsigned}: kept {images}"
