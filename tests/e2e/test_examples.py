"""End to end, on your own machine: each example in examples/ (Python, TypeScript, YAML) in a
throwaway stack, `up`, a second `up` that changes nothing, then `destroy` (issue 21 item 4).

Opt-in: `CONTAINER_REGISTRY_E2E=local venv/bin/python -m pytest -m e2e -rs tests/e2e` with the
Pulumi CLI and Docker (and Node.js with npm for TypeScript). Each example is copied to a temporary
folder with its package pointed at this repository's provider/; TypeScript first runs
`pulumi package add` (which installs provider/venv with every cloud's SDK the first time) and
`npm install`, YAML `pulumi install`. Skipped, with the reason printed, everywhere else.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from pulumi import automation as auto

from tests.e2e.support import (
    EXAMPLES,
    changed_operations,
    example_project,
    example_skip_reason,
    free_loopback_port,
)

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT_S = 1800

pytestmark = [pytest.mark.e2e]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    """A CLI step of the setup; fails the test with its own words."""
    done = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_example_goes_up_and_a_second_up_changes_nothing(example: str, tmp_path: Path) -> None:
    reason = example_skip_reason(example)
    if reason is not None:
        pytest.skip(reason)
    work = tmp_path / example
    shutil.copytree(
        ROOT / "examples" / example,
        work,
        ignore=shutil.ignore_patterns("node_modules", "sdks", "bin", "venv"),
    )
    document = yaml.safe_load((work / "Pulumi.yaml").read_text(encoding="utf-8"))
    project = example_project(document, ROOT / "provider", ROOT / "venv")
    (work / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
    backend = tmp_path / "state"
    backend.mkdir()
    env = {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(32),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        # The Python example imports the package from this checkout.
        "PYTHONPATH": str(ROOT),
    }
    if example == "typescript":
        run(["pulumi", "package", "add", str(ROOT / "provider")], work, env)
        run(["npm", "install", "--no-audit", "--no-fund"], work, env)
    elif example == "yaml":
        run(["pulumi", "install"], work, env)

    name = f"e2e-example-{example}-{uuid.uuid4().hex[:8]}"
    stack = auto.create_stack(
        stack_name=name,
        work_dir=str(work),
        opts=auto.LocalWorkspaceOptions(env_vars=env, secrets_provider="passphrase"),
    )
    try:
        port = free_loopback_port()
        stack.set_all_config(
            {
                "localPort": auto.ConfigValue(str(port)),
                "context": auto.ConfigValue(str(ROOT / "app")),
            }
        )
        up = stack.up(on_output=print)
        digest = up.outputs["repoDigest"].value
        assert re.fullmatch(rf"[^/]+:{port}/api@sha256:[0-9a-f]{{64}}", digest), digest
        again = stack.up(on_output=print)
        assert changed_operations(again.summary.resource_changes) == {}
    finally:
        try:
            stack.destroy(on_output=print)
        finally:
            stack.workspace.remove_stack(name, force=True)
