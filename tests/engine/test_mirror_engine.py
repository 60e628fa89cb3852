"""The pull-through mirror (`mirror: true`) on a real engine: the app builds through it, and it
keeps serving the cached base image when its upstream is gone (docs/mirror.md).

The upstream is a stand-in for Docker Hub: a plain `registry` container holding
`library/<base>:<tag>`, which the mirror reaches over a Docker network of this test. Of the
mirror's declared inputs only REGISTRY_PROXY_REMOTEURL is replaced (Docker Hub cannot be reached
here); everything else is what the program declares.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import docker.errors
import pytest

from tests.e2e.support import free_loopback_port
from tests.engine.checks import MANIFEST_TYPES, http, start_upstream
from tests.engine.images import app_base_image
from tests.engine.replay import REMOTE_IMAGE, Replay, wait_healthy

PROXY_URL = "REGISTRY_PROXY_REMOTEURL"


@dataclass
class Mirrored:
    replay: Replay
    mirror: str
    """The mirror container's resource name."""
    upstream: str
    """The upstream container's engine name."""
    repository: str
    """`library/<name>`, as the mirror and Docker Hub name the base image."""
    tag: str
    pushed: str
    """The app's `repo@sha256:` after the build through the mirror."""
    blobs: list[str]
    """The base image's config and layers, as a client without them pulled them via the mirror."""

    @property
    def mirror_port(self) -> int:
        endpoint = self.replay.declared.outputs["mirrorEndpoint"]
        return int(endpoint.split("/", 1)[0].rsplit(":", 1)[1])

    @property
    def mirror_reference(self) -> str:
        """The base image as the build names it: `localhost:<port>/library/<name>:<tag>`."""
        return f"{self.replay.declared.outputs['mirrorEndpoint']}/" + (
            f"{self.repository.split('/', 1)[1]}:{self.tag}"
        )


def _mirror_name(replay: Replay) -> str:
    found = [
        c.name
        for c in replay.declared.containers
        if any(env.startswith(f"{PROXY_URL}=") for env in c.inputs.get("envs") or [])
    ]
    assert len(found) == 1, f"expected one container in proxy mode, got {found}"
    return found[0]


@pytest.fixture(scope="module")
def mirrored(deploy) -> Iterator[Mirrored]:
    replay: Replay = deploy(mirror="true", start=False)
    client = replay.engine.client
    mirror = _mirror_name(replay)
    base = app_base_image()
    name, tag = base.rsplit(":", 1)
    repository = name if "/" in name else f"library/{name}"

    # The upstream: a registry without auth, on a network of its own and on a loopback port
    # for the seeding push from the engine.
    network = replay.network(f"{replay.stack}-upstream-net")
    upstream = f"{replay.stack}-upstream"
    seed_port = free_loopback_port()
    registry_image = replay.declared.one(REMOTE_IMAGE).inputs["name"]
    start_upstream(replay, registry_image, network=network, name=upstream, port=seed_port)
    seed = replay.track_image(f"127.0.0.1:{seed_port}/{repository}:{tag}")
    client.images.get(base).tag(seed)
    replay.engine.docker("push", seed, config_dir=replay.docker_config("seed"))
    client.images.remove(seed)

    replay.env_overrides[mirror] = {PROXY_URL: f"http://{upstream}:5000"}
    replay.networks[mirror] = [network]
    replay.create_all()
    replay.track_image(
        f"{replay.declared.outputs['mirrorEndpoint']}/{repository.split('/', 1)[1]}:{tag}"
    )
    pushed = replay.build_and_push()
    # The engine had the base image's layers already (it pushed them to the upstream), so the
    # build fetched only the manifest; a machine without them fetches every blob, and the mirror
    # keeps what it served.
    port = int(replay.declared.outputs["mirrorEndpoint"].split("/", 1)[0].rsplit(":", 1)[1])
    blobs = _pull_every_blob(port, repository, tag)
    _wait_stored(replay, mirror, blobs)
    yield Mirrored(replay, mirror, upstream, repository, tag, pushed, blobs)


