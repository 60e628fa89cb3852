"""`pull_principals`: who may pull, in the target's own form. Each target's options.py gives the
pattern and the rule; the list shape, its bound and the wildcard refusal are shared."""

from __future__ import annotations

import json
import re
from typing import cast

from container_registry.errors import ArgumentError

MAX_PULL_PRINCIPALS = 50
PATH = "pull_principals"


def pull_principals(
    value: object, pattern: re.Pattern[str], plural: str, rule: str
) -> tuple[str, ...]:
    """The principals, each checked against `pattern`, deduplicated in order."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ArgumentError(PATH, value, f"is not a list of {plural}")
    items = list(cast("list[object]", value))
    if len(items) > MAX_PULL_PRINCIPALS:
        raise ArgumentError(PATH, value, f"is not a list of at most {MAX_PULL_PRINCIPALS} {plural}")
    for index, item in enumerate(items):
        if not isinstance(item, str) or "*" in item or not pattern.fullmatch(item):
            # A non-string item is shown as the JSON it was written in (null, not None).
            shown = None if isinstance(item, str) else json.dumps(item)
            raise ArgumentError(f"{PATH}[{index}]", item, rule, shown=shown)
    return tuple(dict.fromkeys(cast("list[str]", items)))
