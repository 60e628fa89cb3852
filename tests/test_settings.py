"""Settings: every key read once, converted, validated, and refused with the key named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, Harness, on_its_cloud, options_of, resolve
from container_registry import AcrOptions, ArtifactOptions, EcrOptions, LocalOptions
from container_registry.local.options import LocalMirrorOptions
from stack.config import load_settings
from stack.config.errors import SettingsError
from stack.config.keys import PROJECT_KEYS
from stack.config.parse import EngineSettings, Settings, parse_settings

GCP = {"gcp:project": "my-project-123", "gcp:region": "europe-west4"}


def names_the_key_first(error: SettingsError) -> bool:
    """`<key>: <value> <what is allowed>`, or `<key> is not set...` for a missing key; never a
    Python None where a value would be."""
    message = str(error)
    return message.startswith((f"{error.key}: ", f"{error.key} ")) and "None" not in message


def test_defaults_are_the_secure_choice() -> None:
    settings = parse_settings({})
    assert settings == Settings(
        cloud="local",
        options=LocalOptions(
            repository_name="app",
            untagged_expiry_days=14,
            keep_tagged_images=30,
            immutable_tags=True,
            force_delete=False,
            port=5000,
            user="admin",
            # Off. The local mirror caches what is pulled: a list of repositories is ACR's alone
            # (tests/test_mirror.py, test_mirror_defaults).
            mirror=LocalMirrorOptions(enabled=False, port=5001),
            ci=None,
        ),
        image_tag=None,
        platform=None,  # linux/amd64 on the clouds, the engine's own on local (engine.py)
        engine=EngineSettings(host=None, context=None, cert_path=None, check=True),
    )


def test_every_value_converted() -> None:
    settings = parse_settings(
        {
            "cloud": "aws",
            "repositoryName": "team/web-app",
            "imageTag": "v1.2.3",
            "platform": "linux/arm64",
            "untaggedExpiryDays": "7",
            "keepTaggedImages": "100",
            "immutableTags": "false",
            "forceDelete": "True",
            "pullPrincipals": '["arn:aws:iam::210987654321:root", '
            '"arn:aws:iam::210987654321:role/deployer"]',
            "ecrKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef",
        },
        project="p",
        stack="prod",
    )
    assert settings.cloud == "aws"
    assert settings.repository_name == "team/web-app"
    assert settings.image_tag == "v1.2.3"
    assert settings.platform == "linux/arm64"
    assert (settings.untagged_expiry_days, settings.keep_tagged_images) == (7, 100)
    assert (settings.immutable_tags, settings.force_delete) == (False, True)
    ecr = options_of(settings, EcrOptions)
    assert ecr.pull_principals == (
        "arn:aws:iam::210987654321:root",
        "arn:aws:iam::210987654321:role/deployer",
    )
    assert ecr.kms_key_arn is not None and ecr.kms_key_arn.endswith("56ef")
    assert (settings.project, settings.stack) == ("p", "prod")
    # Each target's own keys, on that target (a Registry ignores another target's options).
    azure = parse_settings(
        {"cloud": "azure", "acrSku": "Premium", "azureResourceGroup": "rg-shared_1"}
    )
    acr = options_of(azure, AcrOptions)
    assert (acr.sku, acr.resource_group) == ("Premium", "rg-shared_1")
    local = options_of(parse_settings({"localPort": "5050", "localUser": "ci-bot"}), LocalOptions)
    assert (local.port, local.user) == (5050, "ci-bot")


def test_gcp_location_prefers_gcp_location_over_region() -> None:
    gcp = options_of(parse_settings({"cloud": "gcp", **GCP}), ArtifactOptions)
    assert (gcp.project, gcp.location) == ("my-project-123", "europe-west4")
    gcp = options_of(parse_settings({"cloud": "gcp", "gcpLocation": "us", **GCP}), ArtifactOptions)
    assert (gcp.project, gcp.location) == ("my-project-123", "us")


def test_the_documented_example_message() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "aws2"})
    assert str(caught.value) == "cloud: 'aws2' is not one of local, aws, azure, gcp"
    assert caught.value.key == "cloud"


BAD_VALUES: list[tuple[dict[str, str], str]] = [
    # Case folds in ASCII only: a long s (U+017F) or a Kelvin sign (U+212A) is no s or k.
    ({"cloud": "aw\u017f"}, "cloud"),
    ({"cloud": " aws"}, "cloud"),
    ({"acrSku": "Ba\u017fic"}, "acrSku"),
    ({"immutableTags": "\u212a"}, "immutableTags"),
    ({"platform": "linux/\u017f390x"}, "platform"),
    ({"imageTag": "latest"}, "imageTag"),
    ({"imageTag": "LATEST"}, "imageTag"),
    ({"imageTag": "Latest"}, "imageTag"),
    ({"imageTag": "-dash-first"}, "imageTag"),
    ({"imageTag": "x" * 129}, "imageTag"),
    ({"imageTag": "has space"}, "imageTag"),
    ({"platform": "linux/amd65"}, "platform"),
    ({"platform": "windows/amd64"}, "platform"),
    ({"platform": "linux/arm64/v7"}, "platform"),
    ({"platform": "linux/arm/v9"}, "platform"),
    ({"platform": "linux/amd64/"}, "platform"),
    ({"platform": "linux//amd64"}, "platform"),
    ({"platform": "linux/386/v1"}, "platform"),
    ({"platform": "amd64"}, "platform"),
    ({"platform": "linux/amd64,linux/arm64"}, "platform"),
    ({"docker:host": "/var/run/docker.sock"}, "docker:host"),
    ({"docker:host": "tcp://host name:2375"}, "docker:host"),
    ({"docker:context": "-dash"}, "docker:context"),
    ({"docker:context": "has space"}, "docker:context"),
    ({"cloud": "azure"}, "azure-native:location"),
    ({"untaggedExpiryDays": "0"}, "untaggedExpiryDays"),
    ({"untaggedExpiryDays": "-1"}, "untaggedExpiryDays"),
    ({"untaggedExpiryDays": "1.5"}, "untaggedExpiryDays"),
    ({"untaggedExpiryDays": "ten"}, "untaggedExpiryDays"),
    ({"untaggedExpiryDays": "3651"}, "untaggedExpiryDays"),
    ({"keepTaggedImages": "0"}, "keepTaggedImages"),
    ({"keepTaggedImages": "99999999999999999999"}, "keepTaggedImages"),
    ({"keepTaggedImages": " 5"}, "keepTaggedImages"),
    ({"immutableTags": "yes"}, "immutableTags"),
    ({"forceDelete": "1"}, "forceDelete"),
    ({"pullPrincipals": "*"}, "pullPrincipals"),
    ({"pullPrincipals": '["*"]'}, "pullPrincipals"),
    ({"pullPrincipals": '"arn:aws:iam::210987654321:root"'}, "pullPrincipals"),
    ({"pullPrincipals": '["arn:aws:iam::*:root"]'}, "pullPrincipals"),
    ({"pullPrincipals": "[1]"}, "pullPrincipals"),
    ({"pullPrincipals": '["arn:aws:iam::210987654321:role/*"]'}, "pullPrincipals"),
    (
        {"pullPrincipals": json.dumps([f"arn:aws:iam::{i:012d}:root" for i in range(51)])},
        "pullPrincipals",
    ),
    ({"untaggedExpiryDays": "1" * 5000}, "untaggedExpiryDays"),
    ({"ecrKmsKeyArn": "alias/aws/ecr"}, "ecrKmsKeyArn"),
    ({"ecrKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:alias/ecr"}, "ecrKmsKeyArn"),
    ({"acrSku": "Basics"}, "acrSku"),
    ({"acrSku": "Free"}, "acrSku"),
    ({"azureResourceGroup": "ends.with.dot."}, "azureResourceGroup"),
    ({"azureResourceGroup": "x" * 91}, "azureResourceGroup"),
    ({"gcpLocation": "US-Central1"}, "gcpLocation"),
    ({"cloud": "azure", "azure-native:location": "   "}, "azure-native:location"),
    ({"localPort": "0"}, "localPort"),
    ({"localPort": "65536"}, "localPort"),
    ({"localPort": "http"}, "localPort"),
    ({"localUser": "user:name"}, "localUser"),
    ({"localUser": "-admin"}, "localUser"),
    ({"localUser": "a" * 65}, "localUser"),
    ({"repositoryName": "App"}, "repositoryName"),
    ({"repositoryName": "app/"}, "repositoryName"),
    ({"repositoryName": "a" * 256}, "repositoryName"),
    ({"cloud": "aws", "repositoryName": "a"}, "repositoryName"),
    ({"cloud": "aws", "repositoryName": "a--b"}, "repositoryName"),
    ({"cloud": "aws", "repositoryName": "x" * 257}, "repositoryName"),
    ({"cloud": "gcp", **GCP, "repositoryName": "team/app"}, "repositoryName"),
    ({"cloud": "gcp", **GCP, "repositoryName": "1app"}, "repositoryName"),
    ({"cloud": "gcp", **GCP, "repositoryName": "app-"}, "repositoryName"),
    ({"cloud": "gcp", **GCP, "repositoryName": "a" * 64}, "repositoryName"),
    ({"cloud": "azure", "repositoryName": "my_app__"}, "repositoryName"),
    ({"cloud": "gcp", "gcp:region": "europe-west4"}, "gcp:project"),
    ({"cloud": "gcp", "gcp:project": "My_Project", "gcp:region": "x"}, "gcp:project"),
    ({"cloud": "gcp", **GCP, "gcp:project": "abc"}, "gcp:project"),
    ({"cloud": "gcp", "gcp:project": "my-project-123"}, "gcpLocation"),
    ({"cloud": "gcp", "gcp:project": "my-project-123", "gcp:region": "Europe"}, "gcp:region"),
]


@pytest.mark.parametrize(("raw", "key"), BAD_VALUES, ids=[f"{k}:{r}" for r, k in BAD_VALUES])
def test_bad_value_refused_naming_the_key(raw: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(on_its_cloud(raw))
    assert caught.value.key == key
    assert names_the_key_first(caught.value), str(caught.value)


def test_pull_principals_are_deduplicated_in_order() -> None:
    first, second = "arn:aws:iam::210987654321:root", "arn:aws:iam::210987654321:role/ci"
    raw = {"cloud": "aws", "pullPrincipals": json.dumps([first, second, first])}
    assert options_of(parse_settings(raw), EcrOptions).pull_principals == (first, second)


def test_provider_env_vars_are_read_in_the_providers_order(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.configure(cloud="gcp", gcp__region="europe-west4")
    monkeypatch.setenv("CLOUDSDK_CORE_PROJECT", "last-project-4")
    monkeypatch.setenv("GOOGLE_PROJECT", "first-project-1")
    settings = load_settings()
    assert options_of(settings, ArtifactOptions).project == "first-project-1"


def test_missing_gcp_location_names_both_keys() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "gcp", "gcp:project": "my-project-123"})
    assert "gcpLocation" in str(caught.value) and "gcp:region" in str(caught.value)


@pytest.mark.parametrize(
    ("cloud", "name"),
    [
        ("aws", "ab"),
        ("aws", "team/app.v2_x-y"),
        ("azure", "team/my__app"),
        ("gcp", "a"),
        ("gcp", "web-app-2"),
        ("local", "a/b/c"),
        ("local", "a---b"),
    ],
)
def test_valid_repository_names_accepted(cloud: str, name: str) -> None:
    provider = {"gcp": GCP, "azure": {"azure-native:location": "westeurope"}}.get(cloud, {})
    raw = {"cloud": cloud, "repositoryName": name, **provider}
    assert parse_settings(raw).repository_name == name


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/arm64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64/v8"),
        ("linux/arm/v7", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/riscv64", "linux/riscv64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/aarch64", "linux/arm64"),
    ],
)
def test_every_docker_platform_with_its_variant_is_accepted(given: str, normalised: str) -> None:
    assert parse_settings({"platform": given}).platform == normalised


def test_empty_string_means_the_default() -> None:
    settings = parse_settings({key: "" for key in PROJECT_KEYS})
    assert settings == parse_settings({})


def test_long_values_are_shortened_in_the_message() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"imageTag": "!" * 5000})
    assert len(str(caught.value)) < 300


def test_load_settings_reads_pulumi_config_and_provider_env(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.configure(cloud="gcp", repositoryName="web", gcpLocation="europe")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project-42")
    settings = load_settings()
    gcp = options_of(settings, ArtifactOptions)
    assert (gcp.project, gcp.location) == ("env-project-42", "europe")
    assert (settings.project, settings.stack) == ("container-registry", "dev")
    harness.configure(gcp__project="config-project-1")
    gcp = options_of(load_settings(), ArtifactOptions)
    assert (gcp.project, gcp.location) == ("config-project-1", "europe")


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"cloud": "aws2"}, "cloud"),
        ({"cloud": "aws", "repositoryName": "Bad Name"}, "repositoryName"),
        ({"cloud": "aws", "untaggedExpiryDays": "0"}, "untaggedExpiryDays"),
        ({"cloud": "aws", "pullPrincipals": '["*"]'}, "pullPrincipals"),
        ({"cloud": "aws", "immutableTags": "maybe"}, "immutableTags"),
        ({"cloud": "gcp"}, "gcp:project"),
        ({"cloud": "AWS", "imageTag": "Latest"}, "imageTag"),
        ({"cloud": "local", "imageTag": "LATEST"}, "imageTag"),
    ],
)
def test_program_refuses_bad_config_before_creating_anything(
    harness: Harness, config: dict[str, str], key: str
) -> None:
    harness.configure(**config)
    with pytest.raises(SettingsError) as caught:
        harness.run_program()
    assert names_the_key_first(caught.value), str(caught.value)
    assert caught.value.key == key
    assert harness.resources == [], "a resource was registered before the settings error"


def _project_config() -> dict[str, dict[str, object]]:
    document = yaml.safe_load(Path(ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    return document["config"]


def test_pulumi_yaml_documents_every_key_with_the_same_default() -> None:
    documented = _project_config()
    assert sorted(documented) == sorted(PROJECT_KEYS)
    raw: dict[str, str | None] = {}
    for key, spec in documented.items():
        assert {"type", "default", "description"} <= set(spec), f"{key} lacks type/default/desc"
        assert spec["type"] in ("string", "integer", "boolean", "array"), key
        default = spec["default"]
        if isinstance(default, bool):
            raw[key] = "true" if default else "false"
        elif isinstance(default, list):
            raw[key] = "[]"
        else:
            raw[key] = str(default)
    assert parse_settings(raw) == parse_settings({}), "Pulumi.yaml defaults differ from the code"


def test_pulumi_yaml_runtime_installs_requirements_itself() -> None:
    document = yaml.safe_load(Path(ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert document["name"] == "container-registry"
    assert document["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "venv"},
    }


@pytest.mark.parametrize("typed", ["basic", "BASIC", "Basic", "premium", "sTaNdArD"])
def test_acr_sku_takes_any_case(typed: str) -> None:
    raw = {"cloud": "azure", "azure-native:location": "westeurope", "acrSku": typed}
    sku = options_of(parse_settings(raw), AcrOptions).sku
    assert sku == typed.capitalize(), f"acrSku {typed!r} became {sku!r}"


AZURE = {"azure-native:location": "westeurope"}
# Every enumerated key, typed in another case, and the spelling the program goes on with.
ANY_CASE: list[tuple[dict[str, str], str, object]] = [
    ({"cloud": "AWS"}, "cloud", "aws"),
    ({"cloud": "Azure", **AZURE}, "cloud", "azure"),
    ({"cloud": "GCP", **GCP}, "cloud", "gcp"),
    ({"cloud": "Local"}, "cloud", "local"),
    ({"acrSku": "PREMIUM"}, "options.sku", "Premium"),
    ({"immutableTags": "FALSE"}, "immutable_tags", False),
    ({"forceDelete": "TRUE"}, "force_delete", True),
    ({"mirror": "True"}, "mirror.enabled", True),
    ({"docker:disableDockerDaemonCheck": "TRUE"}, "engine.check", False),
    # containerd's platforms.Parse lowercases the OS, architecture and variant
    # (normalizeOS, normalizeArch in platforms/platforms.go of containerd/containerd).
    ({"platform": "Linux/ARM64/V8"}, "platform", "linux/arm64/v8"),
    ({"platform": "LINUX/X86_64"}, "platform", "linux/amd64"),
    ({"platform": "linux/ARM/v7"}, "platform", "linux/arm/v7"),
]


@pytest.mark.parametrize(
    ("raw", "attribute", "expected"), ANY_CASE, ids=[f"{a}:{r}" for r, a, _ in ANY_CASE]
)
def test_every_enumeration_takes_any_case(
    raw: dict[str, str], attribute: str, expected: object
) -> None:
    """One rule for every enumerated key: any case in, the canonical spelling out."""
    value: object = parse_settings(on_its_cloud(raw))
    for part in attribute.split("."):
        value = getattr(value, part)
    assert value == expected, f"{raw} gave {attribute} = {value!r}"


@pytest.mark.parametrize("typed", ["latest", "LATEST", "Latest", "lAtEsT"])
def test_latest_is_refused_in_any_case(typed: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"imageTag": typed})
    assert str(caught.value) == (
        f"imageTag: {typed!r} is not allowed: latest, in any case, is a moving tag and cannot be "
        "deployed reproducibly"
    )


def test_the_program_goes_on_with_the_normalised_values(harness: Harness) -> None:
    """`cloud: AWS` deploys ECR and exports `aws`; the platform is built as Docker spells it."""
    harness.configure(cloud="AWS", platform="Linux/ARM64")
    outputs = harness.run_program()
    assert resolve(outputs["cloud"]) == "aws"
    assert harness.of_type("aws:ecr/repository:Repository"), "cloud: AWS did not deploy ECR"
    image = harness.one("docker:index/image:Image")
    assert image.inputs["build"]["platform"] == "linux/arm64", image.inputs["build"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"cloud": "gcp", "gcp:region": "europe-west4"},
            "gcp:project is not set: run `./up.sh --stack dev --config gcp:project <project-id>` "
            "(or set GOOGLE_PROJECT)",
        ),
        (
            {"cloud": "gcp", "gcp:project": "my-project-123"},
            "gcpLocation is not set and neither is gcp:region: run `./up.sh --stack dev --config "
            "gcp:region <region>` or `./up.sh --stack dev --config gcpLocation <location>`",
        ),
        (
            {"cloud": "aws", "pullPrincipals": "[null]"},
            "pullPrincipals: null is not an IAM principal ARN (arn:aws:iam::<12-digit account>:"
            "root, :role/... or :user/...); '*' and wildcards are never allowed",
        ),
        (
            {"cloud": "aws", "pullPrincipals": '[{"AWS": "*"}]'},
            'pullPrincipals: {"AWS": "*"} is not an IAM principal ARN (arn:aws:iam::<12-digit '
            "account>:root, :role/... or :user/...); '*' and wildcards are never allowed",
        ),
    ],
)
def test_missing_or_null_values_are_worded_without_python_none(
    raw: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw)
    assert str(caught.value) == message
