"""Every config key the program reads, converted and validated once, before any resource exists.

`read_config` is the only place that touches `pulumi.Config` or the environment; `parse_settings`
is a pure function over strings, so tests (and hypothesis) can feed it anything a user could type.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, cast

import pulumi

from registries.base_image import base_image

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

# Keys that do something only with `mirror: true` (docs/mirror.md). unused_key_warnings warns
# about one set without it, on a target it applies to; tests/test_key_targets.py checks that
# each really changes nothing without the mirror.
MIRROR_KEYS: tuple[str, ...] = (
    "mirrorRepositories",
    "dockerHubCredentialsSecretArn",
    "acrDockerHubUsernameSecretUri",
    "acrDockerHubPasswordSecretUri",
    "acrDockerHubKeyVaultId",
    "gcpDockerHubPasswordSecretVersion",
    "dockerHubUser",
    "dockerHubToken",
    "localMirrorPort",
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
    # The pull-through mirror (docs/mirror.md).
    "mirror",
    *MIRROR_KEYS,
    "ciRepository",
    "ciRef",
    "ciEnvironment",
    "ciSubjectIncludesRef",
    "awsOidcProviderArn",
)

# Project keys that hold a credential: read only with get_secret, never as plain text.
SECRET_KEYS: tuple[str, ...] = ("dockerHubToken",)
# What read_config records for a secret key instead of its value.
SECRET_SET = "<set as a secret>"
PLAINTEXT_SET = "<set in plain text>"
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
    "pullPrincipals": ("aws", "azure", "gcp"),
    "ecrKmsKeyArn": ("aws",),
    "acrSku": ("azure",),
    "azureResourceGroup": ("azure",),
    "gcpLocation": ("gcp",),
    "localPort": ("local",),
    "localUser": ("local",),
    # The pull-through mirror (docs/mirror.md).
    "mirror": CLOUDS,
    "mirrorRepositories": ("azure",),
    "dockerHubCredentialsSecretArn": ("aws",),
    "acrDockerHubUsernameSecretUri": ("azure",),
    "acrDockerHubPasswordSecretUri": ("azure",),
    "acrDockerHubKeyVaultId": ("azure",),
    "gcpDockerHubPasswordSecretVersion": ("gcp",),
    "dockerHubUser": ("local", "gcp"),
    "dockerHubToken": ("local",),
    "localMirrorPort": ("local",),
    # Keyless push from CI (docs/ci.md); the local target refuses ciRepository outright.
    "ciRepository": ("aws", "azure", "gcp"),
    "ciRef": ("aws", "azure", "gcp"),
    "ciEnvironment": ("aws", "azure", "gcp"),
    "ciSubjectIncludesRef": ("aws", "azure", "gcp"),
    "awsOidcProviderArn": ("aws",),
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
# Mirror keys. Secrets Manager secrets for ECR pull-through cache must be named
# `ecr-pullthroughcache/...`; the ARN ends in '-' and six random characters.
_PULL_THROUGH_SECRET = re.compile(
    r"arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-[0-9]:[0-9]{12}:"
    r"secret:ecr-pullthroughcache/[A-Za-z0-9/_+=.@-]{1,480}"
)
# A Key Vault name: 3 to 24 letters, digits and hyphens, starting with a letter.
_KEY_VAULT_NAME = r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]"
# A Key Vault secret URI, with or without its 32-hex-digit version; group 1 is the vault.
_KEY_VAULT_SECRET = re.compile(
    rf"https://({_KEY_VAULT_NAME})\.vault\."
    r"(?:azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)"
    r"/secrets/[A-Za-z0-9-]{1,127}(?:/[0-9a-f]{32})?"
)
# A Key Vault's ARM resource ID, as `az keyvault show --query id` prints it. ARM compares the
# fixed segments without regard to case; group 1 is the vault's name.
_KEY_VAULT_ID = re.compile(
    r"/(?i:subscriptions)/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}/(?i:resourceGroups)/[-\w.()]{0,89}[-\w()]"
    rf"/(?i:providers/Microsoft\.KeyVault/vaults)/({_KEY_VAULT_NAME})"
)
_SECRET_VERSION = re.compile(
    r"projects/(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})/secrets/[A-Za-z0-9_-]{1,255}"
    r"/versions/(?:[1-9][0-9]{0,18}|latest)"
)
_DOCKER_HUB_USER = re.compile(r"[a-z0-9]{4,30}")
# Official image names (docker.io/library/<name>); "*" alone asks ACR for one wildcard rule.
_LIBRARY_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
MIRROR_WILDCARD = "*"
_MAX_MIRROR_REPOSITORIES = 50

# --- keyless CI push (issue 11) and per-cloud pullPrincipals
DEFAULT_CI_REF = "refs/heads/main"
_GCP_SUBJECT_MAX = 127
# GitHub: an owner (user or organization) is 1 to 39 letters, digits or single hyphens, neither
# first nor last; a repository name is 1 to 100 ASCII letters, digits, '.', '-' or '_', and
# '.' and '..' are reserved.
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
_GITHUB_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# GitHub's immutable subject claims append the owner's and the repository's numeric IDs to their
# names with '@' (`repo:octocat@123456/my-repo@456789:ref:...`; GitHub docs, "OpenID Connect
# reference", "Immutable subject claims"). The IDs are positive decimal integers (the REST API's
# `.owner.id` and `.id`), carried in the token as the strings `repository_owner_id` and
# `repository_id`.
_GITHUB_ID = re.compile(r"[1-9][0-9]{0,19}")
# The day GitHub makes the immutable form the default for new, renamed and transferred
# repositories (github/docs PR 45221).
IMMUTABLE_SUBJECTS_FROM = "2026-07-15"
# Prints a repository's immutable form, `owner@OWNER_ID/name@REPO_ID`, from GitHub's REST API
# ("Get a repository": `.owner.login`, `.owner.id`, `.name`, `.id`).
_IMMUTABLE_FORM_JQ = '"\\(.owner.login)@\\(.owner.id)/\\(.name)@\\(.id)"'
# A branch or tag ref, in a subset of git's check-ref-format rules that is also free of the glob
# characters of GitHub's `on.push` filters (`*`, `?`, `+`, `!`, `[`): components of letters,
# digits, '.', '_' and '-', not starting with '.', not ending with '.lock' or '.'.
_REF_COMPONENT = r"(?!\.)[A-Za-z0-9._-]+(?<!\.lock)(?<!\.)"
_CI_REF = re.compile(rf"(?!.*\.\.)refs/(?:heads|tags)/{_REF_COMPONENT}(?:/{_REF_COMPONENT})*")
_CI_ENVIRONMENT = re.compile(r"[A-Za-z0-9._-]{1,255}")
# The repository's OIDC subject template that puts the ref beside the environment (GitHub docs,
# "OpenID Connect reference", "Customizing the subject claims for an organization or
# repository"): `repo` is the repository as the default `sub` spells it (with the owner and
# repository IDs for a repository on immutable subject claims: "owner_id and repo_id are always
# included in the repo segment of the sub claim, even when you customize claims with
# include_claim_keys"), `context` is what follows it by default (`environment:<name>`,
# `ref:<ref>` or `pull_request`), and `ref` is the ref the run is for. Each claim is written as
# `<key>:<value>`, in this order: `repo:acme/app:environment:prod:ref:refs/heads/main`.
SUBJECT_CLAIM_KEYS: tuple[str, ...] = ("repo", "context", "ref")
# Regions where a user-assigned managed identity cannot hold a federated identity credential (the
# API answers 405 "Support for federated identity credentials not enabled"): Microsoft Learn,
# "Important considerations and restrictions for federated identity credentials"
# (entra/workload-id/workload-identity-federation-considerations), "Unsupported regions
# (user-assigned managed identities)": Malaysia South and New Zealand North.
FEDERATION_UNSUPPORTED_AZURE_LOCATIONS: tuple[str, ...] = ("malaysiasouth", "newzealandnorth")
_GITHUB_OIDC_PROVIDER = re.compile(
    r"arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com"
)
# An Entra object ID, optionally prefixed with its principal type (role assignments must name
# it, and a wrong one is refused); a bare ID means a service principal or managed identity.
ENTRA_PRINCIPAL_TYPES: tuple[str, ...] = ("ServicePrincipal", "User", "Group")
_ENTRA_OBJECT_ID = re.compile(
    r"(?:(?:ServicePrincipal|User|Group):)?"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_GCP_MEMBER = re.compile(
    rf"(?:(?:serviceAccount|group|user):{_EMAIL}"
    r"|domain:[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
    r"|(?:principal|principalSet)://iam\.googleapis\.com/[A-Za-z0-9._~@:/-]+)"
)
# What each cloud's pullPrincipals hold: (pattern, what a list of them is called, the rule).
_PULL_PRINCIPAL_FORMS: dict[str, tuple[re.Pattern[str], str, str]] = {
    "aws": (
        _IAM_PRINCIPAL,
        "IAM principal ARNs",
        "is not an IAM principal ARN (arn:aws:iam::<12-digit account>:root, :role/... "
        "or :user/...); '*' and wildcards are never allowed",
    ),
    "azure": (
        _ENTRA_OBJECT_ID,
        "Entra object IDs",
        "is not a Microsoft Entra object ID (a GUID such as "
        "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f, optionally prefixed with User:, Group: or "
        "ServicePrincipal:, the default); '*' is never allowed",
    ),
    "gcp": (
        _GCP_MEMBER,
        "IAM members",
        "is not a Google Cloud IAM member (serviceAccount:, group:, user:, domain:, "
        "principal:// or principalSet://iam.googleapis.com/...); allUsers, "
        "allAuthenticatedUsers, '*' and wildcards are never allowed",
    ),
}


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
    # An existing IAM OIDC provider for GitHub to trust instead of creating one.
    oidc_provider_arn: str | None = None


@dataclass(frozen=True)
class AzureSettings:
    sku: str = "Basic"
    resource_group: str | None = None
    location: str | None = None
    # `<principal type>:<Entra object ID>` of each principal granted AcrPull on the registry.
    pull_principals: tuple[str, ...] = ()


@dataclass(frozen=True)
class GcpSettings:
    project: str
    location: str
    # IAM members granted roles/artifactregistry.reader on the repository.
    pull_principals: tuple[str, ...] = ()


@dataclass(frozen=True)
class CiSettings:
    """Which GitHub Actions runs may push: one repository and one ref, and with an environment
    only the jobs that run in it. With the owner's and the repository's numeric IDs the clouds
    trust GitHub's immutable subject; without them, the name-only form of older repositories."""

    repository: str
    """owner/name, as GitHub spells it."""
    ref: str = DEFAULT_CI_REF
    environment: str | None = None
    owner_id: str | None = None
    repository_id: str | None = None
    subject_includes_ref: bool = False
    """ciSubjectIncludesRef: the repository's subject template is SUBJECT_CLAIM_KEYS."""

    @property
    def immutable(self) -> bool:
        return self.owner_id is not None and self.repository_id is not None

    @property
    def subject_repository(self) -> str:
        """The repository as the token's `sub` spells it: `owner@OWNER_ID/name@REPO_ID` in the
        immutable form, `owner/name` in the old one."""
        if not self.immutable:
            return self.repository
        owner, _, name = self.repository.partition("/")
        return f"{owner}@{self.owner_id}/{name}@{self.repository_id}"

    @property
    def subject(self) -> str:
        """The `sub` claim of the runs allowed to push. In GitHub's default template:
        `repo:<repository>:environment:<env>` for a job in an environment (GitHub puts the
        environment in place of the ref then), else `repo:<repository>:ref:<ref>`. With the
        template of SUBJECT_CLAIM_KEYS, the same followed by `:ref:<ref>`, so that a job in the
        environment is bound to its ref too."""
        context = f"environment:{self.environment}" if self.environment else f"ref:{self.ref}"
        return custom_subject(self.subject_repository, context, self.ref, self.subject_includes_ref)


