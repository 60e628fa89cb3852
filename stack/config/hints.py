"""The commands the stack program's messages name, so every hint works as printed in a new shell
(issue 17 item 3). Library code never prints a command; the ./up.sh ones are the CLI's
(stack/cli/hints.py), which spells them once for both."""

from __future__ import annotations

import shlex

from container_registry import SUBJECT_CLAIM_KEYS

# The ./up.sh commands are spelled once, by the CLI that runs them (issue 22).
from stack.cli.hints import config_command, in_stack_shell, set_secret_command

__all__ = [
    "config_command",
    "immutable_form_command",
    "in_stack_shell",
    "install_command",
    "remove_command",
    "set_secret_command",
    "subject_template_command",
]


def remove_command(stack: str, key: str) -> str:
    """Remove a key from the stack's config."""
    return in_stack_shell(stack, f"pulumi config rm {shlex.quote(key)} --stack {stack}")


# The SDK each cloud stack adds to venv/ (requirements-<cloud>.txt); the local stack's packages
# are all in requirements.txt, which `pulumi up` installs.
CLOUD_SDKS: dict[str, str] = {
    "aws": "pulumi_aws",
    "azure": "pulumi_azure_native",
    "gcp": "pulumi_gcp",
}


def install_command(cloud: str) -> str:
    """Install a cloud stack's SDK into venv/."""
    return f"venv/bin/python -m pip install -r requirements-{cloud}.txt"


# Prints a repository's immutable form, `owner@OWNER_ID/name@REPO_ID`, from GitHub's REST API
# ("Get a repository": `.owner.login`, `.owner.id`, `.name`, `.id`).
_IMMUTABLE_FORM_JQ = '"\\(.owner.login)@\\(.owner.id)/\\(.name)@\\(.id)"'


def immutable_form_command(repository: str) -> str:
    """The one command that prints a repository's immutable form, ready for ciRepository."""
    return f"gh api repos/{repository} --jq '{_IMMUTABLE_FORM_JQ}'"


def subject_template_command(repository: str) -> str:
    """The one `gh api` call that sets the repository's subject template to repo, context, ref
    (container_registry.SUBJECT_CLAIM_KEYS; GitHub REST API, "Set the customization
    template for an OIDC subject claim for a repository": PUT
    /repos/{owner}/{repo}/actions/oidc/customization/sub with `use_default` false and
    `include_claim_keys`; `-F` sends `false` as a JSON boolean, `key[]=` builds an array)."""
    keys = " ".join(f"-f 'include_claim_keys[]={key}'" for key in SUBJECT_CLAIM_KEYS)
    return (
        f"gh api --method PUT repos/{repository}/actions/oidc/customization/sub "
        f"-F use_default=false {keys}"
    )
