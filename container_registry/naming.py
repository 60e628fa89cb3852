"""Shared rules for names and plain values: the one case rule of every enumeration, Docker's
repository grammar, and the checks every target's options use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from container_registry.args import DEFAULTS
from container_registry.errors import ArgumentError

# Docker distribution's repository grammar (path components of lowercase alphanumerics joined by
# '.', '_', '__' or dashes, separated by '/'); the local registry and ACR follow it.
DISTRIBUTION_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
DISTRIBUTION_REPO = re.compile(rf"{DISTRIBUTION_COMPONENT}(?:/{DISTRIBUTION_COMPONENT})*")
# One component alone: the name of a Docker official image (docker.io/library/<name>).
DISTRIBUTION_NAME = re.compile(DISTRIBUTION_COMPONENT)


def fold(value: str) -> str:
    """The value in lowercase if it is ASCII, else unchanged: the one case rule of every
    enumeration. Only ASCII folds, so that `ſ` or the Kelvin sign never pass for `s` or `k`."""
    return value.lower() if value.isascii() else value


def choice(value: str, allowed: tuple[str, ...]) -> str | None:
    """One of `allowed`, in any case, spelled as there (`AWS` is `aws`, `basic` is `Basic`);
    None when it is none of them."""
    return {fold(option): option for option in allowed}.get(fold(value))


def flag(args: Mapping[str, Any], key: str, path: str | None = None) -> bool:
    """A boolean Args field, its default from args.DEFAULTS."""
    path = path or key
    value = args.get(key, DEFAULTS[path])
    if not isinstance(value, bool):
        raise ArgumentError(path, value, "is not true or false")
    return value


def whole_number(value: object, path: str, low: int, high: int) -> int:
    """An int from `low` to `high` (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ArgumentError(path, value, f"is not a whole number from {low} to {high}")
    return value


def optional_text(
    args: Mapping[str, Any], key: str, path: str, pattern: re.Pattern[str], rule: str
) -> str | None:
    """A string field matching `pattern`, or None when unset or empty."""
    value = args.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ArgumentError(path, value, rule)
    return value


def repository_name(
    value: str, path: str, pattern: re.Pattern[str], low: int, high: int, rule: str
) -> str:
    """A repository name within a target's rule (each target's options.py holds its rule)."""
    if not low <= len(value) <= high or not pattern.fullmatch(value):
        raise ArgumentError(path, value, rule)
    return value


# Docker platform architectures and the variants each may carry (containerd's `platforms`
# package: the GOARCH names, and `v<N>` variants for amd64, arm and arm64). Linux only.
PLATFORM_VARIANTS: dict[str, tuple[str, ...]] = {
    "amd64": ("v1", "v2", "v3", "v4"),
    "arm64": ("v8", "v8.0", "v8.1", "v8.2", "v8.3", "v8.4", "v8.5", "v9", "v9.0"),
    "arm": ("v5", "v6", "v7", "v8"),
    "386": (),
    "ppc64le": (),
    "s390x": (),
    "riscv64": (),
    "mips64le": (),
    "loong64": (),
}
# Spellings Docker accepts for an architecture and normalises (containerd `normalizeArch`).
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386"}
_PLATFORM = re.compile(r"linux/([a-z0-9_-]+)(?:/(v[0-9]+(?:\.[0-9])?))?")
PLATFORM_RULE = (
    "is not a Linux platform Docker builds: linux/<arch>[/<variant>] with arch one of "
    f"{', '.join(PLATFORM_VARIANTS)}, such as linux/amd64, linux/arm64/v8 or linux/arm/v7"
)


def normal_platform(value: str, path: str = "platform") -> str:
    """`os/arch[/variant]` as Docker takes it, in any case, with architecture aliases normalised
    (containerd's platforms package lowercases all three parts: normalizeOS, normalizeArch)."""
    found = _PLATFORM.fullmatch(fold(value))
    arch = _ARCH_ALIASES.get(found[1], found[1]) if found else ""
    if (
        not found
        or arch not in PLATFORM_VARIANTS
        or (found[2] is not None and found[2] not in PLATFORM_VARIANTS[arch])
    ):
        raise ArgumentError(path, value, PLATFORM_RULE)
    return f"linux/{arch}" + (f"/{found[2]}" if found[2] else "")