def custom_subject(repository: str, context: str, ref: str, includes_ref: bool) -> str:
    """`sub` as GitHub renders it: `repo:<repository>:<context>` in the default template, then
    `:ref:<ref>` with the template of SUBJECT_CLAIM_KEYS. Values hold no ':' (ciRef and
    ciEnvironment refuse it), so GitHub's `%3A` escaping never applies."""
    subject = f"repo:{repository}:{context}"
    return f"{subject}:ref:{ref}" if includes_ref else subject


def subject_template_command(repository: str) -> str:
    """The one `gh api` call that sets the repository's subject template to SUBJECT_CLAIM_KEYS
    (GitHub REST API, "Set the customization template for an OIDC subject claim for a
    repository": PUT /repos/{owner}/{repo}/actions/oidc/customization/sub with `use_default`
    false and `include_claim_keys`; `-F` sends `false` as a JSON boolean, `key[]=` builds an
    array)."""
    keys = " ".join(f"-f 'include_claim_keys[]={key}'" for key in SUBJECT_CLAIM_KEYS)
    return (
        f"gh api --method PUT repos/{repository}/actions/oidc/customization/sub "
        f"-F use_default=false {keys}"
    )


@dataclass(frozen=True)
class LocalSettings:
    port: int = 5000
    user: str = "admin"
    engine_host: str | None = None
    engine_context: str | None = None
    engine_cert_path: str | None = None
    check_engine: bool = True


