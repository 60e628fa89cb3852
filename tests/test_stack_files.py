"""The checked-in stack files: one stack per target, each with its provider settings as the only
lines to fill in.

The lines to fill in are YAML comments, so an untouched file sets nothing but `cloud`: the
provider settings stay unset (their environment variables still apply) and the program stops
with its SettingsError naming the key. An empty value would instead be a setting of "" handed to
the provider as is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import PROJECT, ROOT, Harness, options_of
from container_registry import AcrOptions, ArtifactOptions
from stack.config.errors import SettingsError
from stack.config.keys import PROVIDER_KEYS
from stack.config.parse import parse_settings

# The stack of each target, and the provider lines its file shows for filling in.
CLOUD_OF = {"dev": "local", "aws": "aws", "azure": "azure", "gcp": "gcp"}
FILL_IN: dict[str, tuple[str, ...]] = {
    "dev": (),
    "aws": ("aws:region",),
    "azure": ("azure-native:location",),
    "gcp": ("gcp:project", "gcp:region"),
}
# `  # key: value` under `config:`.
_COMMENTED_SETTING = re.compile(r"^  # ([a-z-]+:[A-Za-z]+): (\S+)$", re.MULTILINE)


def stack_file(stack: str) -> Path:
    return ROOT / f"Pulumi.{stack}.yaml"


def filled_in(stack: str) -> dict[str, str]:
    """The file's config with its commented lines filled in, as a user would."""
    text = stack_file(stack).read_text(encoding="utf-8")
    config: dict[str, Any] = yaml.safe_load(_COMMENTED_SETTING.sub(r"  \1: \2", text))["config"]
    return {key.removeprefix(f"{PROJECT}:"): str(value) for key, value in config.items()}


def test_every_target_has_its_own_checked_in_stack() -> None:
    found = {p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml")}
    assert set(CLOUD_OF) <= found, "a checked-in Pulumi.<stack>.yaml per target"


@pytest.mark.parametrize("stack", sorted(CLOUD_OF))
def test_a_stack_file_sets_its_cloud_and_shows_its_provider_lines(stack: str) -> None:
    """Checked in, the file sets `cloud` only; a user's copy may hold more (values filled in,
    the `encryptionsalt` of the first run), so those are allowed here."""
    text = stack_file(stack).read_text(encoding="utf-8")
    config: dict[str, Any] = yaml.safe_load(text)["config"]
    assert config[f"{PROJECT}:cloud"] == CLOUD_OF[stack], f"Pulumi.{stack}.yaml: cloud"
    commented = [key for key, _ in _COMMENTED_SETTING.findall(text)]
    for key in commented:
        assert key in PROVIDER_KEYS or key == "aws:region", f"{key} is not a provider setting"
    for key in FILL_IN[stack]:
        assert key in commented or key in config, f"Pulumi.{stack}.yaml does not show {key}"
        assert f"pulumi config set {key} " in text and f" --stack {stack}\n" in text, (
            f"Pulumi.{stack}.yaml shows no `pulumi config set {key} ... --stack {stack}` line"
        )
    if stack != "dev":
        assert f"./up.sh --stack {stack}" in text


@pytest.mark.parametrize("stack", ["aws", "azure", "gcp"])
def test_a_filled_in_stack_file_is_valid_settings(stack: str) -> None:
    config = filled_in(stack)
    settings = parse_settings(config, stack=stack)
    assert settings.cloud == stack
    if stack == "gcp":
        gcp = options_of(settings, ArtifactOptions)
        assert (gcp.project, gcp.location) == (
            config["gcp:project"],
            config["gcp:region"],
        )
    if stack == "azure":
        assert options_of(settings, AcrOptions).location == config["azure-native:location"]


def untouched(stack: str) -> dict[str, str]:
    """The file's config as checked in: without the lines to fill in (a user's copy may have them
    filled) and without the passphrase's `encryptionsalt`."""
    config: dict[str, Any] = yaml.safe_load(stack_file(stack).read_text(encoding="utf-8"))["config"]
    return {
        key.removeprefix(f"{PROJECT}:"): str(value)
        for key, value in config.items()
        if key not in FILL_IN[stack]
    }


def test_an_untouched_gcp_stack_stops_naming_gcp_project() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(untouched("gcp"), stack="gcp")
    assert caught.value.key == "gcp:project"


def test_an_untouched_azure_stack_stops_naming_its_location_and_creates_nothing(
    harness: Harness,
) -> None:
    # Read and refused with the other settings, before any resource (or provider) exists.
    with pytest.raises(SettingsError) as caught:
        parse_settings(untouched("azure"), stack="azure")
    assert caught.value.key == "azure-native:location"
    assert harness.resources == []
