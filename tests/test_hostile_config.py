"""Hostile config: every key the program reads, fed what a user (or a script) could type.

Every case must end in a valid program or in stack.config.errors.SettingsError whose message
starts with the key at fault, never in another exception, and never after a resource has been
registered. parse_settings takes the bulk (it is pure and fast); the whole program, under fresh
mocks per example, takes a smaller sample of the same inputs.
"""

from __future__ import annotations

from collections.abc import Mapping

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, event, example, given, settings

from conftest import (
    PROJECT,
    STACK,
    fresh_stack,
    resolve,
    stub_engine,
)
from container_registry import AcrOptions, LocalOptions
from container_registry.azure.options import SKUS as ACR_SKUS
from stack.config.errors import SettingsError
from stack.config.keys import CLOUDS, PROJECT_KEYS, PROVIDER_KEYS
from stack.config.parse import Settings, parse_settings

ALL_KEYS: tuple[str, ...] = (*PROJECT_KEYS, *PROVIDER_KEYS)

WRONG_TYPES = (
    "abc",
    "1.5",
    "-1",
    "0",
    "1e3",
    "0x10",
    "[1]",
    "[]",
    "{}",
    "null",
    "true",
    "True",
    "yes",
    '"*"',
    '["*"]',
    "[null]",
    '["arn:aws:iam::123456789012:root", 1]',
    "latest",
    "app:latest",
    "../../etc/passwd",
    "app; rm -rf /",
    "$(id)",
    "' OR 1=1 --",
)
WHITESPACE = (" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", " app", "app ", "app\n")
CONTROL = ("\x00", "app\x00", "\x1b[31mred", "\x7f", "a\x08b", "\u202eevil")
UNICODE = ("äpp", "ａｐｐ", "１４", "٣", "日本", "🐳", "ǅ", "İ", "\ud800", "app\u200b")
NUMBERS = (
    "99999999999999999999999",
    "-99999999999999999999999",
    "4294967296",
    "2147483648",
    "65536",
    "3651",
    "10001",
    "00000",
    "-0",
    "+5",
    "5.0",
    "NaN",
    "inf",
    "1_000",
)
UNKNOWN_CLOUDS = ("AWS", "Azure", "gcp ", "google", "k8s", "docker", "local\x00", "*")

hostile_values = st.one_of(
    st.sampled_from(WRONG_TYPES + WHITESPACE + CONTROL + UNICODE + NUMBERS),
    st.just(""),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="ascii"), max_size=300),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.lists(st.text(max_size=10), max_size=4).map(lambda items: str(items)),
)
# A valid value per key, so hostile ones are also tried next to a config that is otherwise fine.
VALID: dict[str, str] = {
    "repositoryName": "app",
    "imageTag": "v1.2.3",
    "platform": "linux/arm64",
    "untaggedExpiryDays": "7",
    "keepTaggedImages": "10",
    "immutableTags": "true",
    "forceDelete": "false",
    "pullPrincipals": '["arn:aws:iam::210987654321:root"]',
    "ecrKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "acrSku": "Standard",
    "azureResourceGroup": "shared-rg",
    "gcpLocation": "europe-west4",
    "localPort": "5001",
    "localUser": "pusher",
    "mirror": "true",
    "mirrorRepositories": '["nginx", "python"]',
    "dockerHubCredentialsSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
    "ecr-pullthroughcache/docker-hub-AbCdEf",
    "acrDockerHubUsernameSecretUri": "https://my-vault.vault.azure.net/secrets/dockerhub-user",
    "acrDockerHubPasswordSecretUri": "https://my-vault.vault.azure.net/secrets/dockerhub-token",
    "acrDockerHubKeyVaultId": "/subscriptions/7d1e2c3b-4a5f-4e6d-9c8b-1a2b3c4d5e6f/resourceGroups/"
    "secrets-rg/providers/Microsoft.KeyVault/vaults/my-vault",
    "localMirrorPort": "5003",
    "gcp:project": "my-project-123",
    "gcp:region": "europe-west4",
    "azure-native:location": "westeurope",
    # Valid on every cloud: without ciRepository they are checked but create nothing.
    "ciRef": "refs/heads/release",
    "awsOidcProviderArn": (
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    ),
}
# pullPrincipals take each cloud's own form (and any on local, where they draw a warning);
# VALID holds the aws one.
VALID_PULL_PRINCIPALS: dict[str, str] = {
    "aws": VALID["pullPrincipals"],
    "azure": '["0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"]',
    "gcp": '["serviceAccount:puller@my-project-123.iam.gserviceaccount.com"]',
    "local": '["group:pullers@example.com"]',
}