@dataclass(frozen=True)
class MirrorSettings:
    """The pull-through mirror of Docker Hub's official images (docs/mirror.md)."""

    enabled: bool = False
    # azure: the docker.io/library repositories ACR caches, or ("*",) for one wildcard rule.
    repositories: tuple[str, ...] = field(default_factory=lambda: (base_image().repository,))
    # aws: a Secrets Manager secret (ecr-pullthroughcache/...) for an extra Docker Hub rule.
    docker_hub_secret_arn: str | None = None
    # azure: Key Vault secret URIs of a Docker Hub user name and token, for a credential set.
    acr_username_secret_uri: str | None = None
    acr_password_secret_uri: str | None = None
    # azure: the ARM resource ID of the vault holding both, where the credential set's identity
    # is granted Key Vault Secrets User.
    acr_key_vault_id: str | None = None
    # gcp: a Secret Manager secret version holding the Docker Hub token of docker_hub_user.
    gcp_password_secret_version: str | None = None
    # gcp and local: the Docker Hub user name the upstream credentials belong to.
    docker_hub_user: str | None = None
    # local: the Docker Hub token, a Pulumi secret (never a plain string here).
    docker_hub_token: pulumi.Output[str] | None = field(default=None, compare=False, repr=False)
    # local: the port on 127.0.0.1 the mirror is published on.
    local_port: int = 5001


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
    mirror: MirrorSettings = field(default_factory=MirrorSettings)
    ci: CiSettings | None = None
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


def _fold(value: str) -> str:
    """The value in lowercase if it is ASCII, else unchanged: the one case rule of every
    enumeration. Only ASCII folds, so that `ſ` or the Kelvin sign never pass for `s` or `k`."""
    return value.lower() if value.isascii() else value


def _choice(raw: Mapping[str, str | None], key: str, allowed: tuple[str, ...], default: str) -> str:
    """One of `allowed`, in any case, and spelled as there: `AWS` is taken as `aws`, `basic` as
    `Basic`. Every enumerated key goes through here, so they all follow one rule."""
    value = _text(raw, key)
    if value is None:
        return default
    found = {_fold(option): option for option in allowed}.get(_fold(value))
    if found is None:
        raise SettingsError(key, value, f"is not one of {', '.join(allowed)}")
    return found


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
    if _fold(value) not in ("true", "false"):
        raise SettingsError(key, value, "is not true or false")
    return _fold(value) == "true"


def _matching(
    raw: Mapping[str, str | None], key: str, pattern: re.Pattern[str], allowed: str
) -> str | None:
    value = _text(raw, key)
    if value is not None and not pattern.fullmatch(value):
        raise SettingsError(key, value, allowed)
    return value


def _platform(raw: Mapping[str, str | None]) -> str | None:
    """`os/arch[/variant]` as Docker takes it, in any case, with architecture aliases normalised
    (containerd's platforms package lowercases all three parts: normalizeOS, normalizeArch)."""
    value = _text(raw, "platform")
    if value is None:
        return None
    found = _PLATFORM.fullmatch(_fold(value))
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
    if value is not None and _fold(value) == "latest":
        raise SettingsError(
            "imageTag",
            value,
            "is not allowed: latest, in any case, is a moving tag and cannot be deployed "
            "reproducibly",
        )
    return value


