"""The images the engine tests run, under the exact names the program uses: the real upstream image
where the engine can pull it, else a stand-in built offline from Debian's packages (a debootstrap
minbase root plus `docker-registry` or `nginx`, shaped like the official image: see
tests/engine/standins/ and docs/development.md, "Engine tests").

debootstrap takes its Debian mirror from apt's own configuration at run time (`apt-get
indextargets`, which reads sources.list and the deb822 `.sources` files alike), so no package
registry's host is written here. The root filesystems are cached as tar files under
`${XDG_CACHE_HOME:-~/.cache}/container-registry/stand-ins/`, so only the first build is slow.

`python -m tests.engine.images` builds (or pulls) them on the engine DOCKER_HOST names.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from dockerfile_parse import DockerfileParser

from container_registry.local.container import REGISTRY_IMAGE

ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).resolve().parent / "standins"
# Marks an image as a stand-in, so a test (and a person running `docker inspect`) can tell.
STANDIN_LABEL = "container-registry.stand-in"
DEBOOTSTRAP_TIMEOUT_S = 1200


@dataclass(frozen=True)
class StandIn:
    """How to build the stand-in for one official image."""

    kind: str
    """The folder under tests/engine/standins/ with its Dockerfile and files."""
    packages: tuple[str, ...]
    """Debian packages added to the minbase root."""


REGISTRY_STANDIN = StandIn("registry", ("docker-registry", "busybox", "ca-certificates"))
NGINX_STANDIN = StandIn("nginx", ("nginx", "busybox"))


def app_base_image() -> str:
    """The app's base image as app/Dockerfile names it with its default build args."""
    base = DockerfileParser(str(ROOT / "app" / "Dockerfile"), build_args={}).parent_images[0]
    if not base or "$" in base:
        raise RuntimeError(f"app/Dockerfile's base image cannot be read: {base!r}")
    return base


def wanted_images() -> dict[str, StandIn]:
    """Every image a program run uses on the local target, with the stand-in for it."""
    return {REGISTRY_IMAGE: REGISTRY_STANDIN, app_base_image(): NGINX_STANDIN}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "container-registry" / "stand-ins"


def _os_release() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in Path("/etc/os-release").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def debian_source() -> tuple[str, str]:
    """(mirror URI, suite) of this machine's Debian release, as apt itself is configured.

    `apt-get indextargets` lists what apt reads from sources.list and sources.list.d (one-line and
    deb822 formats, `Enabled: no` honoured), with the Release file's Origin and Codename.
    """
    codename = _os_release().get("VERSION_CODENAME", "")
    try:
        listing = subprocess.run(
            ["apt-get", "indextargets", "Identifier: Packages"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise RuntimeError(f"apt cannot list its sources (apt-get indextargets): {err}") from err
    for record in listing.split("\n\n"):
        fields = dict(
            (key.strip(), value.strip())
            for key, sep, value in (line.partition(":") for line in record.splitlines())
            if sep
        )
        if (
            fields.get("Target-Of") == "deb"
            and fields.get("Origin") == "Debian"
            and fields.get("Release") == (codename or fields.get("Codename"))
        ):
            return fields["Repo-URI"], fields["Release"]
    raise RuntimeError(
        f"apt has no Debian source for this release ({codename or 'unknown'}): the stand-in images "
        "are built with debootstrap from it. Run `apt-get update`, or let the engine pull the "
        "real images."
    )


def _as_root(command: list[str]) -> list[str]:
    return command if os.geteuid() == 0 else ["sudo", *command]


def rootfs_tar(standin: StandIn) -> Path:
    """A tar of a debootstrap minbase root with the stand-in's packages, cached by its inputs."""
    mirror, suite = debian_source()
    key = hashlib.sha256(
        "\n".join([suite, mirror, *sorted(standin.packages)]).encode()
    ).hexdigest()[:16]
    cache = cache_dir()
    tar = cache / f"{standin.kind}-{suite}-{key}.tar"
    if tar.exists():
        return tar
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=f"{standin.kind}-") as work:
        root = Path(work) / "root"
        subprocess.run(
            _as_root(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(standin.packages)}",
                    f"--cache-dir={debs}",
                    suite,
                    str(root),
                    mirror,
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=DEBOOTSTRAP_TIMEOUT_S,
        )
        partial = Path(work) / "rootfs.tar"
        subprocess.run(
            _as_root(
                [
                    "tar",
                    "--create",
                    "--numeric-owner",
                    f"--file={partial}",
                    f"--directory={root}",
                    # Mounted by the engine, or only useful to apt: not part of an image.
                    "--exclude=./dev/*",
                    "--exclude=./proc/*",
                    "--exclude=./sys/*",
                    "--exclude=./var/cache/apt/*",
                    "--exclude=./var/lib/apt/lists/*",
                    ".",
                ]
            ),
            check=True,
        )
        subprocess.run(_as_root(["chown", str(os.getuid()), str(partial)]), check=True)
        partial.replace(tar)
        subprocess.run(_as_root(["rm", "-rf", str(root)]), check=True)
    return tar


def build_standin(client: docker.DockerClient, name: str, standin: StandIn) -> None:
    """Build the stand-in and tag it `name`."""
    with tempfile.TemporaryDirectory(prefix=f"stand-in-{standin.kind}-") as context:
        shutil.copytree(STANDINS / standin.kind, context, dirs_exist_ok=True)
        tar = rootfs_tar(standin)
        try:
            os.link(tar, Path(context) / "rootfs.tar")
        except OSError:
            shutil.copyfile(tar, Path(context) / "rootfs.tar")
        client.images.build(
            path=context,
            tag=name,
            rm=True,
            forcerm=True,
            pull=False,
            labels={STANDIN_LABEL: standin.kind},
        )


def ensure_images(client: docker.DockerClient) -> dict[str, str]:
    """Every wanted image present on the engine; for each, how: present, pulled or stand-in."""
    how: dict[str, str] = {}
    for name, standin in wanted_images().items():
        try:
            client.images.get(name)
            how[name] = "present"
            continue
        except docker.errors.ImageNotFound:
            pass
        try:
            client.images.pull(name)
            how[name] = "pulled"
        except docker.errors.APIError:
            # No registry answers (no network, or Docker Hub's rate limit): build one.
            build_standin(client, name, standin)
            how[name] = "stand-in"
    return how


def is_standin(client: docker.DockerClient, name: str) -> bool:
    labels = client.images.get(name).labels or {}
    return STANDIN_LABEL in labels


if __name__ == "__main__":
    engine = docker.from_env(timeout=600)
    for image, source in ensure_images(engine).items():
        print(f"{image}: {source}", file=sys.stderr)
