"""The commands the stack program's messages name, so every hint works as printed in a new shell
(issue 17 item 3). Library code never prints a command; the ./up.sh ones are the CLI's
(container_registry/cli/hints.py), which spells them once for both."""

from __future__ import annotations

import shlex

# The ./up.sh commands are spelled once, by the CLI that runs them (issue 22).
from container_registry.cli.hints import config_command, in_stack_shell, set_secret_command

__all__ = [
    "config_command",
    "immutable_form_command",
    "in_stack_shell",
    "install_command",
    "remove_command",
    "set_secret_command",
]


def remove_command(stack: str, key: str) -> str:
    """Remove a key from the stack's config."""
    return in_stack_shell(stack, f"pulumi config rm {shlex.quote(key)} --stack {stack}")


def install_command(cloud: str) -> str:
    """Install a cloud stack's SDK into venv/."""
    return f"venv/bin/python -m pip install -r requirements-{cloud}.txt"


# Prints a repository's immutable form, `owner@OWNER_ID/name@REPO_ID`, from GitHub's REST API
# ("Get a repository": `.owner.login`, `.owner.id`, `.name`, `.id`).
_IMMUTABLE_FORM_JQ = '"\\(.owner.login)@\\(.owner.id)/\\(.name)@\\(.id)"'


def immutable_form_command(repository: str) -> str:
    """The one command that prints a repository's immutable form, ready for ciRepository."""
    return f"gh api repos/{repository} --jq '{_IMMUTABLE_FORM_JQ}'"
