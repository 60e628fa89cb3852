"""The Args of `AcrRegistry` (no SDK here): flat, the ACR options beside the shared ones.
`REGISTRY_PATHS` says where each comes from in `Registry`'s Args, where the path differs
(container_registry/switch.py)."""

from typing import TypedDict

from container_registry.args import AcrSku, CiPush, Lifecycle


class AcrMirror(TypedDict, total=False):
    """ACR cache rules for Docker Hub's official images, in the same registry (docs/mirror.md)."""

    enabled: bool
    """Create the cache rules and output their path as `mirror_endpoint`. Default false."""
    repositories: list[str]
    """The docker.io/library repositories to cache, one cache rule each, or `["*"]` for one
    wildcard rule. Default `["*"]`."""
    docker_hub_username_secret_uri: str
    """The Key Vault secret URI of a Docker Hub user name, for an ACR credential set; set with
    `docker_hub_password_secret_uri` and `docker_hub_key_vault_id`. Default: none, anonymous."""
    docker_hub_password_secret_uri: str
    """The Key Vault secret URI of a Docker Hub access token, in the same vault."""
    docker_hub_key_vault_id: str
    """The ARM resource ID of the Key Vault holding both secrets: the credential set's identity
    is granted Key Vault Secrets User there."""


class AcrRegistryArgs(TypedDict, total=False):
    """The inputs of `AcrRegistry`: an Azure Container Registry in its own (or a named) resource
    group, anonymous pull off, with a daily purge task."""

    sku: AcrSku
    """The registry SKU. Default Basic."""
    resource_group: str
    """An existing resource group to put the registry in. Default: none, a new resource group
    owned by this registry."""
    location: str
    """The Azure region, such as westeurope. Required unless `resource_group` is set (then the
    group's location)."""
    repository_name: str
    """The repository name: up to 256 characters, lowercase letters and digits joined by '.',
    '_' or '-', optionally separated by '/'. Default app."""
    force_delete: bool
    """Let a destroy delete the registry with the images stored in it. Default false: it is
    protected."""
    lifecycle: Lifecycle
    """What the registry deletes on its own (retention policy and purge task)."""
    pull_principals: list[str]
    """Entra object IDs granted AcrPull, optionally as User:/Group:/ServicePrincipal:<id> (a bare
    ID is a service principal). Default: nobody."""
    mirror: AcrMirror
    """Cache rules for Docker Hub's official images. Default: off."""
    ci: CiPush
    """Keyless push from GitHub Actions (a managed identity with a federated credential).
    Default: none."""


# AcrRegistryArgs path -> RegistryArgs path, where they differ.
REGISTRY_PATHS: dict[str, str] = {
    "sku": "azure.sku",
    "resource_group": "azure.resource_group",
    "location": "azure.location",
    "mirror.docker_hub_username_secret_uri": "azure.docker_hub_username_secret_uri",
    "mirror.docker_hub_password_secret_uri": "azure.docker_hub_password_secret_uri",
    "mirror.docker_hub_key_vault_id": "azure.docker_hub_key_vault_id",
}
