"""Azure Container Registry and Azure RBAC: the registry, its cleanup, the role assignments on it
and on the mirror's Key Vault, and the federated credential keyless CI push signs in with."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

# The program's own values, taken from SDK-free modules of its package (container_registry) in
# this one place: the pack's virtualenv installs no cloud SDK (policy/requirements.txt).
from container_registry.azure.options import SKUS as ACR_SKUS
from container_registry.azure.roles import (
    ACR_PULL_ROLE,
    ACR_PUSH_ROLE,
    KEY_VAULT_SECRETS_USER_ROLE,
)
from policy.common import (
    NO_CONTROL,
    ByType,
    Config,
    Props,
    StackResource,
    get,
    is_true,
    items,
    rule,
    stack_rule,
)

ACR_REGISTRY = "azure-native:containerregistry:Registry"
ACR_TASK = "azure-native:containerregistry:Task"
AZURE_FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
AZURE_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"

DEFAULT_ACR_SKUS: tuple[str, ...] = ACR_SKUS
# Built-in ACR roles (role definition GUIDs are the same in every tenant; compared lowercase):
# the program's AcrPush and AcrPull, and AcrDelete, AcrImageSigner, AcrQuarantineReader and
# AcrQuarantineWriter, which it never grants
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers).
ACR_ROLE_IDS: tuple[str, ...] = tuple(
    role.lower()
    for role in (
        ACR_PUSH_ROLE,
        ACR_PULL_ROLE,
        "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
        "6cef56e8-d556-48e5-a04f-b8e64114680f",
        "cdda3590-29a3-44f6-95f2-9f980659eb04",
        "c8d4ff99-41c3-41a8-9f60-21dfdad59608",
    )
)
# Built-in roles that read Key Vault secret values, the same GUIDs in every tenant
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security): the
# program's Key Vault Secrets User, and Key Vault Secrets Officer and Key Vault Administrator.
KEY_VAULT_SECRET_ROLE_IDS: tuple[str, ...] = tuple(
    role.lower()
    for role in (
        KEY_VAULT_SECRETS_USER_ROLE,
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    )
)
_REGISTRY_SCOPE = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.ContainerRegistry/registries/[^/]+",
    re.IGNORECASE,
)
# One vault, or one secret in it: never the vault's group, subscription or above.
_KEY_VAULT_SCOPE = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+"
    r"(?:/secrets/[^/]+)?",
    re.IGNORECASE,
)
# ACR's role assignment permissions mode (Microsoft Learn, "Azure ABAC repository permissions in
# Azure Container Registry", container-registry-rbac-abac-repository-permissions): in
# `AbacRepositoryPermissions` (the CLI's `rbac-abac`) AcrPush, AcrPull and AcrDelete "are not
# honored", and ACR Tasks (the purge task) lose their default data-plane access; Microsoft says
# it will become the default for new registries. `LegacyRegistryPermissions` is classic RBAC.
# The program sets no mode (container_registry/azure/registry.py says why): this value is the
# policy's own.
ACR_CLASSIC_RBAC_MODE = "LegacyRegistryPermissions"
# `acr purge` (the task runner's alias) or `<registry>/acr/acr-cli[:tag][@digest] purge` (pinned).
_PURGE = re.compile(r"(?:\bacr|/acr-cli(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?)\s+purge\b")


# --------------------------------------------------------------------------- the registry


@rule(
    "acr-anonymous-pull-disabled",
    types=(ACR_REGISTRY,),
    description="ACR registries refuse anonymous pulls (checkov CKV_AZURE_138).",
    controls=("CKV_AZURE_138",),
)
def acr_anonymous_pull_disabled(resource_type: str, props: Props, config: Config) -> list[str]:
    value = props.get("anonymousPullEnabled")
    if is_true(value):
        return [f"anonymousPullEnabled is {value!r}; it must be false"]
    return []


def _role_id(props: Props) -> str | None:
    """The GUID of a role assignment's role definition (the last segment of its ID)."""
    role = props.get("roleDefinitionId")
    return role.rsplit("/", 1)[-1].lower() if isinstance(role, str) else None


@rule(
    "key-vault-role-assignment-scoped",
    types=(AZURE_ROLE_ASSIGNMENT,),
    description="Role assignments of a role that reads Key Vault secrets (Key Vault Secrets User, "
    "Secrets Officer, Administrator) are scoped to one vault, not its resource group or "
    "subscription. " + NO_CONTROL,
)
def key_vault_role_assignment_scoped(resource_type: str, props: Props, config: Config) -> list[str]:
    """A role that reads secret values (the mirror's ACR credential set gets Key Vault Secrets
    User) is granted on one vault, never on the group or subscription, where it would read every
    vault's secrets."""
    if _role_id(props) not in KEY_VAULT_SECRET_ROLE_IDS:
        return []
    scope = props.get("scope")
    if not isinstance(scope, str) or not _KEY_VAULT_SCOPE.fullmatch(scope):
        return [f"scope is {scope!r}; a Key Vault secrets role must be scoped to one vault"]
    return []


