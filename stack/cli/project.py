"""What ./up.sh reads of the project and the stack program: its files (PyYAML), and the names,
ports and defaults the program itself uses, taken from the package rather than copied."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from container_registry import LocalOptions, local_container_name
from stack.cli.local import Layout
from stack.config import COMPONENT_NAME
from stack.config.errors import SettingsError
from stack.config.keys import PROVIDER_KEYS, SECRET_KEYS
from stack.config.parse import parse_settings
from stack.config.settings import Settings

__all__ = ["SECRET_KEYS", "config_keys", "declared_cloud", "local_layout", "project_name"]

DEFAULT_PROJECT = "container-registry"
# Keys that say nothing about ports or names, and that parse only in pairs with a secret the
# CLI never decrypts (dockerHubUser needs dockerHubToken's value): left out of the layout.
_NOT_FOR_LAYOUT = frozenset({"dockerHubUser", *SECRET_KEYS})


def _load(path: Path) -> dict[str, Any]:
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


def config_keys(project_dir: Path) -> frozenset[str]:
    """Every key the stack program reads: its own (declared in Pulumi.yaml) and the providers'."""
    declared = _load(project_dir / "Pulumi.yaml").get("config") or {}
    return frozenset(declared) | frozenset(PROVIDER_KEYS)


def _settings(config: Mapping[str, str | None], project: str, stack: str) -> Settings | None:
    """The program's own reading of the stack's config (`config`: full keys, as `pulumi config
    --json` gives them), or None when it is not valid: the program then stops naming the key,
    and ./up.sh prints the command that fixes it."""
    prefix = f"{project}:"
    raw = {key.removeprefix(prefix): value for key, value in config.items()}
    raw = {key: value for key, value in raw.items() if key not in _NOT_FOR_LAYOUT}
    try:
        return parse_settings(raw, project=project, stack=stack)
    except SettingsError:
        return None


def local_layout(config: Mapping[str, str | None], project: str, stack: str) -> Layout | None:
    """The ports and container names of a local stack, as the program derives them."""
    settings = _settings(config, project, stack)
    if settings is None:
        return None
    options = settings.options
    if not isinstance(options, LocalOptions):
        return None
    ports = [("localPort", options.port)]
    names = [local_container_name(project, stack, COMPONENT_NAME)]
    if settings.mirror_enabled:
        ports.append(("localMirrorPort", options.mirror.port))
        names.append(local_container_name(project, stack, COMPONENT_NAME, mirror=True))
    return Layout(tuple(ports), tuple(names))


def force_delete(config: Mapping[str, str | None], project: str, stack: str) -> bool:
    """Whether the stack's forceDelete is on, as the program reads it (default off)."""
    settings = _settings(config, project, stack)
    return settings is not None and settings.options.force_delete


def try_port_avoid(config: Mapping[str, str | None], project: str, stack: str) -> tuple[int, ...]:
    """The registry's ports (the mirror's too, on or off), which the app tried out locally must
    stay away from."""
    settings = _settings(config, project, stack)
    if settings is None or not isinstance(settings.options, LocalOptions):
        return ()
    return (settings.options.port, settings.options.mirror.port)
