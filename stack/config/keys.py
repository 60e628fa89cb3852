"""The stack's config keys: which exist, which targets each has an effect on, which property of
the Args each becomes (PATH_KEYS), and the one place that reads them from Pulumi's config.

`read_config` is the only place that touches `pulumi.Config` or the environment; everything after
it (stack/config/parse.py) is a pure function over strings, so tests (and hypothesis) can feed it
anything a user could type.
"""

from __future__ import annotations

import os

import pulumi

from container_registry import Cloud

CLOUDS: tuple[str, ...] = tuple(cloud.value for cloud in Cloud)
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
    "ecrArchiveUnpulledDays",
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
KEY_TARGETS: dict[str, tuple[str, ...]] = {
    "cloud": CLOUDS,
    "repositoryName": CLOUDS,
    "imageTag": CLOUDS,
    "platform": CLOUDS,
    # The local registry's retention runs after each `./up.sh` (container_registry/local/
    # retention.py); ACR has no registry-wide tag immutability.
    "untaggedExpiryDays": CLOUDS,
    "keepTaggedImages": CLOUDS,
    "immutableTags": ("aws", "gcp"),
    "forceDelete": CLOUDS,
    "pullPrincipals": ("aws", "azure", "gcp"),
    "ecrKmsKeyArn": ("aws",),
    "ecrArchiveUnpulledDays": ("aws",),
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

# Which config key each property path of the Args comes from: the stack program re-raises a
# component's InputPropertyError naming the key (stack/config/errors.py). Paths of RegistryArgs,
# and `image.*` for RegistryImageArgs. `gcp.location` comes from gcpLocation, else gcp:region
# (errors.config_key decides).
PATH_KEYS: dict[str, str] = {
    "cloud": "cloud",
    "repository_name": "repositoryName",
    "immutable_tags": "immutableTags",
    "force_delete": "forceDelete",
    "lifecycle.untagged_expiry_days": "untaggedExpiryDays",
    "lifecycle.keep_tagged_images": "keepTaggedImages",
    "pull_principals": "pullPrincipals",
    "mirror.enabled": "mirror",
    "mirror.repositories": "mirrorRepositories",
    "mirror.docker_hub_user": "dockerHubUser",
    "mirror.docker_hub_token": "dockerHubToken",
    "ci.repository": "ciRepository",
    "ci.ref": "ciRef",
    "ci.environment": "ciEnvironment",
    "ci.subject_includes_ref": "ciSubjectIncludesRef",
    "ci.platform": "platform",
    "aws.kms_key_arn": "ecrKmsKeyArn",
    "aws.archive_unpulled_days": "ecrArchiveUnpulledDays",
    "aws.oidc_provider_arn": "awsOidcProviderArn",
    "aws.docker_hub_secret_arn": "dockerHubCredentialsSecretArn",
    "azure.sku": "acrSku",
    "azure.resource_group": "azureResourceGroup",
    "azure.location": "azure-native:location",
    "azure.docker_hub_username_secret_uri": "acrDockerHubUsernameSecretUri",
    "azure.docker_hub_password_secret_uri": "acrDockerHubPasswordSecretUri",
    "azure.docker_hub_key_vault_id": "acrDockerHubKeyVaultId",
    "gcp.project": "gcp:project",
    "gcp.location": "gcpLocation",
    "gcp.docker_hub_password_secret_version": "gcpDockerHubPasswordSecretVersion",
    "local.port": "localPort",
    "local.user": "localUser",
    "local.mirror_port": "localMirrorPort",
    "image.tag": "imageTag",
    "image.platform": "platform",
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
