"""AcrRegistryArgs checked (no SDK here): ACR's repository naming rule, the SKU, the
resource group and location, the pull principals as Entra object IDs, the mirror's
repositories and its Key Vault secrets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from container_registry.args import DEFAULTS
from container_registry.azure.args import AcrRegistryArgs, AcrSku
from container_registry.ci_input import resolve_ci
from container_registry.errors import ArgumentError
from container_registry.mirror import enabled as mirror_enabled
from container_registry.mirror import repositories as mirror_repositories
from container_registry.naming import (
    DISTRIBUTION_REPO,
    choice,
    optional_text,
    repository_name,
)
from container_registry.options import MirrorOptions, ServiceOptions
from container_registry.principals import pull_principals
from container_registry.service import common_options

SKUS: tuple[str, ...] = tuple(sku.value for sku in AcrSku)
REPOSITORY_RULE = (
    "is not a valid ACR repository name: up to 256 characters, lowercase letters and digits "
    "joined by '.', '_' or '-', optionally separated by '/'"
)
RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
LOCATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ]{0,38}[A-Za-z0-9]")
# An Entra object ID, optionally prefixed with its principal type (role assignments must name
# it, and a wrong one is refused); a bare ID means a service principal or managed identity.
ENTRA_PRINCIPAL_TYPES: tuple[str, ...] = ("ServicePrincipal", "User", "Group")
ENTRA_OBJECT_ID = re.compile(
    r"(?:(?:ServicePrincipal|User|Group):)?"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
PRINCIPAL_RULE = (
    "is not a Microsoft Entra object ID (a GUID such as "
    "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f, optionally prefixed with User:, Group: or "
    "ServicePrincipal:, the default); '*' is never allowed"
)
# A Key Vault name: 3 to 24 letters, digits and hyphens, starting with a letter.
_KEY_VAULT_NAME = r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]"
# A Key Vault secret URI, with or without its 32-hex-digit version; group 1 is the vault.
KEY_VAULT_SECRET = re.compile(
    rf"https://({_KEY_VAULT_NAME})\.vault\."
    r"(?:azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)"
    r"/secrets/[A-Za-z0-9-]{1,127}(?:/[0-9a-f]{32})?"
)
SECRET_URI_RULE = (
    "is not a Key Vault secret URI (https://<vault>.vault.azure.net/secrets/<name>[/<version>])"
)
# A Key Vault's ARM resource ID, as `az keyvault show --query id` prints it. ARM compares the
# fixed segments without regard to case; group 1 is the vault's name.
KEY_VAULT_ID = re.compile(
    r"/(?i:subscriptions)/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}/(?i:resourceGroups)/[-\w.()]{0,89}[-\w()]"
    rf"/(?i:providers/Microsoft\.KeyVault/vaults)/({_KEY_VAULT_NAME})"
)

# What a registry name cannot hold; registry.py strips it from the name's readable part.
NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


def check_registry_name_source(repository_name: str) -> None:
    """Refuse, before anything is created, a repository name that cannot name a registry."""
    if not NOT_ALPHANUMERIC.sub("", repository_name.lower()):
        raise ArgumentError(
            "repository_name", repository_name, "has no letters or digits to name a registry with"
        )


# Regions where a user-assigned managed identity cannot hold a federated identity credential:
# Microsoft Learn, "Important considerations and restrictions for federated identity credentials"
# (entra/workload-id/workload-identity-federation-considerations), "Unsupported regions
# (user-assigned managed identities)": Malaysia South and New Zealand North. There Azure answers
# the credential's PUT with HTTP 405, "The request format was unexpected: Support for federated
# identity credentials not enabled." (the same page, "Errors"). The ./up.sh CLI gives that 405,
# which reaches only the engine's output, the same message as a location refused here
# (stack/cli/engine_errors.py, federation_refused_lines).
FEDERATION_UNSUPPORTED_LOCATIONS: tuple[str, ...] = ("malaysiasouth", "newzealandnorth")
# That 405's message, wherever the provider's error puts it: Azure has been seen to write
# "unexpected : Support" as well as the page's "unexpected: Support", so only the words count.
FEDERATION_NOT_ENABLED = re.compile(
    r"Support\s+for\s+federated\s+identity\s+credentials\s+not\s+enabled", re.IGNORECASE
)
FEDERATION_UNSUPPORTED_RULE = (
    "cannot hold the CI identity's federated credential: Microsoft does not support federated "
    "identity credentials on user-assigned managed identities there (Azure answers HTTP 405 "
    "'Support for federated identity credentials not enabled'; the Entra docs' workload identity "
    "federation considerations list Malaysia South and New Zealand North); choose another "
    "location, or unset ci.repository"
)


def location_name(location: str) -> str:
    """An Azure location as ARM names it: `New Zealand North` and `newzealandnorth` are one."""
    return location.replace(" ", "").lower()


def require_federation_region(location: str | None) -> None:
    """The CI identity lives in the registry's location; where Entra cannot federate a
    user-assigned identity, stop before anything is created rather than at the credential."""
    if location is None or location_name(location) not in FEDERATION_UNSUPPORTED_LOCATIONS:
        return
    raise ArgumentError("location", location, FEDERATION_UNSUPPORTED_RULE)


def entra_principal(item: str) -> str:
    """`Type:object-id` with the ID in lowercase; a bare ID becomes a ServicePrincipal."""
    kind, _, object_id = item.rpartition(":")
    return f"{kind or 'ServicePrincipal'}:{object_id.lower()}"


def vault_of(uri: str) -> str:
    """The vault name of a Key Vault secret URI that KEY_VAULT_SECRET accepted."""
    found = KEY_VAULT_SECRET.fullmatch(uri)
    assert found is not None
    return found[1]


def _credential_set(azure: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(username URI, password URI, vault ID): both URIs or neither, in one vault, and the
    vault's resource ID with them (the stack grants the set's identity read there)."""
    username = optional_text(
        azure,
        "docker_hub_username_secret_uri",
        "mirror.docker_hub_username_secret_uri",
        KEY_VAULT_SECRET,
        SECRET_URI_RULE,
    )
    password = optional_text(
        azure,
        "docker_hub_password_secret_uri",
        "mirror.docker_hub_password_secret_uri",
        KEY_VAULT_SECRET,
        SECRET_URI_RULE,
    )
    if (username is None) != (password is None):
        missing = "password" if password is None else "username"
        raise ArgumentError(
            f"mirror.docker_hub_{missing}_secret_uri",
            None,
            "is not set: ACR credential sets need both secret URIs",
        )
    path = "mirror.docker_hub_key_vault_id"
    vault_id = optional_text(
        azure,
        "docker_hub_key_vault_id",
        path,
        KEY_VAULT_ID,
        "is not the resource ID of a Key Vault (/subscriptions/<subscription id>/resourceGroups/"
        "<group>/providers/Microsoft.KeyVault/vaults/<vault>)",
    )
    if username is None or password is None:
        if vault_id is not None:
            raise ArgumentError(
                path,
                vault_id,
                "is set without the Docker Hub secret URIs: it names the vault of the ACR "
                "credential set's secrets; set both URIs, or unset it",
            )
        return None, None, None
    user_vault, password_vault = vault_of(username), vault_of(password)
    if user_vault.lower() != password_vault.lower():
        raise ArgumentError(
            "mirror.docker_hub_password_secret_uri",
            password,
            f"is in vault {password_vault!r}, the user name secret in {user_vault!r}: keep both "
            "in one vault, where the credential set's identity is granted Key Vault Secrets User",
        )
    if vault_id is None:
        raise ArgumentError(
            path,
            None,
            f"is not set: the ACR credential set's identity is granted Key Vault Secrets User on "
            f"the vault {user_vault!r} of the secret URIs",
        )
    found = KEY_VAULT_ID.fullmatch(vault_id)
    assert found is not None
    if found[1].lower() != user_vault.lower():
        raise ArgumentError(
            path,
            vault_id,
            f"names the vault {found[1]!r}, but the secret URIs are in {user_vault!r}: the "
            "credential set's identity must be granted read on the vault that holds them",
        )
    return username, password, vault_id