def _wait_stored(replay: Replay, mirror: str, blobs: list[str], timeout: float = 120) -> None:
    """Until the mirror has written every blob to its volume. The proxy streams a blob to the
    client from the upstream and stores it with a second fetch in a goroutine of its own
    (distribution v2.8.2, registry/proxy/proxyblobstore.go, ServeBlob -> storeLocal), so the
    upstream must not go away before that is done. The path is Distribution's storage layout
    (registry/storage/paths.go, blobDataPathSpec) under the volume's mount point."""
    volumes = replay.declared.container(mirror).inputs.get("volumes") or []
    root = next(v["containerPath"] for v in volumes if v.get("volumeName"))
    paths = [
        f"{root}/docker/registry/v2/blobs/sha256/{d.split(':')[1][:2]}/{d.split(':')[1]}/data"
        for d in blobs
    ]
    test = " && ".join(f"test -s {path}" for path in paths)
    container = replay.containers[mirror]
    deadline = time.monotonic() + timeout
    while container.exec_run(["sh", "-c", test]).exit_code != 0:
        assert time.monotonic() < deadline, f"the mirror did not store {blobs} in {timeout}s"
        time.sleep(0.5)


def _manifest(port: int, repository: str, reference: str) -> tuple[str, dict]:
    answer = http(
        f"http://127.0.0.1:{port}/v2/{repository}/manifests/{reference}",
        headers={"Accept": MANIFEST_TYPES},
    )
    assert answer.status == 200, f"manifest {repository}:{reference}: HTTP {answer.status}"
    return "sha256:" + hashlib.sha256(answer.body).hexdigest(), answer.json()


def _pull_every_blob(port: int, repository: str, reference: str) -> list[str]:
    """What a client without any of the layers does: the manifest, then every blob it names
    (the config and the layers), each checked against its digest. Returns the digests."""
    _, manifest = _manifest(port, repository, reference)
    if "manifests" in manifest:  # an index: take the first image (the stand-ins have one)
        return _pull_every_blob(port, repository, manifest["manifests"][0]["digest"])
    digests = [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]
    for digest in digests:
        answer = http(f"http://127.0.0.1:{port}/v2/{repository}/blobs/{digest}", timeout=60)
        assert answer.status == 200, f"blob {digest}: HTTP {answer.status}"
        assert "sha256:" + hashlib.sha256(answer.body).hexdigest() == digest, digest
    return digests


def test_the_app_builds_through_the_mirror(mirrored: Mirrored) -> None:
    build = mirrored.replay.declared.image.inputs["build"]
    assert any(
        str(value).startswith(mirrored.replay.declared.outputs["mirrorEndpoint"])
        for value in (build.get("args") or {}).values()
    ), f"the build does not name the mirror: {build}"
    # The engine took the base image from the mirror (the classic builder pulls FROM's image).
    assert mirrored.replay.engine.client.images.get(mirrored.mirror_reference)
    # A client with none of the layers got them all from the mirror.
    assert len(mirrored.blobs) >= 2, f"a config and at least one layer: {mirrored.blobs}"


def test_the_mirror_survives_its_upstream(mirrored: Mirrored) -> None:
    replay, client = mirrored.replay, mirrored.replay.engine.client
    digest, _ = _manifest(mirrored.mirror_port, mirrored.repository, mirrored.tag)
    client.containers.get(mirrored.upstream).remove(force=True)
    # The outage starts; the mirror restarts during it (an engine or machine restart).
    container = replay.containers[mirrored.mirror]
    container.restart()
    declared = replay.declared.container(mirrored.mirror)
    wait_healthy(replay.engine, container, int(declared.inputs.get("waitTimeout", 60)))
    # It serves the cached base image, by tag and by digest, every blob of it ...
    assert _manifest(mirrored.mirror_port, mirrored.repository, mirrored.tag)[0] == digest
    assert _pull_every_blob(mirrored.mirror_port, mirrored.repository, digest) == mirrored.blobs
    # ... and the app still builds through it, with the base image pulled afresh.
    for stale in (mirrored.mirror_reference, replay.declared.image.inputs["imageName"]):
        try:
            client.images.remove(stale)
        except docker.errors.ImageNotFound:
            pass
    registry = replay.declared.image.inputs["registry"]
    config = replay.docker_config("outage")
    replay.login(config, registry["server"], registry["username"], registry["password"])
    replay.build(config, no_cache=True)
    assert replay.push(config).split("@")[0] == mirrored.pushed.split("@")[0]
