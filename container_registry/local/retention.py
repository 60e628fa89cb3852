"""Retention for the local target: the clouds' clean-up keys (`keepTaggedImages`,
`untaggedExpiryDays`) applied to a Distribution registry, which has no clean-up of its own.

Distribution deletes a manifest through its API (`DELETE /v2/<name>/manifests/<digest>`, with
`storage.delete.enabled`: REGISTRY_STORAGE_DELETE_ENABLED in registries/local.py), which also
removes every tag pointing at it; the blobs stay until `registry garbage-collect` removes what no
manifest refers to. Garbage collection must not run while pushes do (Distribution's "Garbage
collection" docs: a blob uploaded during a collection may be deleted, corrupting the image), so
`retain` stops the registry container, collects in a one-off container on the same volume, and
starts the registry again: pushes (and pulls) are refused for the collection's few seconds only,
not for the deletions, which run while it serves.

What is kept (docs/supply-chain.md):
- the `keepTaggedImages` manifests with the most recently pushed tags (a tag of cosign's,
  `sha256-<hex>[.sig|.att|.sbom]`, is not an image's tag and does not count);
- an untagged manifest younger than `untaggedExpiryDays`, counted from its first push (ECR's
  `sinceImagePushed`);
- with each kept manifest, its provenance: manifests under its fallback tags (cosign's `.sig`,
  `.att`, `.sbom`, the referrers tag schema's `sha256-<hex>` index; Distribution 2.8 has no
  referrers API), manifests whose `subject` is it, and the manifests an index lists; and so on
  transitively. A signature or SBOM is deleted with its image, never before.
Collection runs without `--delete-untagged`, which would delete untagged referrers of kept images.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import docker
import docker.errors
import requests
from docker.models.containers import Container

from container_registry.local.container import DATA_PATH, IMAGE_COMMAND
from container_registry.provenance import is_signature_tag

SECONDS_PER_DAY = 86400
# Distribution's storage layout (registry/storage/paths.go, distribution 2.8): per repository,
# a link file per manifest revision and per tag; its mtime is when it was written (pushed).
REPOSITORIES = f"{DATA_PATH}/docker/registry/v2/repositories"
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
# The registry's own configuration file in the official image (IMAGE_COMMAND's argument).
CONFIG_PATH = IMAGE_COMMAND.split()[-1]
STOP_TIMEOUT_S = 30
HEALTHY_TIMEOUT_S = 60
REQUEST_TIMEOUT_S = 30


@dataclass(frozen=True)
class Stored:
    """One manifest revision of one repository, as storage and the API show it."""

    repository: str
    digest: str
    pushed: float
    """Epoch seconds the revision was first pushed (its link file's mtime)."""
    tags: Mapping[str, float] = field(default_factory=dict)
    """Each tag pointing at it, with the epoch seconds it was last pushed."""
    subject: str | None = None
    """The digest in its `subject` field (an OCI referrer), if any."""
    children: tuple[str, ...] = ()
    """The digests an index lists."""


def _image_tags(manifest: Stored) -> list[float]:
    return [when for tag, when in manifest.tags.items() if not is_signature_tag(tag)]


def plan(
    manifests: Sequence[Stored],
    *,
    keep_tagged_images: int,
    untagged_expiry_days: int,
    now: float,
) -> list[Stored]:
    """The manifests to delete (referrers and indexes before what they refer to), per repository.

    Pure: the tests hand it literal listings."""
    doomed: list[Stored] = []
    by_repository: dict[str, list[Stored]] = {}
    for manifest in manifests:
        by_repository.setdefault(manifest.repository, []).append(manifest)
    for listing in by_repository.values():
        doomed += _plan_repository(
            listing,
            keep_tagged_images=keep_tagged_images,
            untagged_expiry_days=untagged_expiry_days,
            now=now,
        )
    return doomed


def _plan_repository(
    listing: Sequence[Stored], *, keep_tagged_images: int, untagged_expiry_days: int, now: float
) -> list[Stored]:
    by_digest = {m.digest: m for m in listing}
    images = sorted(
        (m for m in listing if _image_tags(m)), key=lambda m: max(_image_tags(m)), reverse=True
    )
    roots = {m.digest for m in images[:keep_tagged_images]}
    expiry = now - untagged_expiry_days * SECONDS_PER_DAY
    # An untagged manifest expires once it is older than the days (ECR: "more than").
    roots |= {m.digest for m in listing if not m.tags and m.subject is None and m.pushed >= expiry}
    # Provenance of each digest: what names it as subject, what sits under its fallback tags.
    provenance: dict[str, set[str]] = {}
    for manifest in listing:
        if manifest.subject is not None:
            provenance.setdefault(manifest.subject, set()).add(manifest.digest)
        for tag in manifest.tags:
            if is_signature_tag(tag):
                # `sha256-<hex>[.suffix]` holds provenance of `sha256:<hex>`
                subject = "sha256:" + tag.removeprefix("sha256-").split(".", 1)[0]
                provenance.setdefault(subject, set()).add(manifest.digest)
    live: set[str] = set()
    pending = list(roots)
    while pending:
        digest = pending.pop()
        if digest in live:
            continue
        live.add(digest)
        pending += provenance.get(digest, ())
        manifest = by_digest.get(digest)
        if manifest is not None:
            pending += manifest.children
    doomed = [m for m in listing if m.digest not in live]
    # Whatever refers to another goes first: no index or referrer is left pointing at nothing.
    return sorted(doomed, key=lambda m: (m.subject is None and not m.children, m.digest))


# ------------------------------------------------------------------ the registry and its storage


class RegistryApi:
    """The few Distribution API calls retention needs, with the registry's basic auth."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (username, password)

    def repositories(self) -> list[str]:
        found: list[str] = []
        url: str | None = f"{self.base_url}/v2/_catalog?n=1000"
        while url:
            answer = self.session.get(url, timeout=REQUEST_TIMEOUT_S)
            answer.raise_for_status()
            found += answer.json().get("repositories") or []
            following = answer.links.get("next", {}).get("url")
            url = f"{self.base_url}{following}" if following else None
        return found

    def manifest(self, repository: str, digest: str) -> dict:
        answer = self.session.get(
            f"{self.base_url}/v2/{repository}/manifests/{digest}",
            headers={"Accept": MANIFEST_TYPES},
            timeout=REQUEST_TIMEOUT_S,
        )
        answer.raise_for_status()
        return json.loads(answer.content)

    def delete(self, repository: str, digest: str) -> None:
        """Delete a manifest and every tag on it; one already gone is fine."""
        answer = self.session.delete(
            f"{self.base_url}/v2/{repository}/manifests/{digest}", timeout=REQUEST_TIMEOUT_S
        )
        if answer.status_code not in (202, 404):
            answer.raise_for_status()


def _text(output: object) -> str:
    """exec_run's output without streaming: bytes (docker-py types it as either)."""
    if not isinstance(output, bytes):
        raise TypeError(f"exec_run returned {type(output).__name__}, not bytes")
    return output.decode()


# One exec per repository: `<mtime> <path> <content>` of each link file (its content is the digest
# it points at). Tags and repository names hold no whitespace (the distribution spec's grammar).
_LIST_LINKS = (
    'find "$1" -name link | while read -r f; do '
    'printf "%s %s %s\\n" "$(stat -c %Y "$f")" "$f" "$(cat "$f")"; done'
)


def _links(container: Container, repository: str) -> list[tuple[float, list[str], str]]:
    """(mtime, path parts under `_manifests/`, digest) of every revision and tag link."""
    root = f"{REPOSITORIES}/{repository}/_manifests"
    result = container.exec_run(["sh", "-c", _LIST_LINKS, "sh", root], stdout=True, stderr=True)
    if result.exit_code != 0:
        raise RuntimeError(f"cannot list {root} in the registry container: {result.output!r}")
    links = []
    for line in _text(result.output).splitlines():
        mtime, path, digest = line.split(" ", 2)
        links.append((float(mtime), path.removeprefix(f"{root}/").split("/"), digest.strip()))
    return links


def inventory(api: RegistryApi, container: Container) -> list[Stored]:
    """Every manifest revision of every repository, with push times and references."""
    stored: list[Stored] = []
    for repository in api.repositories():
        revisions: dict[str, float] = {}
        on: dict[str, dict[str, float]] = {}
        for mtime, parts, digest in _links(container, repository):
            if parts[0] == "revisions" and len(parts) == 4:
                revisions[f"{parts[1]}:{parts[2]}"] = mtime
            elif parts[0] == "tags" and parts[2:] == ["current", "link"]:
                on.setdefault(digest, {})[parts[1]] = mtime
        for digest, pushed in revisions.items():
            document = api.manifest(repository, digest)
            subject = (document.get("subject") or {}).get("digest")
            children = tuple(m["digest"] for m in document.get("manifests") or [])
            stored.append(Stored(repository, digest, pushed, on.get(digest, {}), subject, children))
    return stored


@dataclass(frozen=True)
class Report:
    deleted: tuple[Stored, ...]
    kept: int
    refused_seconds: float
    """How long the registry did not answer (stopped for the collection)."""


def _wait_answering(container: Container, base_url: str) -> None:
    """Until the registry answers on `/` again (its health endpoint, open without auth): the
    moment pushes are taken again. Docker's health status would lag by up to a probe interval."""
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{container.name} did not answer {HEALTHY_TIMEOUT_S}s after its start")


def collect_garbage(client: docker.DockerClient, container: Container, base_url: str) -> float:
    """`registry garbage-collect` on the registry's volume while it is stopped; the seconds it
    refused requests. Blobs no manifest refers to are removed; manifests are left alone."""
    volumes = [m["Name"] for m in container.attrs["Mounts"] if m["Destination"] == DATA_PATH]
    if len(volumes) != 1:
        raise RuntimeError(f"{container.name} has no volume at {DATA_PATH}")
    image = container.attrs["Image"]
    started = time.monotonic()
    container.stop(timeout=STOP_TIMEOUT_S)
    try:
        client.containers.run(
            image,
            entrypoint=["registry"],
            command=["garbage-collect", CONFIG_PATH],
            volumes={volumes[0]: {"bind": DATA_PATH, "mode": "rw"}},
            network_mode="none",
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            labels=dict(container.labels),
            remove=True,
            stdout=True,
            stderr=True,
        )
    finally:
        container.start()
        _wait_answering(container, base_url)
    return time.monotonic() - started


def retain_local_images(
    client: docker.DockerClient,
    container_name: str,
    *,
    username: str,
    password: str,
    port: int,
    keep_tagged_images: int,
    untagged_expiry_days: int,
    now: float | None = None,
) -> Report:
    """The local registry's retention: delete what `lifecycle` does not keep, then collect
    garbage. The local registry (unlike the clouds) has no retention of its own and nothing
    runs while `pulumi up` is idle, so the program that owns the stack runs this after each
    update; this module's docstring says what is kept. `now` (seconds since the epoch) stands
    for the current time."""
    container = client.containers.get(container_name)
    base_url = f"http://127.0.0.1:{port}"
    api = RegistryApi(base_url, username, password)
    stored = inventory(api, container)
    doomed = plan(
        stored,
        keep_tagged_images=keep_tagged_images,
        untagged_expiry_days=untagged_expiry_days,
        now=time.time() if now is None else now,
    )
    for manifest in doomed:
        api.delete(manifest.repository, manifest.digest)
    refused = collect_garbage(client, container, base_url) if doomed else 0.0
    return Report(tuple(doomed), len(stored) - len(doomed), refused)