def _pull_principals(raw: Mapping[str, str | None], cloud: Cloud, stack: str) -> tuple[str, ...]:
    """The principals allowed to pull, in the chosen cloud's own form, deduplicated in order."""
    key = "pullPrincipals"
    value = _text(raw, key)
    if value is None:
        return ()
    try:
        parsed: object = json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        parsed = None
    if cloud == "local":
        # The local registry has no IAM to grant pulls in: the key does nothing here, and
        # unused_key_warnings says so. Its value is still checked (in any cloud's form), so a
        # typo does not wait for the day the stack moves to a cloud.
        _check_principals(key, value, parsed, _LOCAL_PULL_PRINCIPAL_FORM, stack)
        return ()
    form = _PULL_PRINCIPAL_FORMS[cloud]
    found = list(_check_principals(key, value, parsed, form, stack))
    if cloud == "azure":
        found = [_entra_principal(item) for item in found]
    return tuple(dict.fromkeys(found))


# Any cloud's form, for a local stack that sets pullPrincipals although nothing reads it there.
_LOCAL_PULL_PRINCIPAL_FORM: tuple[re.Pattern[str], str, str] = (
    re.compile("|".join(f"(?:{form[0].pattern})" for form in _PULL_PRINCIPAL_FORMS.values())),
    "IAM principal ARNs, Entra object IDs or IAM members",
    "is not an IAM principal ARN (aws), Entra object ID (azure) or IAM member (gcp); '*' and "
    "wildcards are never allowed",
)


def _check_principals(
    key: str, value: str, parsed: object, form: tuple[re.Pattern[str], str, str], stack: str
) -> list[str]:
    """The items of a pullPrincipals list, each checked against `form`."""
    pattern, plural, rule = form
    if parsed is None or isinstance(parsed, str):
        # `pulumi config set pullPrincipals X` stores a plain string, not a list; a JSON list
        # set the same way is read as one (json.loads above).
        single = parsed if isinstance(parsed, str) else value
        shown = single if single.isprintable() and 0 < len(single) <= 80 else "<value>"
        raise SettingsError(
            key,
            value,
            f"is not a list of {plural}: give a JSON list, "
            f"`./up.sh --stack {stack} --config pullPrincipals "
            f"{shlex.quote(json.dumps([shown]))}`",
        )
    if not isinstance(parsed, list) or len(cast("list[object]", parsed)) > _MAX_PULL_PRINCIPALS:
        raise SettingsError(key, value, f"is not a list of at most {_MAX_PULL_PRINCIPALS} {plural}")
    principals = cast("list[object]", parsed)
    for item in principals:
        if not isinstance(item, str) or "*" in item or not pattern.fullmatch(item):
            # A non-string item is shown as the JSON the user wrote (null, not None).
            raise SettingsError(
                key, item, rule, shown=None if isinstance(item, str) else json.dumps(item)
            )
    return cast("list[str]", principals)


def _entra_principal(item: str) -> str:
    """`Type:object-id` with the ID in lowercase; a bare ID becomes a ServicePrincipal."""
    kind, _, object_id = item.rpartition(":")
    return f"{kind or 'ServicePrincipal'}:{object_id.lower()}"


def _ci(raw: Mapping[str, str | None], cloud: Cloud, stack: str) -> CiSettings | None:
    """The GitHub repository, ref and environment allowed to push; None when ciRepository is
    unset. ciRef and ciEnvironment are checked either way, so a typo shows up at once."""
    ref = _matching(
        raw,
        "ciRef",
        _CI_REF,
        "is not a branch or tag ref such as refs/heads/main or refs/tags/v1: components of "
        "letters, digits, '.', '_' and '-' (no wildcards), not starting with '.'",
    )
    environment = _matching(
        raw,
        "ciEnvironment",
        _CI_ENVIRONMENT,
        "is not a GitHub environment name: 1 to 255 letters, digits, '.', '_' or '-' "
        "(no wildcards)",
    )
    includes_ref = _bool(raw, "ciSubjectIncludesRef", False)
    key = "ciRepository"
    value = _text(raw, key)
    if value is None:
        return None
    owner, slash, name = value.partition("/")
    owner, owner_at, owner_id = owner.partition("@")
    name, name_at, repository_id = name.partition("@")
    if (
        not slash
        or not _GITHUB_OWNER.fullmatch(owner)
        or not _GITHUB_REPO_NAME.fullmatch(name)
        or name in (".", "..")
        or (owner_at and not _GITHUB_ID.fullmatch(owner_id))
        or (name_at and not _GITHUB_ID.fullmatch(repository_id))
    ):
        raise SettingsError(
            key,
            value,
            "is not a GitHub repository as owner/name, or as owner@OWNER_ID/name@REPO_ID with "
            "GitHub's numeric IDs: the owner 1 to 39 letters, digits or single hyphens, the name "
            "1 to 100 letters, digits, '.', '-' or '_', each ID decimal digits; wildcards and "
            "a bare owner are never allowed",
        )
    if bool(owner_at) != bool(name_at):
        raise SettingsError(
            key,
            value,
            "carries only one of the two IDs: GitHub's immutable subject appends both, as "
            f"owner@OWNER_ID/name@REPO_ID; `{_immutable_form_command(f'{owner}/{name}')}` "
            "prints it",
        )
    if cloud == "local":
        raise SettingsError(
            key,
            value,
            "is not allowed with cloud local: the local registry listens on 127.0.0.1, which "
            "hosted CI runners cannot reach; choose aws, azure or gcp",
        )
    ci = CiSettings(
        repository=f"{owner}/{name}",
        ref=ref or DEFAULT_CI_REF,
        environment=environment,
        owner_id=owner_id or None,
        repository_id=repository_id or None,
        subject_includes_ref=includes_ref,
    )
    _require_ref_in_environment_subject(ci, cloud, stack)
    if cloud == "azure":
        _require_federation_region(_text(raw, "azure-native:location"))
    # Google maps the token's subject to google.subject, which holds at most 127 bytes: the
    # subject checked is the one the clouds trust, IDs included.
    if cloud == "gcp" and len(ci.subject.encode()) > _GCP_SUBJECT_MAX:
        raise SettingsError(
            "ciEnvironment" if ci.environment else "ciRef",
            ci.environment or ci.ref,
            f"makes the OIDC subject {ci.subject!r} longer than the {_GCP_SUBJECT_MAX} bytes "
            "Google Cloud's google.subject holds; use a shorter name",
        )
    return ci


