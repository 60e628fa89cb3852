"""What ./up.sh reads of the project and the stack program: its files (PyYAML), and the names,
ports and defaults the program itself uses, taken from the package rather than copied."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from container_registry.cli.local import Layout
from registries.local import engine_name
from registries.settings import PROVIDER_KEYS, SECRET_KEYS, SettingsError, parse_settings

__all__ = ["SECRET_KEYS", "declared_cloud", "local_layout", "project_name"]

DEFAULT_PROJECT = "container-registry"


def _load(path: Path) -> dict:
    if not path.is_file():
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def project_name(project_dir: Path) -> str:
    """The project's name, as Pulumi.yaml says: the prefix of its config keys."""
    return str(_load(project_dir / "Pulumi.yaml").get("name") or DEFAULT_PROJECT)


def declared_cloud(project_dir: Path, project: str, stack: str) -> str:
    """The target Pulumi.<stack>.yaml names (`local` when none), read before anything is
    created: enough to refuse an unattended cloud update up front."""
    config = _load(project_dir / f"Pulumi.{stack}.yaml").get("config") or {}
    value = config.get(f"{project}:cloud") if isinstance(config, dict) else None
    if isinstance(value, dict):  # the long form, `{value: aws}`
        value = value.get("value")
    return str(value) if value else "local"


def local_layout(config: Mapping[str, str | None], project: str, stack: str) -> Layout | None:
    """The ports and container names of a local stack, as the program derives them from the
    stack's config (`config`: full keys), or None when the config is not valid: the program
    then stops naming the key, and ./up.sh prints the command that fixes it."""
    prefix = f"{project}:"
    raw = {key.removeprefix(prefix): value for key, value in config.items()}
    try:
        settings = parse_settings(raw, project=project, stack=stack)
    except SettingsError:
        return None
    ports = [("localPort", settings.local.port)]
    names = [engine_name(settings, "registry")]
    if settings.mirror.enabled:
        ports.append(("localMirrorPort", settings.mirror.local_port))
        names.append(engine_name(settings, "registry-mirror"))
    return Layout(tuple(ports), tuple(names))


def try_port_avoid(config: Mapping[str, str | None], project: str, stack: str) -> tuple[int, ...]:
    """The registry's ports, which the app tried out locally must stay away from."""
    layout = local_layout(config, project, stack)
    return tuple(port for _, port in layout.ports) if layout else ()


def config_keys(project_dir: Path) -> frozenset[str]:
    """Every key the stack program reads: its own (declared in Pulumi.yaml) and the providers'."""
    declared = _load(project_dir / "Pulumi.yaml").get("config") or {}
    return frozenset(declared) | frozenset(PROVIDER_KEYS)
