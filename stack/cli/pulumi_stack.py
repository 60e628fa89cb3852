"""Pulumi, through its Automation API: the one place that drives the Pulumi CLI.

`pulumi.automation` runs the CLI underneath (`PulumiCommand.run` in pulumi/automation/_cmd.py)
with the project folder as its working directory; stack selection, config and outputs come back
into this process, and a secret never passes through a shell pipe. The tests replace this
class with a fake of the same methods.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from semver import VersionInfo

# The oldest Pulumi CLI this project works with: 3.119.0 is the first whose Python language host
# reads the `toolchain` option of Pulumi.yaml (pulumi/pulumi#16243, in CHANGELOG.md under 3.119.0;
# `pulumi install --no-dependencies` came in 3.113.0). docs/stacks.md says the same; main.py's
# check_tools enforces it.
MIN_VERSION = VersionInfo(3, 119, 0)


class PulumiFailed(Exception):
    """A Pulumi command failed; its output was shown as it ran. `code`: its exit status."""

    def __init__(self, code: int, output: str) -> None:
        super().__init__(f"pulumi exited with {code}")
        self.code = code
        self.output = output


def _failed(error: auto.errors.CommandError) -> PulumiFailed:
    # CommandError's text is CommandResult.__str__: "\n code: N\n stdout: ...\n stderr: ..."
    # (pulumi/automation/_cmd.py); the status is not kept otherwise.
    found = re.search(r"code: (-?\d+)", str(error))
    return PulumiFailed(int(found.group(1)) if found and found.group(1) != "0" else 1, str(error))


def cli_version() -> VersionInfo | None:
    """The Pulumi CLI's version as the Automation API reads it (`pulumi version`), or None
    when it cannot be read; our own minimum is checked by the caller, with our own words."""
    return auto.PulumiCommand(skip_version_check=True).version


class PulumiStack:
    """One stack of the project in `project_dir`, with `env` as the CLI's environment."""

    def __init__(self, project_dir: Path, stack: str, env: MutableMapping[str, str]) -> None:
        self.stack = stack
        # `env_vars` go on top of os.environ for every command (LocalWorkspace._run_pulumi_cmd_sync
        # and PulumiCommand.run): the live mapping, so what the caller sets later counts too.
        self.workspace = auto.LocalWorkspace(
            work_dir=str(project_dir),
            env_vars=env,
            secrets_provider="passphrase",
            pulumi_command=auto.PulumiCommand(skip_version_check=True),
        )
        if self.workspace.pulumi_command.version is None:
            # A version the SDK cannot parse (a development build): preview and up need one to
            # choose their event log (LocalWorkspace.pulumi_version raises without it), and the
            # oldest this project supports takes the file log, which every CLI writes.
            self.workspace.pulumi_command.version = MIN_VERSION
        self._stack: auto.Stack | None = None

    @property
    def _selected(self) -> auto.Stack:
        assert self._stack is not None, "select() first"
        return self._stack

    def _run(self, *args: str) -> str:
        """A CLI command the Automation API has no method for (or none without secrets)."""
        try:
            done = self.workspace.pulumi_command.run(
                list(args), str(self.workspace.work_dir), self.workspace.env_vars
            )
        except auto.errors.CommandError as error:
            raise _failed(error) from error
        return done.stdout

    def select(self, *, create: bool) -> bool:
        """Select the stack (creating it, with passphrase secrets, when `create`); False when it
        does not exist and `create` is off."""
        try:
            if create:
                self._stack = auto.Stack.create_or_select(self.stack, self.workspace)
            else:
                self._stack = auto.Stack.select(self.stack, self.workspace)
        except auto.errors.StackNotFoundError:
            return False
        return True

    def config(self) -> dict[str, str | None]:
        """The stack's config, full keys; a secret's value is None. `pulumi config --json`
        without --show-secrets, so no secret is decrypted (get_all_config would)."""
        found = json.loads(self._run("config", "--json", "--stack", self.stack) or "{}")
        return {
            key: None if entry.get("secret") else entry.get("value") for key, entry in found.items()
        }

    def set_config(self, key: str, value: str) -> None:
        """`config set KEY --plaintext -- VALUE`: plain text on purpose (the caller refuses the
        secret keys); without --plaintext the CLI refuses a value of a key named like
        *Password*/*Secret* whose text looks random, such as acrDockerHubPasswordSecretUri's URI
        (configSetCmd.Run and looksLikeSecret in pkg/cmd/pulumi/config/config.go)."""
        self._selected.set_config(key, auto.ConfigValue(value=value, secret=False))

    def outputs(self) -> dict[str, auto.OutputValue]:
        """The stack's outputs, read into this process (empty before the first update)."""
        try:
            return dict(self._selected.outputs())
        except auto.errors.CommandError:
            return {}

    def state(self) -> dict[str, Any]:
        """`pulumi stack export` without --show-secrets: the secrets stay encrypted
        (Workspace.export_stack would decrypt them)."""
        text = self._run("stack", "export", "--stack", self.stack)
        return json.loads(text) if text.strip() else {}

    def install(self, *, no_plugins: bool = False, no_dependencies: bool = False) -> None:
        try:
            self.workspace.install(
                no_plugins=no_plugins, no_dependencies=no_dependencies, on_output=print
            )
        except auto.errors.CommandError as error:
            raise _failed(error) from error

    def install_plugin(self, name: str, version: str) -> None:
        self._run("plugin", "install", "resource", name, version)

    def _operation(self, run: Callable[..., object]) -> None:
        color = "always" if sys.stdout.isatty() else "never"
        try:
            run(on_output=_say, on_error=_warn, color=color)
        except auto.errors.CommandError as error:
            raise _failed(error) from error

    def preview(self) -> None:
        """`pulumi preview --refresh`, shown as it runs."""
        self._operation(lambda **kw: self._selected.preview(refresh=True, **kw))

    def up(self) -> None:
        """`pulumi up --yes --skip-preview --refresh`, shown as it runs (the caller asked first
        where it asks)."""
        # show_secrets=False: the summary it reads afterwards (`stack history`) keeps the
        # config's secrets encrypted (Stack.up -> Stack.info in pulumi/automation/_stack.py).
        self._operation(lambda **kw: self._selected.up(refresh=True, show_secrets=False, **kw))

    def destroy(self) -> None:
        self._operation(lambda **kw: self._selected.destroy(show_secrets=False, **kw))

    def unprotect_all(self) -> None:
        self._run("state", "unprotect", "--all", "--yes", "--stack", self.stack)

    def remove(self) -> None:
        """`stack rm --yes --preserve-config`: not `destroy --remove`, which deletes
        Pulumi.<stack>.yaml, a checked-in file (destroy.go in pkg/cmd/pulumi/operations)."""
        self.workspace.remove_stack(self.stack, preserve_config=True)

    def stack_count(self) -> int | None:
        """How many stacks the backend holds, or None when it cannot tell."""
        try:
            return len(self.workspace.list_stacks())
        except (auto.errors.CommandError, ValueError, KeyError):
            return None


def _say(line: str) -> None:
    print(line, flush=True)


def _warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