def azure_location_name(location: str) -> str:
    """An Azure location as ARM names it: `New Zealand North` and `newzealandnorth` are one."""
    return location.replace(" ", "").lower()


def _require_federation_region(location: str | None) -> None:
    """The CI identity lives in the registry's location; where Entra cannot federate a
    user-assigned identity, stop before anything is created rather than at the credential."""
    if location is None or azure_location_name(location) not in (
        FEDERATION_UNSUPPORTED_AZURE_LOCATIONS
    ):
        return
    raise SettingsError(
        "azure-native:location",
        location,
        "cannot hold the CI identity's federated credential: Microsoft does not yet support "
        "federated identity credentials on user-assigned managed identities in Malaysia South "
        "or New Zealand North (Entra docs, workload identity federation considerations); "
        "choose another location, or unset ciRepository",
    )


def _require_ref_in_environment_subject(ci: CiSettings, cloud: Cloud, stack: str) -> None:
    """AWS and Azure can compare `sub` alone, and GitHub's default subject for a job in an
    environment names no ref: any branch naming the environment would be trusted. So
    ciEnvironment there needs the template that adds the ref, and the user's word that the
    repository has it (ciSubjectIncludesRef). Google Cloud checks `assertion.ref` as well."""
    if ci.environment is None or ci.subject_includes_ref or cloud not in ("aws", "azure"):
        return
    raise SettingsError(
        "ciSubjectIncludesRef",
        None,
        f"is not true, and ciEnvironment is set: on {cloud} the default OIDC subject of a job "
        "in an environment names no ref, so a job on any branch that names the environment "
        "would be trusted. Set the repository's subject template to "
        f"{', '.join(SUBJECT_CLAIM_KEYS)} (tokens then carry "
        f"{replace(ci, subject_includes_ref=True).subject}) with "
        f"`{subject_template_command(ci.repository)}`, then declare it with "
        f"`./up.sh --stack {stack} --config ciSubjectIncludesRef true` (docs/ci.md)",
    )


def _immutable_form_command(repository: str) -> str:
    """The one command that prints a repository's immutable form, ready for ciRepository."""
    return f"gh api repos/{repository} --jq '{_IMMUTABLE_FORM_JQ}'"


def ci_warnings(ci: CiSettings | None, stack: str) -> tuple[str, ...]:
    """A warning when ciRepository has no IDs: the clouds then trust only the name-only subject,
    which GitHub no longer issues to every repository."""
    if ci is None or ci.immutable:
        return ()
    return (
        f"ciRepository {ci.repository} has no numeric IDs, so the clouds trust only the subject "
        f"{ci.subject!r}. Repositories created, renamed or transferred on or after "
        f"{IMMUTABLE_SUBJECTS_FROM}, and those opted in by their owner or organization, get "
        "tokens with GitHub's immutable subject (repo:owner@OWNER_ID/name@REPO_ID:...), and "
        "every push from them is "
        f"refused. `{_immutable_form_command(ci.repository)}` prints the immutable form; set it "
        f"with `./up.sh --stack {stack} --config ciRepository <what it printed>` (docs/ci.md)",
    )


def _gcp(
    raw: Mapping[str, str | None],
    gcp_location: str | None,
    pull_principals: tuple[str, ...],
    stack: str,
) -> GcpSettings:
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
            f"is not set: run `./up.sh --stack {stack} --config gcp:project <project-id>` "
            "(or set GOOGLE_PROJECT)",
        )
    location = gcp_location or _text(raw, "gcp:region")
    if location is None:
        raise SettingsError(
            "gcpLocation",
            None,
            f"is not set and neither is gcp:region: run `./up.sh --stack {stack} --config "
            f"gcp:region <region>` or `./up.sh --stack {stack} --config gcpLocation <location>`",
        )
    if not _GCP_LOCATION.fullmatch(location):
        raise SettingsError("gcp:region", location, _GCP_LOCATION_ALLOWED)
    return GcpSettings(project=project, location=location, pull_principals=pull_principals)


def require_azure_location(azure: AzureSettings, stack: str) -> None:
    """The azure target needs a location, unless it goes into an existing group."""
    if azure.resource_group is None and azure.location is None:
        raise SettingsError(
            "azure-native:location",
            None,
            f"is not set: run `./up.sh --stack {stack} --config azure-native:location <region>` "
            f"(or set ARM_LOCATION), or name an existing group with `./up.sh --stack {stack} "
            "--config azureResourceGroup <name>`",
        )


