"""Every config key the program reads, converted and validated once, before any resource exists.

`read_config` is the only place that touches `pulumi.Config` or the environment; `parse_settings`
is a pure function over strings, so tests (and hypothesis) can feed it anything a user could type.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

import pulumi

Cloud = Literal["local", "aws", "azure", "gcp"]
CLOUDS: tuple[Cloud, ...] = ("local", "aws", "azure", "gcp")
ACR_SKUS: tuple[str, ...] = ("Basic", "Standard", "Premium")
# The platform the clouds build for when `platform` is not set (the local target asks its engine).
DEFAULT_PLATFORM = "linux/amd64"
# Docker platform architectures and the variants each may carry (containerd's `platforms`
# package: the GOARCH names, and `v<N>` variants for amd64, arm and arm64). The app is an NGINX
# image on Alpine, so the OS is always linux.
PLATFORM_VARIANTS: dict[str, tuple[str, ...]] = {
    "amd64": ("v1", "v2", "v3", "v4"),
    "arm64": ("v8", "v8.0", "v8.1", "v8.2", "v8.3", "v8.4", "v8.5", "v9", "v9.0"),
    "arm": ("v5", "v6", "v7", "v8"),
    "386": (),
    "ppc64le": (),
    "s390x": (),
    "riscv64": (),
    "mips64le": (),
    "loong64": (),
}
# Spellings Docker accepts for an architecture and normalises (containerd `normalizeArch`).
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386"}
_PLATFORM = re.compile(r"linux/([a-z0-9_-]+)(?:/(v[0-9]+(?:\.[0-9])?))?")

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
    # TLS material of a tcp:// engine; both halves of the provider read DOCKER_CERT_PATH too.
    "docker:certPath": ("DOCKER_CERT_PATH",),
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
# The schemes the Docker CLI and the provider dial, then printable ASCII without spaces.
_DOCKER_HOST = re.compile(r"(?:unix|tcp|ssh|npipe|fd)://[!-~]{0,2000}")
# docker/cli's context name rule (cli/command/context.go, validateContextName's pattern).
_DOCKER_CONTEXT = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.+-]{0,99}")
_MAX_PULL_PRINCIPALS = 50


class SettingsError(pulumi.RunError):
    """A config value that cannot work; the message names the key, the value and what is allowed.

    A RunError, so `pulumi up` shows just the message instead of a Python traceback.
    """

    def __init__(self, key: str, value: object, allowed: str) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{key}: {shown} {allowed}")
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
    engine_cert_path: str | None = None
    check_engine: bool = True


@dataclass(frozen=True)
class Settings:
    cloud: Cloud = "local"
    repository_name: str = "app"
    image_tag: str | None = None
    platform: str | None = None
    """None: linux/amd64 on the clouds, the engine's own architecture on the local target."""
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


def _text(raw: Mapping[str, str | None], key: str) -> str | None:
    """The value as the user set it, or None when unset or empty."""
    value = raw.get(key)
    if value is None or value == "":
        return None
    return value


def _choice(raw: Mapping[str, str | None], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = _text(raw, key)
    if value is None:
        return default
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


def _platform(raw: Mapping[str, str | None]) -> str | None:
    """`os/arch[/variant]` as Docker takes it, with architecture aliases normalised."""
    value = _text(raw, "platform")
    if value is None:
        return None
    found = _PLATFORM.fullmatch(value)
    arch = _ARCH_ALIASES.get(found[1], found[1]) if found else ""
    if (
        not found
        or arch not in PLATFORM_VARIANTS
        or (found[2] is not None and found[2] not in PLATFORM_VARIANTS[arch])
    ):
        raise SettingsError(
            "platform",
            value,
            "is not a Linux platform Docker builds: linux/<arch>[/<variant>] with arch one of "
            f"{', '.join(PLATFORM_VARIANTS)}, such as linux/amd64, linux/arm64/v8 or linux/arm/v7",
        )
    return f"linux/{arch}" + (f"/{found[2]}" if found[2] else "")


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


def require_azure_location(azure: AzureSettings) -> None:
    """The azure target needs a location, unless it goes into an existing group."""
    if azure.resource_group is None and azure.location is None:
        raise SettingsError(
            "azure-native:location",
            None,
            "is not set: run `pulumi config set azure-native:location <region>` (or set "
            "ARM_LOCATION), or name an existing group with `pulumi config set "
            "azureResourceGroup <name>`",
        )


def parse_settings(
    raw: Mapping[str, str | None], *, project: str = "container-registry", stack: str = "dev"
) -> Settings:
    """Turn raw config strings into Settings, or raise SettingsError naming the first bad key.

    Every project key is checked whichever cloud is chosen, so a typo never waits for the day
    someone switches targets; provider keys are required only by the target that needs them.
    """
    cloud = cast(Cloud, _choice(raw, "cloud", CLOUDS, "local"))
    gcp_location = _matching(raw, "gcpLocation", _GCP_LOCATION, _GCP_LOCATION_ALLOWED)
    settings = Settings(
        cloud=cloud,
        repository_name=_repository_name(raw, cloud),
        image_tag=_image_tag(raw),
        platform=_platform(raw),
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
            sku=_choice(raw, "acrSku", ACR_SKUS, "Basic"),
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
            engine_host=_matching(
                raw,
                "docker:host",
                _DOCKER_HOST,
                "is not a Docker engine address such as unix:///var/run/docker.sock, "
                "tcp://host:2376 or ssh://user@host",
            ),
            engine_context=_matching(
                raw,
                "docker:context",
                _DOCKER_CONTEXT,
                "is not a Docker context name (letters, digits, '_', '.', '+' and '-'; see "
                "`docker context ls`)",
            ),
            engine_cert_path=_text(raw, "docker:certPath"),
            check_engine=not _bool(raw, "docker:disableDockerDaemonCheck", False),
        ),
        project=project,
        stack=stack,
    )
    if cloud == "azure":
        require_azure_location(settings.azure)
    return settings


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
    """The settings of the running stack; raises SettingsError before anything is created."""
    return parse_settings(read_config(), project=pulumi.get_project(), stack=pulumi.get_stack())
