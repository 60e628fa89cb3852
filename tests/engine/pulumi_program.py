"""Run the stack program (`__main__.py`) under the real Pulumi CLI, in a process of its own.

    python tests/engine/pulumi_program.py PROJECT_DIR STACK up|preview|destroy [KEY=VALUE ...]

The CLI is the one on PATH (scripts/pulumi_toolchain.py's build). The program runs through the
Pulumi Python SDK's own language runtime, the Automation API's inline program
(`pulumi.automation._server.LanguageServer`, which the CLI reaches with `--client`,
`readProjectForUpdate` in pkg/cmd/pulumi/operations/io.go): pulumi-language-python, the Go host
that `pulumi up` would start, is not served by the module proxy here (docs/development.md).
Everything after it is the real engine: the plan, the state, the secrets, the diagnostics.

A process of its own: the SDK keeps its settings in module globals, which the unit tests' mocks
set in the test process. KEY=VALUE sets a stack config key first (`secret:KEY=VALUE` as a
secret, through the CLI's `config set --secret`; a JSON list as VALUE sets a list). Prints one
JSON line: the outcome, the operation's stdout and stderr, the resource changes the engine
reported and, for a preview, each step it planned (`steps`: op, urn, the old state's urn, the
changed keys).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

from pulumi import automation as auto


def main(argv: list[str]) -> int:
    project_dir, stack_name, operation, *settings = argv
    project = Path(project_dir).resolve()
    os.chdir(project)

    def program() -> None:
        runpy.run_path(str(project / "__main__.py"), run_name="__main__")

    workspace = auto.LocalWorkspace(
        work_dir=str(project),
        program=program,
        secrets_provider="passphrase",
        pulumi_command=auto.PulumiCommand(skip_version_check=True),
    )
    stack = auto.Stack.create_or_select(stack_name, workspace)
    for setting in settings:
        key, _, value = setting.partition("=")
        secret = key.startswith("secret:")
        key = key.removeprefix("secret:")
        if value.startswith("["):  # a list key (`type: array` in Pulumi.yaml), item by item
            for index, item in enumerate(json.loads(value)):
                config = auto.ConfigValue(item, secret=secret)
                stack.set_config(f"{key}[{index}]", config, path=True)
            continue
        stack.set_config(key, auto.ConfigValue(value, secret=secret))
    out: list[str] = []
    err: list[str] = []
    steps: list[dict[str, object]] = []
    result: dict[str, object] = {"ok": True}
    try:
        if operation == "up":
            done = stack.up(on_output=out.append, on_error=err.append, show_secrets=False)
            result["changes"] = done.summary.resource_changes
        elif operation == "preview":
            previewed = stack.preview(
                on_output=out.append, on_error=err.append, on_event=lambda e: step(e, steps)
            )
            result["changes"] = previewed.change_summary
            result["steps"] = steps
        else:
            done = stack.destroy(on_output=out.append, on_error=err.append, show_secrets=False)
            result["changes"] = done.summary.resource_changes
    except auto.errors.CommandError as error:
        result["ok"] = False
        err.append(str(error))
    result["stdout"] = "\n".join(out)
    result["stderr"] = "\n".join(err)
    print(json.dumps(result))
    return 0


def step(event: auto.EngineEvent, steps: list[dict[str, object]]) -> None:
    """A step the engine planned (its ResourcePreEvent), as plain data."""
    if event.resource_pre_event is None:
        return
    meta = event.resource_pre_event.metadata
    steps.append(
        {
            "op": meta.op.value,
            "urn": meta.urn,
            "type": meta.type,
            "old": meta.old.urn if meta.old else None,
            "keys": meta.keys or [],
            "diffs": meta.diffs or [],
        }
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
