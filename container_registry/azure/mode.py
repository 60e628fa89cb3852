"""ACR's role assignment permissions mode, read before any AcrPush or AcrPull grant and the purge
task: in ABAC mode none of them works, so the component stops instead of creating them.

Why not an invoke: pulumi-azure-native 3.x cannot read the mode. Its Registry and getRegistry use
REST API 2023-01-01-preview, which has no roleAssignmentMode; and its generic
resources.getResource sends the module's own API version (2024-03-01, a Microsoft.Resources
version ACR refuses) whatever `api_version` says: for a GET invoke the provider calls
`azureClient.Get(ctx, id, res.APIVersion, nil)` and drops the query it built from the arguments
(`Invoke` in provider/pkg/provider/provider.go of pulumi/pulumi-azure-native). So the registry is
read from Azure Resource Manager directly, with a token the provider issues for the same
credentials (azure-native's getClientToken), at an API version that returns the property.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pulumi

# The first stable ACR REST API version whose RegistryProperties has roleAssignmentMode (enum
# AbacRepositoryPermissions | LegacyRegistryPermissions, default LegacyRegistryPermissions):
# Azure/azure-rest-api-specs, specification/containerregistry/resource-manager/
# Microsoft.ContainerRegistry/Registry/stable/2025-11-01/containerregistry.json, definition
# RegistryProperties (2025-04-01's RegistryProperties ends at anonymousPullEnabled).
ROLE_ASSIGNMENT_MODE_API_VERSION = "2025-11-01"
ABAC_MODE = "AbacRepositoryPermissions"
CLASSIC_MODE = "LegacyRegistryPermissions"
# Azure Resource Manager per cloud, found by the registry's login server suffix (Microsoft Learn,
# "Azure Container Registry" in Azure Government and Azure China).
ARM_BY_LOGIN_SUFFIX = {
    ".azurecr.io": "https://management.azure.com",
    ".azurecr.us": "https://management.usgovcloudapi.net",
    ".azurecr.cn": "https://management.chinacloudapi.cn",
}
TIMEOUT_SECONDS = 60


def arm_endpoint(login_server: str) -> str:
    """Azure Resource Manager of the cloud the registry lives in."""
    for suffix, endpoint in ARM_BY_LOGIN_SUFFIX.items():
        if login_server.lower().endswith(suffix):
            return endpoint
    raise pulumi.RunError(
        f"cannot tell which Azure cloud registry {login_server} is in, so its role assignment "
        f"mode cannot be read (known login server suffixes: {', '.join(ARM_BY_LOGIN_SUFFIX)})"
    )


def registry_url(login_server: str, registry_id: str) -> str:
    """The ARM GET of the registry at the API version that returns roleAssignmentMode."""
    return (
        f"{arm_endpoint(login_server)}{registry_id}?api-version={ROLE_ASSIGNMENT_MODE_API_VERSION}"
    )


def get_registry(url: str, token: str) -> dict[str, Any]:
    """GET the registry from ARM. Kept alone so tests can answer for Azure; the token goes in the
    Authorization header only, and no error message carries it."""
    request = urllib.request.Request(  # noqa: S310 (the URL is built from ARM_BY_LOGIN_SUFFIX)
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body = json.load(response)
    except urllib.error.HTTPError as err:
        detail = err.read(2000).decode("utf-8", "replace")
        raise pulumi.RunError(f"reading {url} failed: HTTP {err.code}: {detail}") from None
    except urllib.error.URLError as err:
        raise pulumi.RunError(f"reading {url} failed: {err.reason}") from None
    except (OSError, ValueError) as err:
        raise pulumi.RunError(f"reading {url} failed: {err}") from None
    if not isinstance(body, dict):
        raise pulumi.RunError(f"reading {url} gave no registry: {str(body)[:200]}")
    return body


def require_classic_rbac(registry: dict[str, Any], registry_name: str) -> None:
    """Stop when the registry is in ABAC mode. An absent mode is classic RBAC, the API's default."""
    mode = (registry.get("properties") or {}).get("roleAssignmentMode") or CLASSIC_MODE
    if str(mode).lower() == ABAC_MODE.lower():
        raise pulumi.RunError(
            f"registry {registry_name} has roleAssignmentMode {mode} (ABAC repository "
            "permissions): there Azure does not honour the AcrPush and AcrPull role assignments "
            "this component creates, and ACR Tasks (its daily purge task) lose their data-plane "
            f"access (Microsoft Learn, container-registry-rbac-abac-repository-permissions). Set "
            f"the registry's roleAssignmentMode to {CLASSIC_MODE} (RBAC Registry Permissions) "
            "and run again; nothing that depends on it was created."
        )


def checked_registry_name(
    registry_name: pulumi.Output[str],
    registry_id: pulumi.Output[str],
    login_server: pulumi.Output[str],
    token: pulumi.Output[str],
) -> pulumi.Output[str]:
    """The registry's name, resolved only after its mode was read and found to be classic RBAC;
    every AcrPush/AcrPull grant and the purge task take it, so none is created otherwise."""

    def check(values: list[Any]) -> str:
        name, resource_id, server, secret = values
        require_classic_rbac(get_registry(registry_url(server, resource_id), secret), name)
        return name

    # The token is a credential: it never leaves this apply. The result is the name alone, not
    # a secret, as before (a secret name would change the grants' and the task's inputs).
    checked = pulumi.Output.all(registry_name, registry_id, login_server, token).apply(check)
    return pulumi.Output.unsecret(checked)
