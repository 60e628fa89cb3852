"""Where a stack lives: the state folder, the passphrase, the engine, and the lines that give a
user's shell the same (`./up.sh --env`)."""

from __future__ import annotations

import os
import secrets
import shlex
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".pulumi-state"
PASSPHRASE_FILE = ".pulumi-passphrase"
# Printed in place of the variable: its value is the user's, never shown.
PASSPHRASE_FROM_ENV = "# PULUMI_CONFIG_PASSPHRASE: from your environment, not printed"
ENV_LINE_NAMES = (
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
    "DOCKER_HOST",
)


class NoStackHere(Exception):
    """Nothing to read or destroy here yet; the message says what to run first."""


@dataclass
class Backend:
    """The environment every pulumi and docker command of this run gets, and what of it is
    ./up.sh's own (the state folder and passphrase it made, which --destroy may remove)."""

    project_dir: Path
    env: MutableMapping[str, str]
    own_state: bool = False
    own_passphrase: bool = False
    generated_passphrase: bool = False

    @classmethod
    def prepare(
        cls, project_dir: Path, env: MutableMapping[str, str], stack: str, creates: bool
    ) -> Backend:
        """Choose the backend and passphrase as documented in --help; create the state folder
        and passphrase file only when `creates` (an update or a preview)."""
        made = cls(project_dir, env)
        state = project_dir / STATE_DIR
        if not env.get("PULUMI_BACKEND_URL"):
            if creates:
                state.mkdir(exist_ok=True)
            elif not state.is_dir():
                raise NoStackHere(
                    f"there is no stack here yet (no {STATE_DIR}/): "
                    f"run ./up.sh --stack {stack} first."
                )
            env["PULUMI_BACKEND_URL"] = f"file://{state}"
        # Also ./up.sh's own when a shell has them from `./up.sh --env`.
        made.own_state = env["PULUMI_BACKEND_URL"] == f"file://{state}"
        passphrase = project_dir / PASSPHRASE_FILE
        if not env.get("PULUMI_CONFIG_PASSPHRASE") and not env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
            if not passphrase.is_file() or passphrase.stat().st_size == 0:
                if not creates:
                    raise NoStackHere(
                        "no passphrase: set PULUMI_CONFIG_PASSPHRASE[_FILE] or run "
                        f"./up.sh --stack {stack} first."
                    )
                descriptor = os.open(passphrase, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                    out.write(secrets.token_urlsafe(32) + "\n")
                made.generated_passphrase = True
            passphrase.chmod(0o600)
            env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(passphrase)
        made.own_passphrase = env.get("PULUMI_CONFIG_PASSPHRASE_FILE") == str(
            passphrase
        ) and not env.get("PULUMI_CONFIG_PASSPHRASE")
        return made

    def environment_lines(self) -> list[str]:
        """What `./up.sh --env` prints: `cd` and `export` lines for `eval` in a user's shell."""
        lines = [f"cd {shlex.quote(str(self.project_dir))}"]
        for name in ENV_LINE_NAMES:
            if name == "PULUMI_CONFIG_PASSPHRASE_FILE" and self.env.get("PULUMI_CONFIG_PASSPHRASE"):
                lines.append(PASSPHRASE_FROM_ENV)
            elif self.env.get(name):
                lines.append(f"export {name}={shlex.quote(self.env[name])}")
        return lines

    def environment_block(self, stack: str) -> str:
        """Printed before any update, so that a failed one still says where the stack is."""
        up = shlex.quote(str(self.project_dir / "up.sh"))
        lines = "".join(f"  {line}\n" for line in self.environment_lines())
        return (
            "\nTo use this stack from your own shell (pulumi, docker), first run\n"
            f'  eval "$({up} --stack {shlex.quote(stack)} --env)"\n'
            f"which does:\n{lines}\n"
        )
