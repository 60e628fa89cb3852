"""The commands ./up.sh and the stack program print: the one place that spells them, so that
each works as printed in a new shell, from the project folder (issue 17 item 3). The stack
program's messages take them from here too (stack/config/hints.py)."""

from __future__ import annotations

import re
from collections.abc import Collection


def config_command(stack: str, key: str, value: str) -> str:
    """`./up.sh --stack S --config KEY VALUE`: sets the key as ./up.sh stores it (plain text)
    and updates the stack, with the stack's own backend and passphrase (a bare `pulumi config
    set` in a new shell would reach Pulumi's default backend, a Pulumi Cloud login). `value` is
    shown as given: a placeholder such as `<region>`, or a value already quoted."""
    return f"./up.sh --stack {stack} --config {key} {value}"


def in_stack_shell(stack: str, command: str) -> str:
    """`command`, a pulumi command on `stack`, behind the export lines of `./up.sh --env`."""
    return f'eval "$(./up.sh --stack {stack} --env)" && {command}'


def set_secret_command(stack: str, key: str) -> str:
    """Set a secret key at pulumi's hidden prompt, never on the command line (where the shell's
    history would keep it)."""
    return in_stack_shell(stack, f"pulumi config set --secret {key} --stack {stack}")


# Colours, as the engine writes them on a terminal.
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A diagnostic line of `pulumi up`/`preview`: the program's error, as the engine shows it.
_ERROR_LINE = re.compile(r"^\s*error: (?P<key>[A-Za-z][\w-]*(?::[A-Za-z][\w-]*)?):? (?P<rest>.*)$")


def fix_lines(output: str, stack: str, keys: Collection[str]) -> list[str]:
    """The command that fixes the first program error naming a config key in `keys` (the stack
    program's errors name the key: stack/config/errors.py), unless the program's message shows
    the command already (it spells it with config_command, above)."""
    for line in output.splitlines():
        found = _ERROR_LINE.match(ANSI.sub("", line))
        if not found or found.group("key") not in keys:
            continue
        key = found.group("key")
        if config_command(stack, key, "") in line or "./up.sh" in found.group("rest"):
            return []
        return [
            f"{key} needs another value; set it (and update the stack) with:",
            f"  {config_command(stack, key, '<value>')}",
        ]
    return []
