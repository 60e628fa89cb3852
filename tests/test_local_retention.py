"""The local target's retention plan (container_registry/local/retention.py) on a literal listing:
what it deletes, exactly, and that it never deletes a kept image's signature or SBOM (issue 23
item 3).
The engine test (tests/engine/test_supply_chain_engine.py) runs it against a real registry."""

from __future__ import annotations

import hashlib

import pytest

from container_registry.local.retention import SECONDS_PER_DAY, Stored, plan

NOW = 1_800_000_000.0
REPO = "app"


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def days_ago(days: float) -> float:
    return NOW - days * SECONDS_PER_DAY


def image(name: str, age: float, *tags: str) -> Stored:
    return Stored(REPO, digest(name), days_ago(age), {t: days_ago(age) for t in tags or (name,)})


def provenance(of: str, age: float) -> list[Stored]:
    """What the engine test pushes for each image: a signature under cosign's `.sig` tag (the
    signature manifest names the image as subject too), an SBOM referrer (untagged, subject), and
    the referrers tag schema's index at `sha256-<hex>` listing the SBOM."""
    stem = digest(of).replace(":", "-")
    when = days_ago(age - 0.01)
    return [
        Stored(REPO, digest(f"{of}.sig"), when, {f"{stem}.sig": when}, subject=digest(of)),
        Stored(REPO, digest(f"{of}.sbom"), when, {}, subject=digest(of)),
        Stored(REPO, digest(f"{of}.index"), when, {stem: when}, children=(digest(f"{of}.sbom"),)),
    ]


def names(manifests: list[Stored], listing: list[Stored]) -> set[str]:
    by_digest = {digest(n): n for n in NAMES}
    assert {m.digest for m in manifests} <= {m.digest for m in listing}
    return {by_digest[m.digest] for m in manifests}


NAMES = [
    *(f"v{i}{suffix}" for i in range(1, 7) for suffix in ("", ".sig", ".sbom", ".index")),
    "old-untagged",
    "young-untagged",
    "multi",
    "multi-amd64",
    "multi-arm64",
    "orphan.sig",
    "gone",
]


def listing() -> list[Stored]:
    """v1..v6 pushed 10, 8, 6, 4, 2, 1 days ago, each signed with an SBOM; a multi-arch index
    `multi` (5 days) whose platform manifests are untagged; untagged manifests of 30 and 1 days;
    and the signature of a manifest no longer there."""
    entries: list[Stored] = []
    for i, age in zip(range(1, 7), (10, 8, 6, 4, 2, 1), strict=True):
        entries += [image(f"v{i}", age), *provenance(f"v{i}", age)]
    entries += [
        Stored(REPO, digest("old-untagged"), days_ago(30)),
        Stored(REPO, digest("young-untagged"), days_ago(1)),
        Stored(
            REPO,
            digest("multi"),
            days_ago(5),
            {"multi": days_ago(5)},
            children=(digest("multi-amd64"), digest("multi-arm64")),
        ),
        Stored(REPO, digest("multi-amd64"), days_ago(30)),
        Stored(REPO, digest("multi-arm64"), days_ago(30)),
        Stored(
            REPO,
            digest("orphan.sig"),
            days_ago(20),
            {digest("gone").replace(":", "-") + ".sig": days_ago(20)},
            subject=digest("gone"),
        ),
    ]
    return entries


def test_keeps_the_newest_images_with_their_provenance_and_nothing_else() -> None:
    repo = listing()
    deleted = names(plan(repo, keep_tagged_images=3, untagged_expiry_days=7, now=NOW), repo)
    # Newest three tagged images by tag push: v6 (1 day), v5 (2), v4 (4); `multi` (5) is 4th.
    gone_images = {"v1", "v2", "v3", "multi"}
    assert deleted == {
        *(f"{n}{s}" for n in gone_images - {"multi"} for s in ("", ".sig", ".sbom", ".index")),
        "multi",
        "multi-amd64",
        "multi-arm64",
        "old-untagged",
        "orphan.sig",
    }


def test_a_kept_index_keeps_its_platform_manifests() -> None:
    repo = listing()
    deleted = names(plan(repo, keep_tagged_images=4, untagged_expiry_days=7, now=NOW), repo)
    assert not deleted & {"multi", "multi-amd64", "multi-arm64"}
    assert "v3" in deleted and "v3.sbom" in deleted


@pytest.mark.parametrize("keep", range(1, 9))
def test_never_a_kept_images_signature_or_sbom(keep: int) -> None:
    repo = listing()
    deleted = names(plan(repo, keep_tagged_images=keep, untagged_expiry_days=7, now=NOW), repo)
    for i in range(1, 7):
        if f"v{i}" not in deleted:
            assert not deleted & {f"v{i}.sig", f"v{i}.sbom", f"v{i}.index"}, f"keep={keep}"
        else:
            assert {f"v{i}.sig", f"v{i}.sbom", f"v{i}.index"} <= deleted, "left an orphan"


def test_signature_tags_do_not_count_as_images() -> None:
    """Each image brings a `.sig` and a `sha256-<hex>` tag: with keep=2, two images remain."""
    repo = listing()
    doomed = plan(repo, keep_tagged_images=2, untagged_expiry_days=7, now=NOW)
    kept = {m.digest for m in repo} - {m.digest for m in doomed}
    assert {digest("v6"), digest("v5")} <= kept
    assert digest("v4") not in kept


def test_referrers_and_indexes_are_deleted_before_what_they_name() -> None:
    repo = listing()
    order = [m.digest for m in plan(repo, keep_tagged_images=1, untagged_expiry_days=7, now=NOW)]
    assert order.index(digest("v1.index")) < order.index(digest("v1.sbom"))
    assert order.index(digest("v1.sbom")) < order.index(digest("v1"))
    assert order.index(digest("multi")) < order.index(digest("multi-amd64"))


def test_untagged_manifests_expire_by_age() -> None:
    repo = listing()
    deleted = names(plan(repo, keep_tagged_images=10, untagged_expiry_days=40, now=NOW), repo)
    assert deleted == {"orphan.sig"}, "nothing is older than 40 days; the orphan has no image"
    deleted = names(plan(repo, keep_tagged_images=10, untagged_expiry_days=1, now=NOW), repo)
    assert "young-untagged" not in deleted and "old-untagged" in deleted