@st.composite
def hostile_configs(draw: st.DrawFn) -> dict[str, str]:
    """A cloud (mostly a real one, so the other keys get read), some valid keys, and one to three
    keys set to something hostile (or, now and then, to nothing or a valid value)."""
    cloud = draw(
        st.sampled_from(CLOUDS)
        if draw(st.integers(0, 3))
        else st.one_of(st.sampled_from(UNKNOWN_CLOUDS), hostile_values)
    )
    config: dict[str, str] = {"cloud": cloud}
    for key in draw(st.lists(st.sampled_from(list(VALID)), unique=True)):
        config[key] = VALID[key]
    hostile_keys = draw(st.lists(st.sampled_from(ALL_KEYS), min_size=1, max_size=3, unique=True))
    for key in hostile_keys:
        fallback = st.sampled_from(["", VALID.get(key, "")])
        config[key] = draw(hostile_values if draw(st.integers(0, 3)) else fallback)
    return config


def check_settings_error(error: SettingsError, config: Mapping[str, str]) -> None:
    """The error names a key the program reads, first in its message; a key the user did not
    set is named only as missing, and no Python None stands in for a value."""
    assert error.key in ALL_KEYS, error.key
    assert str(error).startswith((f"{error.key}: ", f"{error.key} ")), str(error)
    assert error.key in config or error.value is None, (error.key, error.value)
    if not any("None" in value for value in config.values()):
        assert "None" not in str(error), str(error)


def check_accepted(result: Settings) -> None:
    """What accepted settings must always satisfy, whatever went in."""
    assert result.cloud in CLOUDS
    options = result.options
    assert not isinstance(options, AcrOptions) or options.sku in ACR_SKUS
    assert result.image_tag is None or result.image_tag.lower() != "latest"
    assert result.platform is None or result.platform == result.platform.lower()
    assert 1 <= result.untagged_expiry_days <= 3650
    assert 1 <= result.keep_tagged_images <= 10000
    assert not isinstance(options, LocalOptions) or 1 <= options.port <= 65535
    assert "*" not in "".join(getattr(options, "pull_principals", ()))
    assert result.ci is None or result.cloud != "local"


def parse(config: Mapping[str, str]) -> Settings | SettingsError:
    """The settings (checked against the invariants) or the SettingsError (checked to name the
    key); any other exception fails the test."""
    try:
        result = parse_settings(config, project=PROJECT, stack=STACK)
    except SettingsError as error:
        check_settings_error(error, config)
        return error
    check_accepted(result)
    return result


