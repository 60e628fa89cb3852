"""Side by side, in one run: the local registry with the program's htpasswd hash (bcrypt cost 4)
against the same registry with Go's default cost (10), on the Docker engine the docker CLI uses.

    venv/bin/python benchmarks/auth.py [--seconds 5] [--rounds 3]

Both registries run the image and the container settings container_registry/local/ declares (its
start script, environment, read-only root, tmpfs, capabilities); only the hash's cost differs.
Each round measures, alternating which registry goes first:
  - authenticated `GET /v2/` requests per second, from 1 client and from 8 (threads, each with
    its own keep-alive connection), for --seconds each, in one-second slices that alternate
    between the two registries;
  - the time to push a 10-layer image (1 MiB of random bytes per layer, new in every round).
It prints the medians and the ratios (cost 4 over cost 10). Not a test: nothing here asserts a
time. The figures of a run are recorded in docs/development.md.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import docker
import requests
from docker.models.containers import Container
from docker.types import LogConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from container_registry.local.container import (  # noqa: E402 (after the path above)
    AUTH_TMPFS,
    HTPASSWD_PATH,
    LOG_DRIVER,
    LOG_OPTS,
    PASSWORD_LENGTH,
    REGISTRY_IMAGE,
    REGISTRY_PORT,
    REGISTRY_START,
    SALT_BYTES,
    SECURITY_OPTS,
    htpasswd_line,
)

USER = "admin"
REFERENCE_COST = 10  # Go's bcrypt.DefaultCost, what pulumi-random's bcrypt_hash used
LAYERS = 10
LAYER_BYTES = 1 << 20
CLIENTS = (1, 8)


@dataclass
class Target:
    label: str
    container: Container
    port: int
    rates: dict[int, list[float]] = field(default_factory=dict)
    pushes: list[float] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"localhost:{self.port}"


def start_registry(
    client: docker.DockerClient, label: str, line: str, stack: ExitStack, image: str
) -> Target:
    """The registry as container_registry/local/ declares it, with `line` as its htpasswd."""
    container = client.containers.run(
        image,
        entrypoint=["/bin/sh", "-c", REGISTRY_START],
        environment=[
            "REGISTRY_AUTH=htpasswd",
            "REGISTRY_AUTH_HTPASSWD_REALM=benchmark registry",
            f"REGISTRY_AUTH_HTPASSWD_PATH={HTPASSWD_PATH}",
            "REGISTRY_STORAGE_DELETE_ENABLED=true",
            f"HTPASSWD={line}",
        ],
        read_only=True,
        tmpfs=AUTH_TMPFS,
        security_opt=SECURITY_OPTS,
        cap_drop=["ALL"],
        log_config=LogConfig(type=LOG_DRIVER, config=LOG_OPTS),
        ports={f"{REGISTRY_PORT}/tcp": ("127.0.0.1", 0)},  # a free port
        # The data lands on the anonymous volume of the image's VOLUME /var/lib/registry.
        labels={"container-registry.benchmark": label},
        detach=True,
    )
    stack.callback(container.remove, force=True, v=True)
    container.reload()
    published = container.ports[f"{REGISTRY_PORT}/tcp"] or []
    port = int(published[0]["HostPort"])
    target = Target(label=label, container=container, port=port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/", timeout=2).ok:
                return target
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the {label} registry did not answer within 60 s")


def burst(port: int, password: str, clients: int, seconds: float) -> tuple[int, float]:
    """Authenticated GET /v2/ from `clients` threads for `seconds`, each thread on its own
    keep-alive connection (http.client: the least client work per request); every answer must
    be 200. Returns the requests answered and the seconds it took."""
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    counts = [0] * clients
    failures: list[str] = []
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while time.monotonic() < stop:
                connection.request("GET", "/v2/", headers=headers)
                answer = connection.getresponse()
                answer.read()
                if answer.status != 200:
                    failures.append(f"HTTP {answer.status}")
                    return
                counts[index] += 1
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"an authenticated request failed: {failures[0]}")
    return sum(counts), time.monotonic() - started


@contextmanager
def layered_image(client: docker.DockerClient, tag: str) -> Iterator[str]:
    """A FROM-scratch image of LAYERS layers of random bytes, built on the engine (no pull)."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        lines = ["FROM scratch"]
        for index in range(LAYERS):
            (root / f"layer{index}").write_bytes(os.urandom(LAYER_BYTES))
            lines.append(f"COPY layer{index} /layer{index}")
        (root / "Dockerfile").write_text("\n".join(lines) + "\n")
        image, _ = client.images.build(path=folder, tag=tag, rm=True)
    try:
        yield tag
    finally:
        client.images.remove(image.id, force=True)


def timed_push(client: docker.DockerClient, target: Target, source: str, password: str) -> float:
    repository = f"{target.server}/bench/layers"
    tag = source.rsplit(":", 1)[1]
    client.images.get(source).tag(repository, tag)
    started = time.monotonic()
    for event in client.images.push(
        repository,
        tag=tag,
        auth_config={"username": USER, "password": password},
        stream=True,
        decode=True,
    ):
        if "error" in event:
            raise SystemExit(f"push to {target.label}: {event['error']}")
    elapsed = time.monotonic() - started
    client.images.remove(f"{repository}:{tag}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="per registry and client count, per round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every measurement")
    parser.add_argument("--image", default=REGISTRY_IMAGE, help="the registry image to run")
    args = parser.parse_args()

    client = docker.from_env()
    password = secrets.token_hex(PASSWORD_LENGTH // 2)  # letters and digits, as the program's
    ours = htpasswd_line(USER, password, secrets.token_hex(SALT_BYTES))
    slow_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt(REFERENCE_COST)).decode()
    reference = f"{USER}:{slow_hash}"
    with ExitStack() as stack:
        targets = [
            start_registry(client, "cost 4", ours, stack, args.image),
            start_registry(client, f"cost {REFERENCE_COST}", reference, stack, args.image),
        ]
        for round_number in range(args.rounds):
            order = targets if round_number % 2 == 0 else targets[::-1]
            for clients in CLIENTS:
                # One-second slices, alternating, so both registries see the same load from
                # whatever else runs on the machine.
                done = {target.label: (0, 0.0) for target in targets}
                for index in range(max(1, round(args.seconds))):
                    for target in order if index % 2 == 0 else order[::-1]:
                        count, took = burst(target.port, password, clients, 1.0)
                        total = done[target.label]
                        done[target.label] = (total[0] + count, total[1] + took)
                for target in targets:
                    count, took = done[target.label]
                    target.rates.setdefault(clients, []).append(count / took)
            with layered_image(client, f"bench-layers:round{round_number}") as source:
                for target in order:
                    target.pushes.append(timed_push(client, target, source, password))
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

    fast, slow = targets
    print(f"engine: {client.version()['Version']}, image: {args.image}, cpus: {os.cpu_count()}")
    print(f"{'':34}{fast.label:>12}{slow.label:>12}{'ratio':>8}")
    for clients in CLIENTS:
        a, b = statistics.median(fast.rates[clients]), statistics.median(slow.rates[clients])
        print(f"{f'requests/s, {clients} client(s) (median)':34}{a:12.1f}{b:12.1f}{a / b:7.1f}x")
    a, b = statistics.median(fast.pushes), statistics.median(slow.pushes)
    print(f"{f'push of {LAYERS} layers, s (median)':34}{a:12.2f}{b:12.2f}{b / a:7.1f}x")


if __name__ == "__main__":
    main()
