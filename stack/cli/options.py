"""The command line of ./up.sh, parsed with argparse; a wrong argument touches nothing."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Literal, NoReturn

from stack.cli.hints import set_secret_command

Mode = Literal["up", "preview", "outputs", "env", "destroy"]
MODES: tuple[Mode, ...] = ("preview", "outputs", "env", "destroy")
# Pulumi's rule for stack names.
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")

USAGE = (
    "./up.sh [--stack NAME] [--config KEY VALUE]... [--yes]\n"
    "       ./up.sh [--stack NAME] --preview | --outputs | --env | --destroy [--yes]"
)
DESCRIPTION = """\
Deploy the stack NAME (default: dev, the local registry on your Docker), push the app image to it
and print the commands to log in, pull, run and check it. Each target has its own stack: dev
(local), aws, azure and gcp, set up by Pulumi.<stack>.yaml (see docs/stacks.md). A cloud stack
shows the preview of the update and asks before it changes anything."""
EPILOG = """\
State: ./.pulumi-state (or PULUMI_BACKEND_URL). Passphrase: PULUMI_CONFIG_PASSPHRASE, else
PULUMI_CONFIG_PASSPHRASE_FILE, else ./.pulumi-passphrase (generated on the first update)."""
HELP: dict[str, str] = {
    "--stack": "the stack to work on; created if it does not exist (except with --outputs,\n"
    "--env and --destroy)",
    "--config": "set a setting of the stack (pulumi config set KEY VALUE), then update it;\n"
    "may be given more than once",
    "--preview": "show what an update would change; changes no resource, but creates the\n"
    "state folder, the passphrase and the empty stack if they do not exist yet",
    "--outputs": "print the stack's outputs and the commands to use it again; changes nothing",
    "--env": "print the export lines that let pulumi and docker in your shell reach the\n"
    'stack, for: eval "$(./up.sh --stack NAME --env)"; changes nothing',
    "--destroy": "remove everything of the stack, after asking for its name: its resources,\n"
    "your images in its registry too, the stack, the images it pulled and built\n"
    "here and its docker login; and .pulumi-state/ and the passphrase once no\n"
    "stack is left",
    "--yes": "do not ask: with --destroy, and for the update of a cloud stack (needed\n"
    "when no terminal is attached)",
    "--help": "print this help and exit",
}


class UsageError(Exception):
    """A wrong command line: ./up.sh prints it with the usage and exits 2, touching nothing."""


@dataclass(frozen=True)
class Options:
    stack: str = "dev"
    mode: Mode = "up"
    yes: bool = False
    config: tuple[tuple[str, str], ...] = ()

    def given(self, key: str, project: str) -> str | None:
        """The value the last `--config KEY` gives `key` (bare or `<project>:key`), or None."""
        found = [value for name, value in self.config if name in (key, f"{project}:{key}")]
        return found[-1] if found else None


class _Parser(argparse.ArgumentParser):
    """argparse with today's wording of ./up.sh: `Usage:`, and one line per wrong argument."""

    def format_usage(self) -> str:
        return super().format_usage().replace("usage: ", "Usage: ", 1)

    def format_help(self) -> str:
        return super().format_help().replace("usage: ", "Usage: ", 1)

    def error(self, message: str) -> NoReturn:
        if message.startswith("argument --stack"):
            message = "--stack needs a stack name"
        elif message.startswith("argument --config"):
            message = "--config needs a key and a value"
        elif message.startswith("unrecognized arguments: "):
            first = message.removeprefix("unrecognized arguments: ").split(" ")[0]
            message = f"unknown argument: {first}"
        raise UsageError(message)


class _Mode(argparse.Action):
    """--preview, --outputs, --env and --destroy exclude each other."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        if getattr(namespace, "mode", "up") != "up":
            raise UsageError("choose one of --preview, --outputs, --env and --destroy")
        namespace.mode = self.const


def parser() -> argparse.ArgumentParser:
    """The parser; its help is `./up.sh --help`."""
    made = _Parser(
        prog="./up.sh",
        usage=USAGE,
        description=DESCRIPTION,
        epilog=EPILOG,
        add_help=False,
        allow_abbrev=False,
        formatter_class=lambda prog: argparse.RawTextHelpFormatter(prog, max_help_position=22),
    )
    made.add_argument("--stack", metavar="NAME", default="dev", help=HELP["--stack"])
    made.add_argument(
        "--config",
        nargs=2,
        metavar=("KEY", "VALUE"),
        action="append",
        default=[],
        help=HELP["--config"],
    )
    for mode in MODES:
        made.add_argument(f"--{mode}", action=_Mode, nargs=0, const=mode, help=HELP[f"--{mode}"])
    made.add_argument("--yes", "-y", action="store_true", help=HELP["--yes"])
    made.add_argument("-h", "--help", action="store_true", help=HELP["--help"])
    made.set_defaults(mode="up")
    return made


def parse(argv: list[str], secret_keys: tuple[str, ...]) -> Options | None:
    """The options, or None for --help; raises UsageError. `secret_keys`: the keys --config
    refuses (a secret on the command line would stay in the shell's history)."""
    found = parser().parse_args(argv)
    if found.help:
        return None
    stack: str = found.stack
    if not STACK_NAME.fullmatch(stack):
        raise UsageError(f"'{stack}' is not a stack name: letters, digits, '-', '_' and '.' only")
    config = tuple((key, value) for key, value in found.config)
    for key, _ in config:
        if key.startswith("-"):
            raise UsageError("--config needs a key and a value")
    if found.yes and found.mode not in ("up", "destroy"):
        raise UsageError("--yes goes only with an update or --destroy")
    if config and found.mode != "up":
        raise UsageError(
            "--config goes only with an update (no --preview, --outputs, --env or --destroy)"
        )
    for key, _ in config:
        bare = key.rsplit(":", 1)[-1]
        if bare in secret_keys:
            raise UsageError(
                f"--config does not take the secret {bare}; set it at a hidden prompt:\n"
                f"  {set_secret_command(stack, bare)}"
            )
    return Options(stack=stack, mode=found.mode, yes=found.yes, config=config)