@rule(
    "acr-classic-rbac",
    types=(ACR_REGISTRY,),
    description="ACR registries keep classic RBAC (roleAssignmentMode LegacyRegistryPermissions "
    "or unset): ABAC-enabled registries honour neither AcrPush/AcrPull nor ACR Tasks' access. "
    + NO_CONTROL,
)
def acr_classic_rbac(resource_type: str, props: Props, config: Config) -> list[str]:
    """The stack grants AcrPush and AcrPull and runs a purge task: a registry in ABAC mode would
    honour none of them, so any mode but classic RBAC is refused (an unset mode is what the SDK
    in use sends: pulumi-azure-native 3.x's Registry has no roleAssignmentMode input)."""
    mode = props.get("roleAssignmentMode")
    if mode is None or (isinstance(mode, str) and mode.lower() == ACR_CLASSIC_RBAC_MODE.lower()):
        return []
    return [
        f"roleAssignmentMode is {mode!r}; it must be {ACR_CLASSIC_RBAC_MODE} (classic RBAC): "
        "ABAC-enabled registries do not honour AcrPush, AcrPull or the purge task's access"
    ]


@rule(
    "acr-sku-allowed",
    types=(ACR_REGISTRY,),
    description="ACR registries use an allowed SKU (policy config allowedSkus; default Basic, "
    "Standard, Premium). " + NO_CONTROL,
    config_properties={
        "allowedSkus": {
            "type": "array",
            "items": {"type": "string", "enum": list(DEFAULT_ACR_SKUS)},
            "default": list(DEFAULT_ACR_SKUS),
        }
    },
)
def acr_sku_allowed(resource_type: str, props: Props, config: Config) -> list[str]:
    allowed = [s for s in items(config.get("allowedSkus")) if isinstance(s, str)] or list(
        DEFAULT_ACR_SKUS
    )
    value = get(props, "sku", "name")
    if value not in allowed:
        return [f"sku.name is {value!r}; it must be one of {', '.join(allowed)}"]
    return []


# --------------------------------------------------------------------------- untagged cleanup


def _decoded_task(step: Any) -> str:
    """The task YAML of an EncodedTask step ('' for other steps: their file is not visible)."""
    content = get(step, "encodedTaskContent")
    if not isinstance(content, str):
        return ""
    try:
        return base64.b64decode(content, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def runs_untagged_purge(step: Any) -> bool:
    """True if an EncodedTask step runs `acr purge ... --untagged` (in one command)."""
    text = _decoded_task(step)
    for match in _PURGE.finditer(text):
        command = re.split(r"\bcmd\s*:", text[match.end() :], maxsplit=1)[0]
        if re.search(r"--untagged\b", command):
            return True
    return False


def _scheduled(task: Props) -> bool:
    if get(task, "status") == "Disabled":
        return False
    timers = items(get(task, "trigger", "timerTriggers"))
    return any(get(timer, "status") != "Disabled" and get(timer, "schedule") for timer in timers)


@stack_rule(
    "acr-untagged-cleanup",
    types=(ACR_REGISTRY, ACR_TASK),
    description="Every ACR registry cleans up untagged manifests, by retention policy or a "
    "scheduled `acr purge --untagged` task (checkov CKV_AZURE_167).",
    controls=("CKV_AZURE_167",),
)
def acr_untagged_cleanup(by_type: ByType, config: Config) -> list[tuple[str, str | None]]:
    """Every registry cleans up untagged manifests: a retention policy, or a scheduled ACR Task
    that runs `acr purge --untagged` against it."""
    purging: list[StackResource] = [
        task
        for task in by_type[ACR_TASK]
        if _scheduled(task.props) and runs_untagged_purge(task.props.get("step"))
    ]
    violations: list[tuple[str, str | None]] = []
    for registry in by_type[ACR_REGISTRY]:
        if get(registry.props, "policies", "retentionPolicy", "status") == "enabled":
            continue
        # Outputs of azure-native keep `name`, not always the `registryName` path parameter; a
        # task that takes its registryName from the registry also depends on it.
        names = {registry.props.get("registryName"), registry.props.get("name")} - {None}
        if any(
            task.props.get("registryName") in names
            or registry.urn in {getattr(d, "urn", d) for d in task.dependencies}
            for task in purging
        ):
            continue
        violations.append(
            (
                f"ACR registry {sorted(map(str, names))} has neither "
                "policies.retentionPolicy.status 'enabled' nor a scheduled ACR Task running "
                "`acr purge --untagged` against it",
                registry.urn,
            )
        )
    return violations


# --------------------------------------------------------------------------- keyless CI push


@rule(
    "azure-federated-credential-no-wildcard",
    types=(AZURE_FEDERATED_CREDENTIAL,),
    description="Azure federated identity credentials name one exact subject, no wildcard. "
    + NO_CONTROL,
)
def azure_federated_subject_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    subject = props.get("subject")
    if not isinstance(subject, str) or not subject or "*" in subject or "?" in subject:
        return [f"subject is {subject!r}; it must be one exact subject, with no wildcard"]
    return []


@rule(
    "acr-role-assignment-scoped",
    types=(AZURE_ROLE_ASSIGNMENT,),
    description="ACR role assignments (AcrPush, AcrPull, AcrDelete, AcrImageSigner, "
    "AcrQuarantine*) are scoped to a registry, not its resource group or subscription. "
    + NO_CONTROL,
)
def acr_role_assignment_scoped(resource_type: str, props: Props, config: Config) -> list[str]:
    """ACR roles are granted on a registry, never on its group, subscription or above."""
    if _role_id(props) not in ACR_ROLE_IDS:
        return []
    scope = props.get("scope")
    if not isinstance(scope, str) or not _REGISTRY_SCOPE.fullmatch(scope):
        return [f"scope is {scope!r}; an ACR role must be scoped to one registry"]
    return []
