"""The app's base image, as app/Dockerfile declares it: the one place its name and pinned tag live.

The Dockerfile starts `ARG BASE_IMAGE=nginx`, `ARG BASE_TAG=<tag>` and
`FROM ${BASE_IMAGE}:${BASE_TAG}`. The program reads those defaults here instead of repeating
them, so the mirror path it builds from (`<mirror>/nginx`), the repository a mirror must carry
(`nginx`) and the pin cannot drift apart.
No Pulumi here: stack/config/parse.py (the mirror's repositories) and the app image's
build arguments (stack/config/__init__.py) both read it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "app" / "Dockerfile"
# The build arguments app/Dockerfile takes before FROM.
IMAGE_ARG = "BASE_IMAGE"
TAG_ARG = "BASE_TAG"

# `ARG NAME=value` (one per line, unquoted), the form app/Dockerfile uses.
_ARG = re.compile(r"^\s*ARG\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>\S+)\s*$", re.IGNORECASE)
# A Docker official image's name: one path component of the distribution spec's repository
# grammar (distribution/reference's `path-component`: lowercase alphanumerics joined by '.', '_',
# '__' or dashes), with nothing after it.
_OFFICIAL_NAME = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
# Docker official images: `nginx`, `library/nginx` or `docker.io/library/nginx`.
_OFFICIAL = re.compile(
    r"(?:(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)/)?(?:library/)?"
)


class BaseImageError(ValueError):
    """app/Dockerfile does not declare its base image the way the mirror needs."""


@dataclass(frozen=True)
class BaseImage:
    """A Docker official image: `repository` under docker.io/library, and its pinned tag."""

    repository: str
    tag: str

    @property
    def reference(self) -> str:
        """What a plain `docker build` pulls, such as `nginx:1.28.1-alpine`."""
        return f"{self.repository}:{self.tag}"

    def in_mirror(self, mirror_endpoint: str) -> str:
        """The repository in a mirror whose endpoint stands for docker.io/library."""
        return f"{mirror_endpoint}/{self.repository}"


def build_arg_defaults(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """The `ARG NAME=default` lines before the first FROM (the ones FROM can use)."""
    found = dockerfile.stat()
    return dict(_build_arg_defaults(dockerfile, found.st_mtime_ns, found.st_size))


@functools.lru_cache(maxsize=8)
def _build_arg_defaults(dockerfile: Path, _mtime_ns: int, _size: int) -> dict[str, str]:
    """build_arg_defaults, read once per version of the file (parse_settings asks for the base
    image once per key it compares with its default)."""
    defaults: dict[str, str] = {}
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\s*FROM\s", line, re.IGNORECASE):
            break
        match = _ARG.match(line)
        if match:
            defaults[match["name"]] = match["value"]
    return defaults


def base_image(dockerfile: Path = DOCKERFILE) -> BaseImage:
    """The Docker official image app/Dockerfile builds from, by default."""
    defaults = build_arg_defaults(dockerfile)
    image, tag = defaults.get(IMAGE_ARG), defaults.get(TAG_ARG)
    if image is None or tag is None:
        raise BaseImageError(
            f"{dockerfile}: expected `ARG {IMAGE_ARG}=<image>` and `ARG {TAG_ARG}=<tag>` "
            "before FROM"
        )
    prefix = _OFFICIAL.match(image)
    repository = image[prefix.end() :] if prefix else image
    if not _OFFICIAL_NAME.fullmatch(repository) or tag == "latest":
        raise BaseImageError(
            f"{dockerfile}: {IMAGE_ARG}={image} {TAG_ARG}={tag} is not a pinned Docker official "
            "image; the mirror stands for docker.io/library only"
        )
    return BaseImage(repository=repository, tag=tag)
