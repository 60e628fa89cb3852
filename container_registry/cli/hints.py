"""The commands ./up.sh prints: each works as printed in a new shell, from the project folder."""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection


def config_command(stack: str, key: str, value: str, *, yes: bool = False) -> str:
    """`./up.sh --stack S --config KEY VALUE`: sets the key and updates the stack, with the
    stack's own backend and passphrase (a bare `pulumi config set` in a new shell would reach
    Pulumi's default backend, a Pulumi Cloud login)."""
    words = ["./up.sh", "--stack", stack, "--config", key, value]
    line = " ".join(shlex.quote(word) if not _placeholder(word) else word for word in words)
    return f"{line} --yes" if yes else line


def in_stack_shell(stack: str, command: str) -> str:
    """`command`, a pulumi command on `stack`, behind the export lines of `./up.sh --env`."""
    return f'eval "$(./up.sh --stack {shlex.quote(stack)} --env)" && {command}'


def _placeholder(word: str) -> bool:
    """`<project-id>` and the like: for the user to fill in, so shown as it is."""
    return word.startswith("<") and word.endswith(">")


# Colours, as the engine writes them on a terminal.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A diagnostic line of `pulumi up`/`preview`: the program's error, as the engine shows it.
_ERROR_LINE = re.compile(r"^\s*error: (?P<key>[A-Za-z][\w-]*(?::[A-Za-z][\w-]*)?):? (?P<rest>.*)$")


def fix_lines(output: str, stack: str, keys: Collection[str]) -> list[str]:
    """The command that fixes the first program error naming a config key in `keys`: the stack
    program names the key (its errors' contract); the command is this CLI's to word."""
    for line in output.splitlines():
        found = _ERROR_LINE.match(_ANSI.sub("", line))
        if found and found.group("key") in keys:
            key = found.group("key")
            return [
                f"{key} needs another value; set it (and update the stack) with:",
                f"  {config_command(stack, key, '<value>')}",
            ]
    return []
