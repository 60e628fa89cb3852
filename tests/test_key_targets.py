"""Which targets each project key has an effect on (registries.settings.KEY_TARGETS), and the
warning for a key set where it does nothing.

The table is checked against the program itself: on a target the table leaves out, setting the
key changes nothing the program registers or exports; on a target it names, it changes something.
"""

from __future__ import annotations

import json

import pulumi
import pytest
import yaml

from conftest import ROOT, TARGET_CONFIG, Harness, program_run, run_target
from registries.settings import CLOUDS, KEY_TARGETS, PROJECT_KEYS, load_settings, parse_settings

# A valid value other than the default for every key but `cloud`. A new key needs one here.
CHANGED: dict[str, str] = {
    "repositoryName": "other",
    "imageTag": "v2",
    "platform": "linux/arm64",
    "untaggedExpiryDays": "7",
    "keepTaggedImages": "5",
    "immutableTags": "false",
    "forceDelete": "true",
    "pullPrincipals": '["arn:aws:iam::210987654321:root"]',
    "ecrKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "acrSku": "Premium",
    "azureResourceGroup": "shared-rg",
    "gcpLocation": "us",
    "localPort": "5001",
    "localUser": "pusher",
}

NOT_APPLICABLE = [
    (key, cloud) for key, targets in KEY_TARGETS.items() for cloud in CLOUDS if cloud not in targets
]
APPLICABLE = [
    (key, cloud) for key, targets in KEY_TARGETS.items() if key != "cloud" for cloud in targets
]


def expected_warning(key: str, cloud: str) -> str:
    targets = ", ".join(KEY_TARGETS[key])
    return (
        f"{key} has no effect on the {cloud} target (it applies to {targets}); "
        f"`pulumi config rm {key} --stack dev` removes it"
    )


def provider_config(cloud: str) -> dict[str, str]:
    """TARGET_CONFIG[cloud] as parse_settings takes it (`gcp:project`, not `gcp__project`)."""
    return {key.replace("__", ":"): value for key, value in TARGET_CONFIG[cloud].items()}


# --------------------------------------------------------------------------- the table


def test_every_project_key_is_in_the_table() -> None:
    assert list(KEY_TARGETS) == list(PROJECT_KEYS), (
        "registries.settings.KEY_TARGETS must list every key of PROJECT_KEYS, in the same order"
    )
    for key, targets in KEY_TARGETS.items():
        assert targets, f"{key} applies to no target"
        assert targets == tuple(c for c in CLOUDS if c in targets), f"{key}: {targets}"
    assert set(CHANGED) == set(KEY_TARGETS) - {"cloud"}, "give each new key a value in CHANGED"


# --------------------------------------------------------------------------- the warnings


@pytest.mark.parametrize(("key", "cloud"), NOT_APPLICABLE)
def test_a_key_without_effect_is_warned_about(key: str, cloud: str) -> None:
    settings = parse_settings({**provider_config(cloud), key: CHANGED[key]})
    assert settings.warnings == (expected_warning(key, cloud),)


@pytest.mark.parametrize(("key", "cloud"), APPLICABLE)
def test_a_key_with_effect_is_not_warned_about(key: str, cloud: str) -> None:
    assert parse_settings({**provider_config(cloud), key: CHANGED[key]}).warnings == ()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_unset_and_empty_keys_are_not_warned_about(cloud: str) -> None:
    assert parse_settings(provider_config(cloud)).warnings == ()
    empty = {key: "" for key in PROJECT_KEYS if key != "cloud"}
    assert parse_settings({**provider_config(cloud), **empty}).warnings == ()


