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

Under Pulumi's mocks (`pulumi.runtime.set_mocks`, as in unit tests) there is no Azure to ask, and
a unit test makes no network call: there the same read is the invoke azure-native would serve if
it honoured `api_version`, resources.getResource of the registry at that version, which mocks
answer (container_registry.testing does). The engine is told apart by its public monitor: Pulumi's
`set_mocks` installs a `pulumi.runtime.mocks.MockMonitor` as the monitor that
`pulumi.runtime.settings.get_monitor()` returns (pulumi/runtime/mocks.py); a real engine's is the
gRPC ResourceMonitorStub.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor
from pulumi_azure_native import resources

# The first stable ACR REST API version whose RegistryProperties has roleAssignmentMode (enum
# AbacRepositoryPermissions | LegacyRegistryPermissions, default LegacyRegistryPermissions):
# Azure/azure-rest-api-specs, specification/containerregistry/resource-manager/
# Microsoft.ContainerRegistry/Registry/stable/2025-11-01/containerregistry.json, definition
# RegistryProperties (2025-04-01's RegistryProperties ends at anonymousPullEnabled).
ROLE_ASSIGNMENT_MODE_API_VERSION = "2025-11-01"
# The one mode AcrPush, AcrPull and ACR Tasks' access work in. The same file's RoleAssignmentMode
# has `"x-ms-enum": {"modelAsString": true}`: an extensible enum, so ARM may answer a value this
# code has never seen, and only this one (or no value: the API's default) goes ahead, as the
# policy rule acr-classic-rbac has it. The spec spells its values in one casing and says nothing
# of case: a value that differs from this one in case alone can only mean this mode, so case is
# folded, as the policy rule does; every other spelling stops.
CLASSIC_MODE = "LegacyRegistryPermissions"
# Azure Resource Manager per cloud, found by the registry's login server suffix (Microsoft Learn,
# "Azure Container Registry" in Azure Government and Azure China).
ARM_BY_LOGIN_SUFFIX = {
    ".azurecr.io": "https://management.azure.com",
    ".azurecr.us": "https://management.usgovcloudapi.net",
    ".azurecr.cn": "https://management.chinacloudapi.cn",
}
TIMEOUT_SECONDS = 60
# The invoke that asks the mocks for the registry (see the module's docstring).
GET_RESOURCE = "azure-native:resources:getResource"


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


def cannot_read(url: str, reason: str, source: str = "Azure Resource Manager") -> pulumi.RunError:
    """The error for a registry GET that gave no registry: what was read, why it matters, what
    to do, and the Args key of the check; never the token."""
    return pulumi.RunError(
        f"cannot read the registry's roleAssignmentMode from {source} ({url}): "
        f"{reason}. The check (azure.check_role_assignment_mode) runs before any AcrPush/AcrPull "
        "grant or the purge task, so none of them was created. The identity Pulumi runs as "
        "needs read access to the registry (Microsoft.ContainerRegistry/registries/read, in "
        "Reader or Contributor); run again once Azure Resource Manager answers with the registry."
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
        raise cannot_read(url, f"HTTP {err.code}: {detail}") from None
    except urllib.error.URLError as err:
        raise cannot_read(url, str(err.reason)) from None
    except ValueError as err:
        # json.JSONDecodeError and UnicodeDecodeError: a proxy's page, or a cut-off answer.
        raise cannot_read(url, f"the answer is not JSON ({err})") from None
    except OSError as err:
        raise cannot_read(url, str(err)) from None
    return a_registry(body, url)


def a_registry(body: Any, url: str, source: str = "Azure Resource Manager") -> dict[str, Any]:
    """`body` if it has the shape of ARM's registry (an object with `properties`), else the
    error that names what was read."""
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        reason = f"the answer is not a registry: {json.dumps(body, default=str)[:200]}"
        raise cannot_read(url, reason, source)
    return body


def answered_by_mocks() -> bool:
    """True where Pulumi's mocks stand in for the engine (see the module's docstring)."""
    return isinstance(get_monitor(), MockMonitor)


def asked_of_mocks(registry_id: pulumi.Output[str]) -> pulumi.Output[dict[str, Any]]:
    """The registry as the mocks answer resources.getResource for it at the API version that
    has roleAssignmentMode: what the HTTP GET reads on a real engine."""
    # /subscriptions/{s}/resourceGroups/{group}/providers/Microsoft.ContainerRegistry/registries/{n}
    parts = registry_id.apply(lambda resource_id: resource_id.split("/"))
    found = resources.get_resource_output(
        resource_group_name=parts.apply(lambda p: p[4]),
        resource_provider_namespace="Microsoft.ContainerRegistry",
        parent_resource_path="",
        resource_type="registries",
        resource_name=parts.apply(lambda p: p[-1]),
        api_version=ROLE_ASSIGNMENT_MODE_API_VERSION,
    )
    return pulumi.Output.all(registry_id, found.properties).apply(
        lambda v: a_registry(
            {"id": v[0], "properties": v[1]}, f"invoke {GET_RESOURCE}", "Pulumi's mocks"
        )
    )


def read_registry(
    registry_id: pulumi.Output[str], login_server: pulumi.Output[str], token: pulumi.Output[str]
) -> pulumi.Output[dict[str, Any]]:
    """The registry with its properties: from ARM over HTTP, or from the mocks in a unit test."""
    if answered_by_mocks():
        return asked_of_mocks(registry_id)
    return pulumi.Output.all(registry_id, login_server, token).apply(
        lambda v: get_registry(registry_url(v[1], v[0]), v[2])
    )


def require_classic_rbac(registry: dict[str, Any], registry_name: str) -> None:
    """Stop unless the registry is in classic RBAC: `LegacyRegistryPermissions`, or no mode at
    all (the API's default). ABAC mode, a value Azure adds later, or a mode that is not a string
    all stop: only in classic RBAC are the grants and the purge task known to work."""
    mode = registry["properties"].get("roleAssignmentMode")  # get_registry checked the shape
    if mode is None or (isinstance(mode, str) and mode.lower() == CLASSIC_MODE.lower()):
        return
    raise pulumi.RunError(
        f"registry {registry_name} has roleAssignmentMode {json.dumps(mode)[:100]}, not "
        f"{CLASSIC_MODE}: AcrPush and AcrPull role assignments, which this component creates, "
        "are honoured only there, and ACR Tasks (its daily purge task) keep their data-plane "
        "access only there; in ABAC mode (AbacRepositoryPermissions) Azure honours neither "
        "(Microsoft Learn, container-registry-rbac-abac-repository-permissions). Set the "
        f"registry's roleAssignmentMode to {CLASSIC_MODE} (RBAC Registry Permissions) and run "
        "again; nothing that depends on it was created."
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
        name, registry = values
        require_classic_rbac(registry, name)
        return name

    # The token is a credential: it never leaves read_registry's apply. The result is the name
    # alone, not a secret, as before (a secret name would change the grants' and the task's
    # inputs).
    registry = read_registry(registry_id, login_server, token)
    checked = pulumi.Output.all(registry_name, registry).apply(check)
    return pulumi.Output.unsecret(checked)