def _mirror_repositories(raw: Mapping[str, str | None]) -> tuple[str, ...]:
    key = "mirrorRepositories"
    value = _text(raw, key)
    if value is None:
        return MirrorSettings().repositories
    try:
        parsed: object = json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        parsed = None
    if not isinstance(parsed, list) or len(cast("list[object]", parsed)) > _MAX_MIRROR_REPOSITORIES:
        raise SettingsError(
            key,
            value,
            f"is not a list of at most {_MAX_MIRROR_REPOSITORIES} Docker official image names",
        )
    items = cast("list[object]", parsed)
    if not items:
        return MirrorSettings().repositories
    for item in items:
        if not isinstance(item, str) or (
            item != MIRROR_WILDCARD
            and not (len(item) <= 200 and _LIBRARY_REPOSITORY.fullmatch(item))
        ):
            raise SettingsError(
                key,
                item,
                "is not a Docker official image name such as nginx or python (the part after "
                "docker.io/library/), nor '*'",
            )
    names = tuple(dict.fromkeys(cast("list[str]", items)))
    if MIRROR_WILDCARD in names and len(names) > 1:
        raise SettingsError(key, value, "mixes '*' with names: ACR refuses overlapping rules")
    # The app is built from the mirror: without a rule for its base image that build would fail.
    base = base_image().repository
    if MIRROR_WILDCARD not in names and base not in names:
        raise SettingsError(
            key,
            value,
            f"leaves out {base}, the app's base image, which the build pulls through the mirror: "
            f'add {json.dumps(base)} (or use ["*"])',
        )
    return names


def _secret(
    raw: Mapping[str, str | None], key: str, secrets: Mapping[str, pulumi.Output[str]], stack: str
) -> pulumi.Output[str] | None:
    """A secret key's value as a Pulumi secret, or None when unset. read_config records only
    whether it was set, and how; a value stored in plain text is refused."""
    state = _text(raw, key)
    if state is None:
        return None
    if state != SECRET_SET:
        # Never echo the value: it is meant to be a credential.
        raise SettingsError(
            key,
            "(not shown)",
            "is stored in plain text: set it again as a secret, at a hidden prompt (not on the "
            f"command line, where your shell's history keeps it): "
            f"`{in_stack_shell(stack, f'pulumi config set --secret {key} --stack {stack}')}`",
        )
    value = secrets.get(key)
    if value is None:
        raise SettingsError(key, None, "is set, but its secret value was not handed over")
    return pulumi.Output.secret(value)


def _local_mirror_port(raw: Mapping[str, str | None], local_port: int, mirror: bool) -> int:
    """The mirror's port. Without `mirror: true` nothing listens on it, so only its form is
    checked then (unused_key_warnings says it does nothing), not whether it fits beside
    localPort."""
    key = "localMirrorPort"
    value = _text(raw, key)
    if value is None or value == "0":
        if local_port < 65535:
            return local_port + 1
        if mirror:
            raise SettingsError(
                key, value, "is unset and localPort + 1 is beyond 65535: set localMirrorPort"
            )
        return local_port  # never published: nothing listens on it without the mirror
    port = _int(raw, key, 0, 1, 65535)
    if port == local_port and mirror:
        raise SettingsError(key, value, f"is the registry's own port (localPort {local_port})")
    return port


def _vault_of(uri: str) -> str:
    """The vault name of a Key Vault secret URI that _KEY_VAULT_SECRET accepted."""
    found = _KEY_VAULT_SECRET.fullmatch(uri)
    assert found is not None
    return found[1]


def _acr_key_vault_id(
    raw: Mapping[str, str | None], username_uri: str | None, password_uri: str | None, stack: str
) -> str | None:
    """The vault the credential set reads both secrets from, as an ARM resource ID: required
    with the secret URIs (the stack grants the set's identity Key Vault Secrets User there, so
    the first `up` needs no manual step), refused without them, and naming the vault the URIs
    name. Key Vault names are DNS labels, so they are compared without regard to case."""
    key = "acrDockerHubKeyVaultId"
    value = _matching(
        raw,
        key,
        _KEY_VAULT_ID,
        "is not the resource ID of a Key Vault (/subscriptions/<subscription id>/resourceGroups/"
        "<group>/providers/Microsoft.KeyVault/vaults/<vault>; `az keyvault show -n <vault> "
        "--query id -o tsv` prints it)",
    )
    if username_uri is None or password_uri is None:
        if value is not None:
            raise SettingsError(
                key,
                value,
                "is set without acrDockerHubUsernameSecretUri and acrDockerHubPasswordSecretUri: "
                "it names the vault of the ACR credential set's secrets; set both URIs, or unset "
                "it",
            )
        return None
    user_vault, password_vault = _vault_of(username_uri), _vault_of(password_uri)
    if user_vault.lower() != password_vault.lower():
        raise SettingsError(
            "acrDockerHubPasswordSecretUri",
            password_uri,
            f"is in vault {password_vault!r}, the user name secret in {user_vault!r}: keep both "
            "in one vault, where the credential set's identity is granted Key Vault Secrets User",
        )
    if value is None:
        raise SettingsError(
            key,
            None,
            f"is not set: the ACR credential set's identity is granted Key Vault Secrets User on "
            f"the vault {user_vault!r} of the secret URIs; run `./up.sh --stack {stack} --config "
            f'{key} "$(az keyvault show -n {user_vault} --query id -o tsv)"`',
        )
    found = _KEY_VAULT_ID.fullmatch(value)
    assert found is not None
    if found[1].lower() != user_vault.lower():
        raise SettingsError(
            key,
            value,
            f"names the vault {found[1]!r}, but the secret URIs are in {user_vault!r}: the "
            "credential set's identity must be granted read on the vault that holds them",
        )
    return value