def pulumi_yaml_defaults() -> dict[str, str]:
    """Pulumi.yaml's defaults as the CLI hands them to the program: it copies each into the
    stack's config, primitives as fmt's %v and the rest as JSON (createConfigValue in
    pkg/workspace/config.go of pulumi/pulumi)."""
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    rendered: dict[str, str] = {}
    for key, spec in document["config"].items():
        default = spec["default"]
        if isinstance(default, bool):
            rendered[key] = "true" if default else "false"
        elif isinstance(default, (list, dict)):
            rendered[key] = json.dumps(default)
        else:
            rendered[key] = str(default)
    return rendered


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_defaults_pulumi_copies_into_every_stack_draw_no_warning(cloud: str) -> None:
    """The mocks pass only what a test sets, but a real `pulumi up` also passes every default of
    Pulumi.yaml: those must not read as settings made for another target."""
    raw = {**pulumi_yaml_defaults(), **provider_config(cloud)}
    assert parse_settings(raw).warnings == ()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({"cloud": "azure", "immutableTags": "True"}, "the default, spelled otherwise"),
        ({"cloud": "aws", "acrSku": "basic"}, "the default, in another case"),
        ({"cloud": "gcp", "localPort": "5000", "localUser": "admin"}, "the defaults"),
        ({"cloud": "local", "pullPrincipals": "[]"}, "an empty list, the default"),
    ],
)
def test_a_default_value_set_by_hand_draws_no_warning(raw: dict[str, str], why: str) -> None:
    raw = {**provider_config(raw["cloud"]), **raw}
    assert parse_settings(raw).warnings == (), why


def test_the_warning_names_the_key_and_the_target() -> None:
    (warning,) = parse_settings({"cloud": "azure", "immutableTags": "false"}, stack="prod").warnings
    assert warning == (
        "immutableTags has no effect on the azure target (it applies to aws, gcp); "
        "`pulumi config rm immutableTags --stack prod` removes it"
    )


def test_warnings_leave_the_settings_themselves_alone() -> None:
    assert parse_settings({"localPort": "5000", "acrSku": "Basic"}) == parse_settings({})


def test_load_settings_logs_each_warning(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    harness.configure(cloud="local", acrSku="Premium", untaggedExpiryDays="3", localPort="5001")
    load_settings()
    assert logged == [
        expected_warning("untaggedExpiryDays", "local"),
        expected_warning("acrSku", "local"),
    ]


def test_the_program_warns_on_pulumi_up(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    run_target(harness, monkeypatch, "gcp", localUser="pusher")
    assert logged == [expected_warning("localUser", "gcp")]


# --------------------------------------------------------------------------- the table is true


def snapshot(cloud: str, key: str | None = None) -> str:
    """Everything the program registers and exports for `cloud` with its defaults, or with `key`
    set to CHANGED[key], as one comparable string (the runs are conftest's shared ones)."""
    run = program_run(cloud, **({key: CHANGED[key]} if key else {}))
    registered = [
        {
            "type": r.typ,
            "name": r.name,
            "parent": r.parent,
            "inputs": r.inputs,
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "dependencies": sorted(r.dependencies),
        }
        # Registrations arrive in whatever order their inputs resolve.
        for r in sorted(run.resources, key=lambda r: (r.typ, r.name))
    ]
    return json.dumps(
        {"outputs": run.outputs, "registered": registered}, sort_keys=True, default=str
    )


@pytest.mark.parametrize(("key", "cloud"), NOT_APPLICABLE)
def test_a_key_the_table_leaves_out_changes_nothing(key: str, cloud: str) -> None:
    assert snapshot(cloud, key) == snapshot(cloud), (
        f"{key}={CHANGED[key]!r} changes the {cloud} stack: add {cloud!r} to KEY_TARGETS[{key!r}]"
    )


@pytest.mark.parametrize(("key", "cloud"), APPLICABLE)
def test_a_key_the_table_names_changes_something(key: str, cloud: str) -> None:
    assert snapshot(cloud, key) != snapshot(cloud), (
        f"{key}={CHANGED[key]!r} changes nothing on {cloud}: drop {cloud!r} from "
        f"KEY_TARGETS[{key!r}]"
    )