@dataclass(frozen=True, kw_only=True)
class AcrMirrorOptions(MirrorOptions):
    repositories: tuple[str, ...] = ("*",)
    """The docker.io/library repositories ACR caches, or ("*",) for one wildcard rule."""
    docker_hub_username_secret_uri: str | None = None
    docker_hub_password_secret_uri: str | None = None
    docker_hub_key_vault_id: str | None = None
    """The vault holding both secrets, where the credential set's identity is granted Key Vault
    Secrets User."""


@dataclass(frozen=True, kw_only=True)
class AcrOptions(ServiceOptions):
    """AcrRegistryArgs as checked."""

    mirror: AcrMirrorOptions = field(default_factory=AcrMirrorOptions)
    sku: str = str(DEFAULTS["azure.sku"])
    resource_group: str | None = None
    location: str | None = None
    pull_principals: tuple[str, ...] = ()
    """`<principal type>:<Entra object ID>` of each principal granted AcrPull."""


def resolve(args: AcrRegistryArgs) -> AcrOptions:
    """Every AcrRegistryArgs value checked, once, before anything is registered."""
    common = common_options(args, AcrRegistryArgs)
    sku_value = args.get("sku", DEFAULTS["azure.sku"])
    sku = choice(sku_value, SKUS) if isinstance(sku_value, str) else None
    if sku is None:
        raise ArgumentError("sku", sku_value, f"is not one of {', '.join(SKUS)}")
    group = optional_text(
        args,
        "resource_group",
        "resource_group",
        RESOURCE_GROUP,
        "is not an Azure resource group name: 1 to 90 letters, digits, '_', '-', '.', "
        "'(' or ')', not ending with '.'",
    )
    location = optional_text(
        args, "location", "location", LOCATION, "is not an Azure location such as westeurope"
    )
    mirror: Mapping[str, Any] = args.get("mirror") or {}
    repositories = mirror_repositories(mirror.get("repositories"))
    username, password, vault_id = _credential_set(mirror)
    name = repository_name(
        common.pop("repository_name"),
        "repository_name",
        DISTRIBUTION_REPO,
        1,
        256,
        REPOSITORY_RULE,
    )
    check_registry_name_source(name)
    principals = pull_principals(
        args.get("pull_principals"), ENTRA_OBJECT_ID, "Entra object IDs", PRINCIPAL_RULE
    )
    ci = resolve_ci(args.get("ci"), "azure")
    if ci is not None:
        require_federation_region(location)
    if group is None and location is None:
        raise ArgumentError(
            "location",
            None,
            "is required unless resource_group names an existing group: the Azure region, "
            "such as westeurope",
        )
    return AcrOptions(
        **common,
        repository_name=name,
        sku=sku,
        resource_group=group,
        location=location,
        pull_principals=tuple(dict.fromkeys(entra_principal(p) for p in principals)),
        mirror=AcrMirrorOptions(
            enabled=mirror_enabled(mirror),
            repositories=repositories,
            docker_hub_username_secret_uri=username,
            docker_hub_password_secret_uri=password,
            docker_hub_key_vault_id=vault_id,
        ),
        ci=ci,
    )
