"""Retention of a local stack's registry, run by ./up.sh after each update (docs/supply-chain.md).

The stack exports what retention needs as `retention` (no secret in it); after a local update the
CLI (stack/cli/main.py) hands `run` the stack's outputs, the `credentials` secret
among them, and `run` applies container_registry/local/retention.py on the stack's engine and
returns a one-line report. The password goes to the registry alone: never an argument, never
printed. By hand: `pulumi stack output --json --show-secrets | venv/bin/python -m
stack.retention`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import docker
from docker.constants import DEFAULT_TIMEOUT_SECONDS

from container_registry import LocalOptions, local_container_name, retain_local_images
from stack.config import COMPONENT_NAME
from stack.config.engine import DEFAULT_SOCKET, DockerEngine, PreparedEngine, docker_client
from stack.config.settings import Settings


def retention_output(settings: Settings, engine: PreparedEngine) -> dict[str, Any]:
    """The `retention` output of a local stack: where its registry runs and what to keep."""
    options = settings.options
    assert isinstance(options, LocalOptions)  # __main__.py asks on the local target only
    return {
        "container": local_container_name(settings.project, settings.stack, COMPONENT_NAME),
        "port": options.port,
        "keepTaggedImages": options.keep_tagged_images,
        "untaggedExpiryDays": options.untagged_expiry_days,
        "dockerHost": engine.engine.host,
        "dockerCertPath": engine.engine.cert_path,
    }


def client_for(engine: DockerEngine) -> docker.DockerClient:
    """A docker-py client for the stack's engine (TLS when its context has certificates), with
    docker-py's default timeout, not the engine check's short one."""
    return docker_client(
        engine.host or DEFAULT_SOCKET, engine.cert_path, timeout=DEFAULT_TIMEOUT_SECONDS
    )


def run(outputs: Mapping[str, Any]) -> str:
    """Retention for the stack whose outputs these are; the report line."""
    found = outputs.get("retention")
    if not isinstance(found, Mapping):
        return "retention: the stack has no `retention` output (not a local stack): nothing to do"
    credentials = outputs["credentials"]
    engine = DockerEngine(
        host=found.get("dockerHost"), source="the stack", cert_path=found.get("dockerCertPath")
    )
    client = client_for(engine)
    try:
        report = retain_local_images(
            client,
            str(found["container"]),
            username=str(credentials["username"]),
            password=str(credentials["password"]),
            port=int(found["port"]),
            keep_tagged_images=int(found["keepTaggedImages"]),
            untagged_expiry_days=int(found["untaggedExpiryDays"]),
        )
    finally:
        client.close()
    if not report.deleted:
        return f"retention: nothing to delete ({report.kept} manifests kept)"
    return (
        f"retention: deleted {len(report.deleted)} manifests, kept {report.kept}; garbage "
        f"collection refused requests for {report.refused_seconds:.1f}s"
    )


def main() -> int:
    """`pulumi stack output --json --show-secrets | python -m stack.retention`."""
    print(run(json.load(sys.stdin)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
