"""Small helpers the engine tests share: HTTP to a registry, the host's addresses, app runs."""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from docker.models.containers import Container

from tests.e2e.support import free_loopback_port, wait_until_ready
from tests.engine.replay import Replay

# Never route loopback requests through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# The manifest types a registry may answer with (Distribution's docs, "Image Manifest Version 2,
# Schema 2"; the OCI image spec, "Image Manifest" and "Image Index").
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    url: str,
    *,
    auth: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    timeout: float = 10.0,
) -> Answer:
    """One request; an HTTP error status is an answer, not an exception."""
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, dict(err.headers), err.read())


def catalog(port: int, auth: tuple[str, str] | None = None) -> list[str]:
    answer = http(f"http://127.0.0.1:{port}/v2/_catalog", auth=auth)
    assert answer.status == 200, f"catalog on {port}: HTTP {answer.status} {answer.body[:200]!r}"
    return list(answer.json().get("repositories") or [])


def connects(address: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def host_addresses() -> list[str]:
    """Every IPv4 and IPv6 address of this machine but the loopback ones (`ip -json addr`)."""
    listing = json.loads(
        subprocess.run(
            ["ip", "-json", "addr", "show"], check=True, capture_output=True, text=True
        ).stdout
    )
    found = []
    for interface in listing:
        for address in interface.get("addr_info", []):
            local = address.get("local", "")
            if address.get("scope") == "host" or not local or local.startswith("fe80:"):
                continue
            found.append(local)
    return found


def free_subnet() -> str:
    """A 10.x.y.1/24 that no route of this machine overlaps (`ip -json route`): for the bridge of
    a private engine (.ci/run)."""
    routes = json.loads(
        subprocess.run(
            ["ip", "-json", "route", "show", "table", "all"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    taken = []
    for route in routes:
        destination = route.get("dst", "")
        if destination and destination != "default" and ":" not in destination:
            taken.append(ipaddress.ip_network(destination, strict=False))
    for second in range(200, 256):
        for third in range(0, 256, 7):
            candidate = ipaddress.ip_network(f"10.{second}.{third}.0/24")
            if not any(candidate.overlaps(network) for network in taken):
                return f"10.{second}.{third}.1/24"
    raise RuntimeError("no free 10.x.y.0/24 subnet on this machine")


def run_app(replay: Replay, image: str) -> tuple[Container, int]:
    """Run the app image published on a free loopback port; return it once /healthz answers."""
    port = free_loopback_port()
    container = replay.engine.client.containers.run(
        image,
        detach=True,
        name=f"{replay.stack}-app-{port}",
        ports={"8080/tcp": ("127.0.0.1", port)},
        labels=replay.labels,
    )
    replay.created_containers.add(container.name or "")
    wait_until_ready(f"http://127.0.0.1:{port}/healthz", timeout=60)
    return container, port


def wait_answering(url: str, timeout: float = 60.0) -> None:
    """Until `url` answers at all (any HTTP status)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            http(url, timeout=2)
            return
        except OSError as err:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f}s: {err}") from err
            time.sleep(0.3)


def start_upstream(replay: Replay, image: str, *, network: str, name: str, port: int) -> None:
    """A registry without auth standing in for Docker Hub: on `network`, where the mirror reaches
    it as http://NAME:5000, and on 127.0.0.1:`port` for the pushes that seed it."""
    container = replay.engine.client.containers.run(
        image,
        detach=True,
        name=name,
        network=network,
        ports={"5000/tcp": ("127.0.0.1", port)},
        labels=replay.labels,
    )
    replay.created_containers.add(container.name or name)
    wait_answering(f"http://127.0.0.1:{port}/v2/")