def _mirror(
    raw: Mapping[str, str | None],
    secrets: Mapping[str, pulumi.Output[str]],
    local_port: int,
    stack: str,
) -> MirrorSettings:
    """The mirror keys; upstream credentials come in pairs, and the token only as a secret."""
    enabled = _bool(raw, "mirror", False)
    username_uri = _matching(
        raw,
        "acrDockerHubUsernameSecretUri",
        _KEY_VAULT_SECRET,
        "is not a Key Vault secret URI (https://<vault>.vault.azure.net/secrets/<name>[/<version>])",
    )
    password_uri = _matching(
        raw,
        "acrDockerHubPasswordSecretUri",
        _KEY_VAULT_SECRET,
        "is not a Key Vault secret URI (https://<vault>.vault.azure.net/secrets/<name>[/<version>])",
    )
    if (username_uri is None) != (password_uri is None):
        missing = (
            "acrDockerHubPasswordSecretUri"
            if password_uri is None
            else ("acrDockerHubUsernameSecretUri")
        )
        raise SettingsError(missing, None, "is not set: ACR credential sets need both secret URIs")
    key_vault_id = _acr_key_vault_id(raw, username_uri, password_uri, stack)
    user = _matching(
        raw,
        "dockerHubUser",
        _DOCKER_HUB_USER,
        "is not a Docker Hub user name: 4 to 30 lowercase letters and digits",
    )
    secret_version = _matching(
        raw,
        "gcpDockerHubPasswordSecretVersion",
        _SECRET_VERSION,
        "is not a Secret Manager secret version "
        "(projects/<project>/secrets/<secret>/versions/<number or latest>)",
    )
    token = _secret(raw, "dockerHubToken", secrets, stack)
    if user is None and (token is not None or secret_version is not None):
        raise SettingsError(
            "dockerHubUser", None, "is not set: Docker Hub credentials need the user name too"
        )
    if user is not None and token is None and secret_version is None:
        set_token = in_stack_shell(
            stack, f"pulumi config set --secret dockerHubToken --stack {stack}"
        )
        raise SettingsError(
            "dockerHubToken",
            None,
            f"is not set while dockerHubUser is: set it (local) at a hidden prompt with "
            f"`{set_token}`, or set gcpDockerHubPasswordSecretVersion (gcp)",
        )
    return MirrorSettings(
        enabled=enabled,
        repositories=_mirror_repositories(raw),
        docker_hub_secret_arn=_matching(
            raw,
            "dockerHubCredentialsSecretArn",
            _PULL_THROUGH_SECRET,
            "is not the ARN of a Secrets Manager secret named ecr-pullthroughcache/... "
            "(ECR pull-through cache only reads secrets with that prefix)",
        ),
        acr_username_secret_uri=username_uri,
        acr_password_secret_uri=password_uri,
        acr_key_vault_id=key_vault_id,
        gcp_password_secret_version=secret_version,
        docker_hub_user=user,
        docker_hub_token=token,
        local_port=_local_mirror_port(raw, local_port, enabled),
    )


# Settings are compared as a gcp stack's, the one target under which every project key's value
# lands in Settings (gcpLocation included); the stand-in provider values go nowhere else.
_COMPARE_AS: dict[str, str | None] = {
    "cloud": "gcp",
    "gcp:project": "stand-in-project",
    "gcp:region": "us-central1",
}


def in_stack_shell(stack: str, command: str) -> str:
    """`command`, a pulumi command on `stack`, in a form that works as printed in a new shell:
    behind the export lines of `./up.sh --env` (the stack's backend and passphrase; without them
    pulumi goes to its default backend, a Pulumi Cloud login). Issue 17 item 3."""
    return f'eval "$(./up.sh --stack {stack} --env)" && {command}'


def _differs_from_default(key: str, value: str) -> bool:
    """Whether `value` means something else than `key`'s default. Pulumi copies every default of
    Pulumi.yaml into the stack's config (mergeConfig in pkg/workspace/config.go of pulumi/pulumi),
    so a value equal to the default may be nobody's choice and is no reason to warn."""
    try:
        return _parse({**_COMPARE_AS, key: value}) != _parse(_COMPARE_AS)
    except SettingsError:
        return True


def unused_key_warnings(
    raw: Mapping[str, str | None], cloud: Cloud, stack: str, *, mirror: bool
) -> tuple[str, ...]:
    """A warning for each project key set to something other than its default although it has
    no effect on `cloud`, or no effect without the mirror (`mirror`: whether it is on)."""
    warnings: list[str] = []
    for key, targets in KEY_TARGETS.items():
        value = _text(raw, key)
        if value is None or (cloud in targets and (mirror or key not in MIRROR_KEYS)):
            continue
        if not _differs_from_default(key, value):
            continue
        if cloud not in targets:
            why = f"on the {cloud} target (it applies to {', '.join(targets)})"
        else:
            why = (
                f"without the mirror (`./up.sh --stack {shlex.quote(stack)} --config mirror true`)"
            )
        warnings.append(
            f"{key} has no effect {why}; "
            f"`{in_stack_shell(stack, f'pulumi config rm {key} --stack {stack}')}` "
            "removes it"
        )
    return tuple(warnings)


def unknown_key_warnings(set_keys: Collection[str], stack: str) -> tuple[str, ...]:
    """A warning for each key of this project's namespace that the program does not read, with
    the known key closest to it (a typo such as `cloudd` would otherwise deploy the default).

    A warning, not an error: the stack's config may come from a newer or older version of this
    program (a branch that adds or renames a key) or from an ESC environment, and refusing
    the key would stop those stacks altogether, while the warning shows on every `pulumi up`
    and preview."""
    known = {_fold(key): key for key in PROJECT_KEYS}
    warnings: list[str] = []
    for key in sorted(set(set_keys) - set(PROJECT_KEYS)):
        close = difflib.get_close_matches(_fold(key), known, n=1)
        hint = f"did you mean `{known[close[0]]}`?" if close else "README.md lists every key;"
        warnings.append(
            f"{key} is not a setting of this program: {hint} "
            f"`{in_stack_shell(stack, f'pulumi config rm {shlex.quote(key)} --stack {stack}')}` "
            "removes it"
        )
    return tuple(warnings)


