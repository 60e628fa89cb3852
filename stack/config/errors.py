"""The stack program's errors name the config key: SettingsError, and the mapping of a
component's InputPropertyError (a property path) to the key it came from (keys.PATH_KEYS)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import pulumi

from container_registry import ArgumentError
from stack.config.keys import PATH_KEYS

_INDEX = re.compile(r"\[[0-9]+\]$")


class SettingsError(pulumi.RunError):
    """A config value that cannot work; the message names the key, the value and what is allowed.

    A RunError, so `pulumi up` shows just the message instead of a Python traceback. A value of
    None means the key is not set: the message is then `<key> <allowed>` ("gcp:project is not
    set: ..."), never a Python `None`. `shown` replaces the repr of the value in the message.
    """

    def __init__(self, key: str, value: object, allowed: str, *, shown: str | None = None) -> None:
        if value is None and shown is None:
            super().__init__(f"{key} {allowed}")
        else:
            text = repr(value) if shown is None else shown
            if len(text) > 80:
                text = text[:77] + "..."
            super().__init__(f"{key}: {text} {allowed}")
        self.key = key
        self.value = value


def config_key(property_path: str, raw: Mapping[str, str | None]) -> str:
    """The config key a property path comes from; a list item's path names its list's key."""
    path = _INDEX.sub("", property_path)
    if path.startswith("ci.mirror_build_args"):
        return "ciRepository"
    if path == "gcp.location" and not raw.get("gcpLocation"):
        return "gcp:region"
    return PATH_KEYS.get(path, path)


def _named_by_key(rule: str, raw: Mapping[str, str | None]) -> str:
    """A rule that names other properties (`the registry's own port (local.port 5000)`), naming
    their config keys instead."""
    for path in sorted(PATH_KEYS, key=len, reverse=True):
        # Most rules name no property: `in` spares the regex for them (parse_settings maps
        # every key's error, once per key and target in the warnings' comparisons).
        if ("." in path or "_" in path) and path in rule:
            rule = re.sub(rf"(?<![\w.]){re.escape(path)}(?![\w])", config_key(path, raw), rule)
    return rule


def from_argument_error(error: ArgumentError, raw: Mapping[str, str | None]) -> SettingsError:
    """A component's ArgumentError, re-worded for the stack: the config key, and the value as
    the user set it (a list item's own value, shown as the JSON they wrote)."""
    key = config_key(error.property_path, raw)
    error = ArgumentError(error.property_path, error.value, _named_by_key(error.rule, raw))
    if _INDEX.search(error.property_path):
        value = error.value
        return SettingsError(
            key, value, error.rule, shown=None if isinstance(value, str) else json.dumps(value)
        )
    if error.value is None:
        return SettingsError(key, None, error.rule)
    typed = raw.get(key)
    return SettingsError(key, typed if typed not in (None, "") else error.value, error.rule)
