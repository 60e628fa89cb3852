"""End to end, on your own machine: a throwaway stack of the real program, `up`, log in, pull by
digest, run the app and check it, a second `up` that changes nothing, then `destroy`.

Opt-in: `CONTAINER_REGISTRY_E2E=local venv/bin/python -m pytest -m e2e -rs tests/e2e` (or `aws`,
`azure`, `gcp`, with that cloud's credentials and settings in the environment the providers
read: AWS_REGION, ARM_LOCATION, GOOGLE_PROJECT and GOOGLE_REGION). Skipped, with the reason
printed, everywhere else.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from tests.e2e.support import (
    ENV_VAR,
    changed_operations,
    free_loopback_port,
    missing_security_headers,
    skip_reason,
    wait_until_ready,
)

ROOT = Path(__file__).resolve().parents[2]
APP_PORT = 8080
DOCKER_TIMEOUT_S = 600

pytestmark = [pytest.mark.e2e]
_REASON = skip_reason()
if _REASON is not None:
    pytestmark.append(pytest.mark.skip(reason=_REASON))


def docker(*args: str, stdin: str | None = None) -> str:
    """Run the docker CLI; fail the test with its own words (never a password: stdin only)."""
    done = subprocess.run(
        ["docker", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=DOCKER_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"docker {args[0]} failed: {done.stderr.strip()}"
    return done.stdout.strip()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[auto.Stack]:
    """A throwaway stack in a temporary file backend; destroyed and removed whatever happens."""
    target = os.environ[ENV_VAR]
    name = f"e2e-{target}-{uuid.uuid4().hex[:8]}"
    backend = tmp_path / "state"
    backend.mkdir()
    env = {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(32),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    created = auto.create_stack(
        stack_name=name,
        work_dir=str(ROOT),
        opts=auto.LocalWorkspaceOptions(env_vars=env, secrets_provider="passphrase"),
    )
    try:
        config = {"cloud": target, "forceDelete": "true"}
        if target == "local":
            config["localPort"] = str(free_loopback_port())
        created.set_all_config({key: auto.ConfigValue(value) for key, value in config.items()})
        yield created
    finally:
        try:
            created.destroy(on_output=print)
        finally:
            created.workspace.remove_stack(name, force=True)
            (ROOT / f"Pulumi.{name}.yaml").unlink(missing_ok=True)


def test_up_push_pull_run_and_a_second_up_that_changes_nothing(stack: auto.Stack) -> None:
    up = stack.up(on_output=print)
    outputs = {key: value.value for key, value in up.outputs.items()}
    assert up.outputs["credentials"].secret, "credentials must stay a Pulumi secret"
    credentials = outputs["credentials"]

    docker(
        "login",
        credentials["server"],
        "--username",
        credentials["username"],
        "--password-stdin",
        stdin=credentials["password"],
    )
    digest = outputs["repoDigest"]
    docker("pull", digest)

    port = free_loopback_port()
    container = docker("run", "--detach", "--rm", "-p", f"127.0.0.1:{port}:{APP_PORT}", digest)
    try:
        response = wait_until_ready(f"http://127.0.0.1:{port}/healthz", timeout=60)
        assert response.status == 200
        assert missing_security_headers(response.headers) == []
    finally:
        docker("rm", "--force", container)

    again = stack.up(on_output=print)
    changes = changed_operations(again.summary.resource_changes)
    assert changes == {}, f"a second up changed {json.dumps(changes)}: no rebuild, no push"