def parse_settings(
    raw: Mapping[str, str | None],
    *,
    project: str = "container-registry",
    stack: str = "dev",
    secrets: Mapping[str, pulumi.Output[str]] | None = None,
    set_keys: Collection[str] = (),
) -> Settings:
    """Turn raw config strings into Settings, or raise SettingsError naming the first bad key.

    Every project key is checked whichever cloud is chosen, so a typo never waits for the day
    someone switches targets; provider keys are required only by the target that needs them.
    `set_keys` are the keys of the project's namespace the stack sets (read_project_keys).
    A key the program does not know, and one that has no effect on the chosen target, are
    reported in `Settings.warnings`.
    """
    settings = _parse(raw, project=project, stack=stack, secrets=secrets)
    warnings = (
        *unknown_key_warnings(set_keys, stack),
        *unused_key_warnings(raw, settings.cloud, stack, mirror=settings.mirror.enabled),
        *ci_warnings(settings.ci, stack),
    )
    return replace(settings, warnings=warnings)


def _parse(
    raw: Mapping[str, str | None],
    *,
    project: str = "container-registry",
    stack: str = "dev",
    secrets: Mapping[str, pulumi.Output[str]] | None = None,
) -> Settings:
    """parse_settings without the warnings."""
    cloud = cast(Cloud, _choice(raw, "cloud", CLOUDS, "local"))
    gcp_location = _matching(raw, "gcpLocation", _GCP_LOCATION, _GCP_LOCATION_ALLOWED)
    local_port = _int(raw, "localPort", 5000, 1, 65535)
    mirror = _mirror(raw, secrets or {}, local_port, stack)
    pull_principals = _pull_principals(raw, cloud, stack)
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
            pull_principals=pull_principals if cloud == "aws" else (),
            kms_key_arn=_matching(
                raw,
                "ecrKmsKeyArn",
                _KMS_KEY,
                "is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); an alias ARN "
                "is refused because ECR reports the key ARN back and would replace the "
                "repository on every update",
            ),
            oidc_provider_arn=_matching(
                raw,
                "awsOidcProviderArn",
                _GITHUB_OIDC_PROVIDER,
                "is not the ARN of an IAM OIDC provider for GitHub Actions (arn:aws:iam::"
                "<12-digit account>:oidc-provider/token.actions.githubusercontent.com)",
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
            pull_principals=pull_principals if cloud == "azure" else (),
        ),
        gcp=_gcp(raw, gcp_location, pull_principals, stack) if cloud == "gcp" else None,
        local=LocalSettings(
            port=local_port,
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
        mirror=mirror,
        ci=_ci(raw, cloud, stack),
        project=project,
        stack=stack,
    )
    if cloud == "azure":
        require_azure_location(settings.azure, stack)
    return settings


def read_config() -> dict[str, str | None]:
    """Read every key this program uses, as raw strings; nothing is validated here."""
    config = pulumi.Config()
    raw: dict[str, str | None] = {
        key: config.get(key) for key in PROJECT_KEYS if key not in SECRET_KEYS
    }
    for key in SECRET_KEYS:
        raw[key] = _secret_state(config, key)
    for qualified, env_vars in PROVIDER_KEYS.items():
        namespace, key = qualified.split(":")
        value = pulumi.Config(namespace).get(key)
        if not value:
            value = next((os.environ[v] for v in env_vars if os.environ.get(v)), None)
        raw[qualified] = value
    return raw


def read_project_keys() -> tuple[str, ...]:
    """Every key of this project's namespace the stack sets, known to the program or not; names
    only, never a value (a key the program does not know may hold a secret).

    The language host hands the whole config to the program as JSON in PULUMI_CONFIG
    (pulumiConfigVar in sdk/python/cmd/pulumi-language-python/main.go of pulumi/pulumi), and the
    exec shim (sdk/python/cmd/pulumi-language-python-exec) loads it into the SDK's config map
    with set_all_config(get_config_env(), ...), pulumi/runtime/config.py's CONFIG, which is
    also where the mocks' set_all_config puts it. Keys there are `<project>:<key>`.
    """
    prefix = f"{pulumi.Config().name}:"
    passed = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    return tuple(sorted(key.removeprefix(prefix) for key in passed if key.startswith(prefix)))


def _secret_state(config: pulumi.Config, key: str) -> str | None:
    """Whether a secret key is set, and how (SECRET_SET or PLAINTEXT_SET); never its value.

    The engine passes the names of the stack's encrypted keys to the program, and the SDK keeps
    them (pulumi/runtime/config.py: is_config_secret, filled from PULUMI_CONFIG_SECRET_KEYS by
    the language host's pulumi-language-python-exec).
    """
    if not config.get(key):
        return None
    secret = pulumi.runtime.is_config_secret(config.full_key(key))
    return SECRET_SET if secret else PLAINTEXT_SET


def read_secrets() -> dict[str, pulumi.Output[str]]:
    """The secret keys that are set, each as a Pulumi secret Output."""
    config = pulumi.Config()
    found = {key: config.get_secret(key) for key in SECRET_KEYS}
    return {key: value for key, value in found.items() if value is not None}


def load_settings() -> Settings:
    """The settings of the running stack; raises SettingsError before anything is created, and
    warns (`pulumi up` shows it) about each key it does not know or that has no effect."""
    settings = parse_settings(
        read_config(),
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        secrets=read_secrets(),
        set_keys=read_project_keys(),
    )
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    return settings