@settings(max_examples=300, deadline=None)
@given(config=hostile_configs())
@example(config={"cloud": "aws", "untaggedExpiryDays": "-1"})
@example(config={"cloud": "aws", "keepTaggedImages": "99999999999999999999999"})
@example(config={"cloud": "local", "localPort": "65536"})
@example(config={"cloud": "gcp", "gcp:project": "my-project-123", "gcp:region": "\x00"})
@example(config={"cloud": "azure", "acrSku": "basic"})
@example(config={"cloud": "aws", "pullPrincipals": '"*"'})
@example(config={"cloud": "aws", "pullPrincipals": '["*"]'})
@example(config={"cloud": "aws", "pullPrincipals": '["arn:aws:iam::210987654321:role/*"]'})
@example(config={"cloud": "aws", "imageTag": "latest"})
@example(config={"cloud": "aws", "imageTag": "LATEST"})
@example(config={"cloud": "AWS"})
@example(config={"cloud": "aw\u017f"})
@example(config={"cloud": "local", "localPort": "65535", "localMirrorPort": "65535"})
@example(config={"cloud": "local", "immutableTags": "yes"})
def test_parse_settings_accepts_or_names_the_key(config: dict[str, str]) -> None:
    result = parse(config)
    event("accepted" if isinstance(result, Settings) else f"refused {result.key}")


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(
        st.one_of(st.text(max_size=40), st.sampled_from(PROJECT_KEYS), st.just("")), max_size=5
    )
)
@example(names=["cloudd", "Cloud", "cloud"])
@example(names=["docker:host", "aws:region", "\x1b[31m"])
def test_any_key_name_is_warned_about_by_name_and_never_refused(names: list[str]) -> None:
    """The names of the project's own keys the stack sets: each unknown one draws one warning
    that starts with it, whatever it is; a known one draws none."""
    warnings = parse_settings({}, set_keys=names).warnings
    unknown = sorted(set(names) - set(PROJECT_KEYS))
    assert len(warnings) == len(unknown), warnings
    for name, warning in zip(unknown, warnings, strict=True):
        assert warning.startswith(f"{name} is not a setting of this program: "), warning


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_key_takes_every_listed_value(key: str) -> None:
    """The fixed lists, on every key and every cloud: no case is left to chance."""
    for value in (*WRONG_TYPES, *WHITESPACE, *CONTROL, *UNICODE, *NUMBERS, *UNKNOWN_CLOUDS, ""):
        for cloud in CLOUDS:
            parse({**VALID, "cloud": cloud, key: value})


def test_deeply_nested_pull_principals_is_a_settings_error() -> None:
    """json.loads raises RecursionError (not ValueError) on deeply nested input."""
    config = {"cloud": "aws", "pullPrincipals": "[" * 100_000}
    with pytest.raises(SettingsError) as raised:
        parse_settings(config)
    check_settings_error(raised.value, config)


# --------------------------------------------------------------------------- whole program


def run_whole_program(config: Mapping[str, str]) -> bool:
    """True if the program ran, False if it stopped with a SettingsError before any resource."""
    with fresh_stack(config) as stack:
        try:
            outputs = stack.run_program()
        except SettingsError as error:
            check_settings_error(error, config)
            assert stack.resources == [], (
                f"{error.key} was refused after {[r.name for r in stack.resources]} registered"
            )
            return False
        for output in outputs.values():
            resolve(output)
        assert stack.resources, "the program ran but registered nothing"
        return True


# 40 random examples (it was 100; each is a whole program run): the edges are pinned by the
# examples below, by the 300 examples of the parse_settings test above and by the fixed lists
# tried on every key and cloud; what this test adds is that the program itself stops before any
# resource, which the component-level checks (location, project, group) below exercise.
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(config=hostile_configs())
@example(config={"cloud": "azure"})
@example(config={"cloud": "gcp"})
@example(config={"cloud": "gcp", "gcp:project": "my-project-123"})
@example(config={"cloud": "gcp", "gcp:project": "my-project-123", "gcpLocation": "us"})
@example(config={"cloud": "azure", "azure-native:location": "westeurope", "acrSku": "Premium"})
@example(config={"cloud": "azure", "azureResourceGroup": "shared-rg"})
@example(config={"cloud": "aws", "repositoryName": "App", "pullPrincipals": "[null]"})
@example(config={"cloud": "local", "localPort": "1", "localUser": "a"})
def test_program_runs_or_stops_before_any_resource(
    monkeypatch: pytest.MonkeyPatch, config: dict[str, str]
) -> None:
    stub_engine(monkeypatch)
    event("ran" if run_whole_program(config) else "refused")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_program_runs_with_every_valid_key_set(monkeypatch: pytest.MonkeyPatch, cloud: str) -> None:
    """The control case: the valid values above are valid for every target."""
    stub_engine(monkeypatch)
    assert run_whole_program(
        {**VALID, "cloud": cloud, "pullPrincipals": VALID_PULL_PRINCIPALS[cloud]}
    )
