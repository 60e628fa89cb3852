"""./up.sh's retention run (stack/retention.py): it takes what the stack exports and hands
it to container_registry/local/retention.py; the password goes nowhere else."""

from __future__ import annotations

from typing import Any

import pytest

import stack.retention as runner
from container_registry.local.retention import Report, Stored

PASSWORD = "Zq9-not-a-real-password"
OUTPUTS: dict[str, Any] = {
    "credentials": {"server": "localhost:5000", "username": "admin", "password": PASSWORD},
    "retention": {
        "container": "container-registry-dev-registry",
        "port": 5000,
        "keepTaggedImages": 3,
        "untaggedExpiryDays": 7,
        "dockerHost": "unix:///run/user/1000/docker.sock",
        "dockerCertPath": None,
    },
}


class FakeClient:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_runs_retention_with_the_stacks_values(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    client = FakeClient()
    engines: list[Any] = []

    def fake_client(engine: Any) -> FakeClient:
        engines.append(engine)
        return client

    def fake_retain(given: Any, container: str, **kwargs: Any) -> Report:
        calls.append({"client": given, "container": container, **kwargs})
        return Report((Stored("app", "sha256:" + "0" * 64, 0.0),), 5, 1.25)

    monkeypatch.setattr(runner, "client_for", fake_client)
    monkeypatch.setattr(runner, "retain_local_images", fake_retain)
    line = runner.run(OUTPUTS)
    assert calls == [
        {
            "client": client,
            "container": "container-registry-dev-registry",
            "username": "admin",
            "password": PASSWORD,
            "port": 5000,
            "keep_tagged_images": 3,
            "untagged_expiry_days": 7,
        }
    ]
    assert engines[0].host == "unix:///run/user/1000/docker.sock"
    assert client.closed
    assert line == (
        "retention: deleted 1 manifests, kept 5; garbage collection refused requests for 1.2s"
    )
    assert PASSWORD not in line


def test_a_cloud_stack_has_nothing_to_retain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        runner, "retain_local_images", lambda *a, **k: pytest.fail("retain was called")
    )
    line = runner.run({"credentials": OUTPUTS["credentials"]})
    assert "nothing to do" in line
