"""Before a local update: the registry's ports and container names, checked against the stack's
own state; and the two plugins a local stack needs.

"This stack's" means the container IDs in its state: labels can be copied (another clone of
this project has the same ones), a state's container IDs cannot.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stack.cli.hints import config_command


@dataclass(frozen=True)
class StackState:
    """What ./up.sh needs of `pulumi stack export` (no secret is in it)."""

    containers: tuple[tuple[str, str], ...] = ()  # (ID, name)
    images: tuple[str, ...] = ()  # pulled (RemoteImage) or built (Image) here
    protected: int = 0

    @classmethod
    def of(cls, exported: Mapping[str, Any]) -> StackState:
        resources = (exported.get("deployment") or {}).get("resources") or []
        containers: list[tuple[str, str]] = []
        images: list[str] = []
        for resource in resources:
            kind, outputs = resource.get("type"), resource.get("outputs") or {}
            if kind == "docker:index/container:Container" and resource.get("id"):
                containers.append((resource["id"], str(outputs.get("name", ""))))
            elif kind == "docker:index/remoteImage:RemoteImage" and isinstance(
                outputs.get("name"), str
            ):
                images.append(outputs["name"])
            elif kind == "docker:index/image:Image" and isinstance(outputs.get("imageName"), str):
                images.append(outputs["imageName"])
        protected = sum(bool(resource.get("protect")) for resource in resources)
        return cls(tuple(containers), tuple(images), protected)

    def ours(self, container_id: str) -> bool:
        """Whether the container ID (short or long) is one of this stack's."""
        return bool(container_id) and any(
            found.startswith(container_id) for found, _ in self.containers
        )


@dataclass(frozen=True)
class Layout:
    """Where a local stack's registry listens and what its containers are called."""

    ports: tuple[tuple[str, int], ...]  # (config key, port)
    names: tuple[str, ...] = field(default=())


class Engine(Protocol):
    def publisher(self, port: int) -> tuple[str, str] | None: ...
    def named(self, name: str) -> str: ...


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port` (AirPlay listens on all
    addresses, so a bind test would miss it)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port_after(port: int, taken: Iterable[int]) -> int:
    """The first port after `port` that nothing listens on and that is not in `taken`."""
    avoid = set(taken)
    for _ in range(200):
        port = port + 1 if port < 65535 else 1024
        if port not in avoid and not port_open(port):
            break
    return port


def local_engine(docker_host: str | None) -> bool:
    """Whether the engine runs on this machine; a remote one publishes on its own 127.0.0.1."""
    host = docker_host or "unix://"
    return host.startswith(("unix://", "tcp://127.0.0.1:", "tcp://localhost:"))


def preflight(
    layout: Layout, state: StackState, engine: Engine, stack: str, *, check_ports: bool
) -> list[str] | None:
    """The lines that stop a local update, or None when its ports and names are free or this
    stack's own."""
    ports = [port for _, port in layout.ports]
    for key, port in layout.ports if check_ports else ():
        if not port_open(port):
            continue
        holder = engine.publisher(port)
        if holder and state.ours(holder[0]):
            continue
        fix = f"  {config_command(stack, key, str(free_port_after(port, ports)))}"
        if holder:
            return [
                f"127.0.0.1:{port} ({key}) is held by the container {holder[1]}, which is not in "
                f"stack '{stack}' (another clone or stack of this project, or another program's).",
                f"Stop that container (docker stop {holder[1]}), or give this stack another port:",
                fix,
            ]
        return [
            f"127.0.0.1:{port} ({key}) is already taken by another program (on macOS, AirPlay "
            "Receiver holds 5000),",
            "so the registry cannot listen there. Give it another port:",
            fix,
        ]
    for name in layout.names:
        holder_id = engine.named(name)
        if holder_id and not state.ours(holder_id):
            return [
                f"a container named {name} exists, but it is not in stack '{stack}': a leftover, "
                f"or the registry of another clone of this project with a stack named '{stack}'. "
                "Docker names are unique on an engine.",
                f"Remove it if it is a leftover (its data volume stays):  docker rm -f {name}",
                "or run this clone under another stack name:  "
                f"{config_command(f'{stack}-2', 'cloud', 'local')}",
            ]
    return None


def plugin_versions(project_dir: Path, packages: Iterable[str]) -> list[str] | None:
    """The plugin version each installed Pulumi package (such as pulumi_docker) declares in its
    pulumi-plugin.json in venv/, or None unless each has exactly one.

    A local stack needs only the docker and random plugins. The engine installs a plugin for
    every Pulumi package in the virtualenv (GetRequiredPackages in
    sdk/python/cmd/pulumi-language-python/main.go), but best effort: installPlugins in
    pkg/engine/update.go ignores their errors, and with automatic acquisition off
    ensurePluginsAreInstalled (pkg/engine/plugins.go) downloads nothing. Only a provider that is
    used is loaded (loadProvider in pkg/resource/deploy/providers/registry.go). So exactly these
    two are installed, and the cloud plugins are never downloaded.
    """
    versions: list[str] = []
    for package in packages:
        found = list(
            project_dir.glob(f"venv/lib/python3*/site-packages/{package}/pulumi-plugin.json")
        )
        if len(found) != 1:
            return None
        versions.append(json.loads(found[0].read_text(encoding="utf-8"))["version"])
    return versions
