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
