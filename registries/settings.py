"""Every config key the program reads, converted and validated once, before any resource exists.

`read_config` is the only place that touches `pulumi.Config` or the environment; `parse_settings`
is a pure function over strings, so tests (and hypothesis) can feed it anything a user could type.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, cast

import pulumi

Cloud = Literal["local", "aws", "azure", "gcp"]
CLOUDS: tuple[Cloud, ...] = ("local", "aws", "azure", "gcp")
ACR_SKUS: tuple[str, ...] = ("Basic", "Standard", "Premium")
PLATFORMS: tuple[str, ...] = (
    "linux/amd64",
    "linux/arm64",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
)

# Keys of this project's own namespace (`pulumi config set <key> <value>`).
PROJECT_KEYS: tuple[str, ...] = (
    "cloud",
    "repositoryName",
    "imageTag",
    "platform",
    "untaggedExpiryDays",
    "keepTaggedImages",
    "immutableTags",
    "forceDelete",
    "pullPrincipals",
    "ecrKmsKeyArn",
    "acrSku",
    "azureResourceGroup",
    "gcpLocation",
    "localPort",
    "localUser",
)

# The targets each project key has an effect on: the one place that says so. parse_settings warns
# about a key set explicitly for a target it has no effect on; the README's settings table and the
# tests (tests/test_key_targets.py, tests/test_docs.py) hold both to it. A new key goes here too.
KEY_TARGETS: dict[str, tuple[Cloud, ...]] = {
    "cloud": CLOUDS,
    "repositoryName": CLOUDS,
    "imageTag": CLOUDS,
    "platform": CLOUDS,
    # The local registry has no cleanup; ACR has no registry-wide tag immutability.
    "untaggedExpiryDays": ("aws", "azure", "gcp"),
    "keepTaggedImages": ("aws", "azure", "gcp"),
    "immutableTags": ("aws", "gcp"),
    "forceDelete": CLOUDS,
    "pullPrincipals": ("aws",),
    "ecrKmsKeyArn": ("aws",),
    "acrSku": ("azure",),
    "azureResourceGroup": ("azure",),
    "gcpLocation": ("gcp",),
    "localPort": ("local",),
    "localUser": ("local",),
}

# Provider settings stay in the providers' namespaces; these are the ones we must know up front.
# Each falls back to the environment variables its provider reads, in the provider's order.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "gcp:project": (
        "GOOGLE_PROJECT",
        "GOOGLE_CLOUD_PROJECT",
        "GCLOUD_PROJECT",
        "CLOUDSDK_CORE_PROJECT",
    ),
    "gcp:region": ("GOOGLE_REGION", "GCLOUD_REGION", "CLOUDSDK_COMPUTE_REGION"),
    "azure-native:location": ("ARM_LOCATION",),
    # The local target pings the engine the Docker provider will use; DOCKER_HOST and
    # DOCKER_CONTEXT are read by that ping itself, the way the docker CLI reads them.
    "docker:host": (),
    "docker:context": (),
    "docker:disableDockerDaemonCheck": (),
}

# Docker distribution's repository grammar (path components of lowercase alphanumerics joined by
# '.', '_', '__' or dashes, separated by '/'); the local registry and ACR follow it.
_DISTRIBUTION_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DISTRIBUTION_REPO = re.compile(rf"{_DISTRIBUTION_COMPONENT}(?:/{_DISTRIBUTION_COMPONENT})*")
# ECR: lowercase segments of [a-z0-9] joined by '.', '_' or '-', optionally separated by '/'.
_ECR_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
_ECR_REPO = re.compile(rf"{_ECR_COMPONENT}(?:/{_ECR_COMPONENT})*")
# Artifact Registry repository IDs.
_GAR_REPO = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")

_REPOSITORY_RULES: dict[Cloud, tuple[re.Pattern[str], int, int, str]] = {
    "aws": (
        _ECR_REPO,
        2,
        256,
        "is not a valid ECR repository name: 2 to 256 characters, lowercase segments of "
        "[a-z0-9] joined by '.', '_' or '-', optionally separated by '/'",
    ),
    "azure": (
        _DISTRIBUTION_REPO,
        1,
        256,
        "is not a valid ACR repository name: up to 256 characters, lowercase letters and digits "
        "joined by '.', '_' or '-', optionally separated by '/'",
    ),
    "gcp": (
        _GAR_REPO,
        1,
        63,
        "is not a valid Artifact Registry repository ID: up to 63 lowercase letters, digits "
        "and hyphens, starting with a letter and ending with a letter or digit",
    ),
    "local": (
        _DISTRIBUTION_REPO,
        1,
        255,
        "is not a valid Docker repository name: up to 255 characters, lowercase letters and "
        "digits joined by '.', '_', '__' or '-', optionally separated by '/'",
    ),
}

_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_IAM_PRINCIPAL = re.compile(
    r"arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:(?:root|(?:role|user)/[A-Za-z0-9+=,.@_/-]{1,512})"
)
_KMS_KEY = re.compile(
    r"arn:aws(?:-[a-z]+)*:kms:[a-z]{2}(?:-[a-z]+)+-[0-9]:[0-9]{12}:key/[A-Za-z0-9-]{1,256}"
)
_AZURE_RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
_GCP_PROJECT = re.compile(r"(?:[a-z][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
_GCP_LOCATION = re.compile(r"[a-z]+(?:-[a-z]+[0-9]+)?")
_GCP_LOCATION_ALLOWED = "is not a Google Cloud location such as us-central1, europe-west4 or us"
_AZURE_LOCATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ]{0,38}[A-Za-z0-9]")
_HTPASSWD_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_UINT = re.compile(r"[0-9]{1,10}")
_MAX_PULL_PRINCIPALS = 50


class SettingsError(pulumi.RunError):
    """A config value that cannot work; the message names the key, the value and what is allowed.

    A RunError, so `pulumi up` shows just the message instead of a Python traceback. A value of
    None means the key is not set: the message is then `<key> <allowed>` ("gcp:project is not
    set: ..."), never a Python `None`. `shown` replaces the repr of the value in the message.
    """

    def __init__(self, key: str, value: object, allowed: str, *, shown: str | None = None) -> None:
        if value is None and shown is None:
            super().__init__(f"{key} {allowed}")
        else:
            text = repr(value) if shown is None else shown
            if len(text) > 80:
                text = text[:77] + "..."
            super().__init__(f"{key}: {text} {allowed}")
        self.key = key
        self.value = value


@dataclass(frozen=True)
class AwsSettings:
    pull_principals: tuple[str, ...] = ()
    kms_key_arn: str | None = None


@dataclass(frozen=True)
class AzureSettings:
    sku: str = "Basic"
    resource_group: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class GcpSettings:
    project: str
    location: str


@dataclass(frozen=True)
class LocalSettings:
    port: int = 5000
    user: str = "admin"
    engine_host: str | None = None
    engine_context: str | None = None
    check_engine: bool = True


@dataclass(frozen=True)
class Settings:
    cloud: Cloud = "local"
    repository_name: str = "app"
    image_tag: str | None = None
    platform: str = "linux/amd64"
    untagged_expiry_days: int = 14
    keep_tagged_images: int = 30
    immutable_tags: bool = True
    force_delete: bool = False
    aws: AwsSettings = field(default_factory=AwsSettings)
    azure: AzureSettings = field(default_factory=AzureSettings)
    gcp: GcpSettings | None = None
    local: LocalSettings = field(default_factory=LocalSettings)
    project: str = "container-registry"
    stack: str = "dev"
    # Keys set for a target they have no effect on; load_settings logs them. Not a setting, so
    # two Settings that configure the same thing compare equal whatever was set beside them.
    warnings: tuple[str, ...] = field(default=(), compare=False)


def _text(raw: Mapping[str, str | None], key: str) -> str | None:
    """The value as the user set it, or None when unset or empty."""
    value = raw.get(key)
    if value is None or value == "":
        return None
    return value


def _choice(
    raw: Mapping[str, str | None],
    key: str,
    allowed: tuple[str, ...],
    default: str,
    *,
    ignore_case: bool = False,
) -> str:
    """One of `allowed`, spelled as there; with ignore_case, `basic` is taken as `Basic`."""
    value = _text(raw, key)
    if value is None:
        return default
    if ignore_case:
        value = {option.casefold(): option for option in allowed}.get(value.casefold(), value)
    if value not in allowed:
        raise SettingsError(key, value, f"is not one of {', '.join(allowed)}")
    return value


def _int(raw: Mapping[str, str | None], key: str, default: int, low: int, high: int) -> int:
    value = _text(raw, key)
    if value is None:
        return default
    if not _UINT.fullmatch(value) or not low <= int(value) <= high:
        raise SettingsError(key, value, f"is not a whole number from {low} to {high}")
    return int(value)


def _bool(raw: Mapping[str, str | None], key: str, default: bool) -> bool:
    value = _text(raw, key)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise SettingsError(key, value, "is not true or false")
    return value.lower() == "true"


def _matching(
    raw: Mapping[str, str | None], key: str, pattern: re.Pattern[str], allowed: str
) -> str | None:
    value = _text(raw, key)
    if value is not None and not pattern.fullmatch(value):
        raise SettingsError(key, value, allowed)
    return value


def _repository_name(raw: Mapping[str, str | None], cloud: Cloud) -> str:
    value = _text(raw, "repositoryName") or "app"
    pattern, low, high, allowed = _REPOSITORY_RULES[cloud]
    if not low <= len(value) <= high or not pattern.fullmatch(value):
        raise SettingsError("repositoryName", value, allowed)
    return value


def _image_tag(raw: Mapping[str, str | None]) -> str | None:
    value = _matching(
        raw,
        "imageTag",
        _IMAGE_TAG,
        "is not a valid image tag: 1 to 128 letters, digits, '_', '.' or '-', not starting "
        "with '.' or '-'",
    )
    if value == "latest":
        raise SettingsError(
            "imageTag", value, "is not allowed: a moving tag cannot be deployed reproducibly"
        )
    return value


def _pull_principals(raw: Mapping[str, str | None]) -> tuple[str, ...]:
    key = "pullPrincipals"
    value = _text(raw, key)
    if value is None:
        return ()
    try:
        parsed: object = json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        parsed = None
    if not isinstance(parsed, list) or len(cast("list[object]", parsed)) > _MAX_PULL_PRINCIPALS:
        raise SettingsError(
            key, value, f"is not a list of at most {_MAX_PULL_PRINCIPALS} IAM principal ARNs"
        )
    principals = cast("list[object]", parsed)
    for item in principals:
        if not isinstance(item, str) or not _IAM_PRINCIPAL.fullmatch(item):
            raise SettingsError(
                key,
                item,
                "is not an IAM principal ARN (arn:aws:iam::<12-digit account>:root, :role/... "
                "or :user/...); '*' and wildcards are never allowed",
                # A non-string item is shown as the JSON the user wrote (null, not None).
                shown=None if isinstance(item, str) else json.dumps(item),
            )
    return tuple(dict.fromkeys(cast("list[str]", principals)))


def _gcp(raw: Mapping[str, str | None], gcp_location: str | None) -> GcpSettings:
    project = _matching(
        raw,
        "gcp:project",
        _GCP_PROJECT,
        "is not a Google Cloud project ID: 6 to 30 lowercase letters, digits and hyphens, "
        "starting with a letter",
    )
    if project is None:
        raise SettingsError(
            "gcp:project",
            None,
            "is not set: run `pulumi config set gcp:project <project-id>` (or set GOOGLE_PROJECT)",
        )
    location = gcp_location or _text(raw, "gcp:region")
    if location is None:
        raise SettingsError(
            "gcpLocation",
            None,
            "is not set and neither is gcp:region: run `pulumi config set gcp:region <region>` "
            "or `pulumi config set gcpLocation <location>`",
        )
    if not _GCP_LOCATION.fullmatch(location):
        raise SettingsError("gcp:region", location, _GCP_LOCATION_ALLOWED)
    return GcpSettings(project=project, location=location)


# Settings are compared as a gcp stack's, the one target under which every project key's value
# lands in Settings (gcpLocation included); the stand-in provider values go nowhere else.
_COMPARE_AS: dict[str, str | None] = {
    "cloud": "gcp",
    "gcp:project": "stand-in-project",
    "gcp:region": "us-central1",
}


def _differs_from_default(key: str, value: str) -> bool:
    """Whether `value` means something else than `key`'s default. Pulumi copies every default of
    Pulumi.yaml into the stack's config (mergeConfig in pkg/workspace/config.go of pulumi/pulumi),
    so a value equal to the default may be nobody's choice and is no reason to warn."""
    try:
        return _parse({**_COMPARE_AS, key: value}) != _parse(_COMPARE_AS)
    except SettingsError:
        return True


def unused_key_warnings(raw: Mapping[str, str | None], cloud: Cloud, stack: str) -> tuple[str, ...]:
    """A warning for each project key set to something other than its default although it has
    no effect on `cloud`."""
    warnings: list[str] = []
    for key, targets in KEY_TARGETS.items():
        value = _text(raw, key)
        if cloud in targets or value is None or not _differs_from_default(key, value):
            continue
        warnings.append(
            f"{key} has no effect on the {cloud} target (it applies to {', '.join(targets)}); "
            f"`pulumi config rm {key} --stack {stack}` removes it"
        )
    return tuple(warnings)


def parse_settings(
    raw: Mapping[str, str | None], *, project: str = "container-registry", stack: str = "dev"
) -> Settings:
    """Turn raw config strings into Settings, or raise SettingsError naming the first bad key.

    Every project key is checked whichever cloud is chosen, so a typo never waits for the day
    someone switches targets; provider keys are required only by the target that needs them.
    A key that has no effect on the chosen target is reported in `Settings.warnings`.
    """
    settings = _parse(raw, project=project, stack=stack)
    return replace(settings, warnings=unused_key_warnings(raw, settings.cloud, stack))


def _parse(
    raw: Mapping[str, str | None], *, project: str = "container-registry", stack: str = "dev"
) -> Settings:
    """parse_settings without the warnings."""
    cloud = cast(Cloud, _choice(raw, "cloud", CLOUDS, "local"))
    gcp_location = _matching(raw, "gcpLocation", _GCP_LOCATION, _GCP_LOCATION_ALLOWED)
    return Settings(
        cloud=cloud,
        repository_name=_repository_name(raw, cloud),
        image_tag=_image_tag(raw),
        platform=_choice(raw, "platform", PLATFORMS, "linux/amd64"),
        untagged_expiry_days=_int(raw, "untaggedExpiryDays", 14, 1, 3650),
        keep_tagged_images=_int(raw, "keepTaggedImages", 30, 1, 10000),
        immutable_tags=_bool(raw, "immutableTags", True),
        force_delete=_bool(raw, "forceDelete", False),
        aws=AwsSettings(
            pull_principals=_pull_principals(raw),
            kms_key_arn=_matching(
                raw,
                "ecrKmsKeyArn",
                _KMS_KEY,
                "is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); an alias ARN "
                "is refused because ECR reports the key ARN back and would replace the "
                "repository on every update",
            ),
        ),
        azure=AzureSettings(
            sku=_choice(raw, "acrSku", ACR_SKUS, "Basic", ignore_case=True),
            resource_group=_matching(
                raw,
                "azureResourceGroup",
                _AZURE_RESOURCE_GROUP,
                "is not an Azure resource group name: 1 to 90 letters, digits, '_', '-', '.', "
                "'(' or ')', not ending with '.'",
            ),
            location=_matching(
                raw,
                "azure-native:location",
                _AZURE_LOCATION,
                "is not an Azure location such as westeurope",
            ),
        ),
        gcp=_gcp(raw, gcp_location) if cloud == "gcp" else None,
        local=LocalSettings(
            port=_int(raw, "localPort", 5000, 1, 65535),
            user=_matching(
                raw,
                "localUser",
                _HTPASSWD_USER,
                "is not a valid registry user name: 1 to 64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit",
            )
            or "admin",
            engine_host=_text(raw, "docker:host"),
            engine_context=_text(raw, "docker:context"),
            check_engine=not _bool(raw, "docker:disableDockerDaemonCheck", False),
        ),
        project=project,
        stack=stack,
    )


def read_config() -> dict[str, str | None]:
    """Read every key this program uses, as raw strings; nothing is validated here."""
    config = pulumi.Config()
    raw: dict[str, str | None] = {key: config.get(key) for key in PROJECT_KEYS}
    for qualified, env_vars in PROVIDER_KEYS.items():
        namespace, key = qualified.split(":")
        value = pulumi.Config(namespace).get(key)
        if not value:
            value = next((os.environ[v] for v in env_vars if os.environ.get(v)), None)
        raw[qualified] = value
    return raw


def load_settings() -> Settings:
    """The settings of the running stack; raises SettingsError before anything is created, and
    warns (`pulumi up` shows it) about each key that has no effect on the chosen target."""
    settings = parse_settings(read_config(), project=pulumi.get_project(), stack=pulumi.get_stack())
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    return settings
