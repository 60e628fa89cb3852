"""Who may push to and pull from the ACR registry without its admin password: a user-assigned
managed identity that GitHub Actions runs of one repository and ref (or environment) sign in as,
with AcrPush on the registry, and AcrPull on the registry for each of pullPrincipals. Called by
AcrRegistry; every role assignment is scoped to the registry alone."""

from __future__ import annotations

import uuid
from typing import Any

import pulumi
from pulumi_azure_native import authorization, managedidentity

from container_registry import github as ci
from container_registry import github_pins as pins
from container_registry.azure.options import AcrOptions
from container_registry.azure.roles import ACR_PULL_ROLE, ACR_PUSH_ROLE
from container_registry.options import CiOptions
from container_registry.service import CiAccess

# The audience Entra ID expects in a federated token; azure/login asks GitHub for it.
AZURE_AUDIENCE = "api://AzureADTokenExchange"
# A fixed namespace, so a role assignment's name is the same GUID on every run and machine.
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("5b0c0d3e-6f1a-4c52-9a57-0e2f3c1d7a11")


def registry_scope(subscription_id: str, resource_group: str, registry_name: str) -> str:
    """The registry's resource ID: the narrowest scope a registry-wide role can have."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.ContainerRegistry/registries/{registry_name}"
    )


def role_definition(subscription_id: str, role: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )


def role_assignment_name(scope: str, principal_id: str, role: str) -> str:
    """A GUID derived from what the assignment grants: reruns (and a lost state) ask for the
    same name, so Azure never holds two copies of one grant."""
    key = "\0".join((scope.lower(), principal_id.lower(), role.lower()))
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, key))


def _assign(
    resource_name: str,
    *,
    parent: pulumi.Resource,
    scope: pulumi.Output[str],
    subscription_id: pulumi.Output[str],
    principal_id: pulumi.Input[str],
    role: str,
    principal_type: str,
) -> authorization.RoleAssignment:
    return authorization.RoleAssignment(
        resource_name,
        authorization.RoleAssignmentArgs(
            scope=scope,
            principal_id=principal_id,
            principal_type=principal_type,
            role_definition_id=subscription_id.apply(lambda sub: role_definition(sub, role)),
            role_assignment_name=pulumi.Output.all(scope, principal_id).apply(
                lambda v: role_assignment_name(v[0], v[1], role)
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def login_steps(
    client_id: str, tenant_id: str, subscription_id: str, registry_name: str
) -> list[dict[str, Any]]:
    # With AcrPush only, `az acr login` cannot read the registry in ARM and falls back to
    # <name>.azurecr.io (Azure/azure-cli, acr/_docker_utils.py, _get_credentials).
    return [
        ci.step(
            pins.AZURE_LOGIN,
            "Sign in as the push identity",
            **{
                "client-id": client_id,
                "tenant-id": tenant_id,
                "subscription-id": subscription_id,
            },
        ),
        ci.run_step(
            "Log in to ACR",
            'az acr login --name "$REGISTRY"',
            env={"REGISTRY": registry_name},
        ),
    ]


def registry_access(
    name: str,
    options: AcrOptions,
    *,
    parent: pulumi.Resource,
    resource_group: pulumi.Input[str],
    location: pulumi.Input[str] | None,
    registry_name: pulumi.Output[str],
    login_server: pulumi.Output[str],
    client: pulumi.Output[authorization.GetClientConfigResult],
    mirror_endpoint: pulumi.Input[str] | None = None,
) -> CiAccess | None:
    """AcrPull for pullPrincipals; the CI identity and its AcrPush when ciRepository is set.
    `client` is the caller's getClientConfig read, shared so the stack invokes it once."""
    if not options.pull_principals and options.ci is None:
        return None
    subscription_id = client.subscription_id
    # Built from the registry's outputs, so each assignment waits for the registry.
    scope = pulumi.Output.all(subscription_id, resource_group, registry_name).apply(
        lambda v: registry_scope(v[0], v[1], v[2])
    )
    for principal in options.pull_principals:
        # Settings give `<type>:<object id>`; ARM refuses an assignment whose type is wrong.
        principal_type, _, object_id = principal.partition(":")
        _assign(
            f"{name}-acrpull-{object_id}",
            parent=parent,
            scope=scope,
            subscription_id=subscription_id,
            principal_id=object_id,
            role=ACR_PULL_ROLE,
            principal_type=principal_type,
        )
    if options.ci is None:
        return None
    return _ci_push(
        name,
        options,
        options.ci,
        parent=parent,
        resource_group=resource_group,
        location=location,
        scope=scope,
        subscription_id=subscription_id,
        tenant_id=client.tenant_id,
        registry_name=registry_name,
        repo_endpoint=pulumi.Output.concat(login_server, "/", options.repository_name),
        mirror_endpoint=mirror_endpoint,
    )


def _ci_push(
    name: str,
    options: AcrOptions,
    ci_settings: CiOptions,
    *,
    parent: pulumi.Resource,
    resource_group: pulumi.Input[str],
    location: pulumi.Input[str] | None,
    scope: pulumi.Output[str],
    subscription_id: pulumi.Output[str],
    tenant_id: pulumi.Output[str],
    registry_name: pulumi.Output[str],
    repo_endpoint: pulumi.Output[str],
    mirror_endpoint: pulumi.Input[str] | None,
) -> CiAccess:
    child = pulumi.ResourceOptions(parent=parent)
    subject = ci.oidc_subject(ci_settings)
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-ci-identity",
        managedidentity.UserAssignedIdentityArgs(
            resource_group_name=resource_group,
            location=location,
            tags=options.tags,
        ),
        opts=child,
    )
    # Entra ID matches the token's `sub` against `subject` exactly (Microsoft Learn,
    # "workload-identities-github-immutable-subjects"): the one subject of CiOptions, never a
    # second credential for the other form.
    # Keyword arguments, not FederatedIdentityCredentialArgs: the Args form passes its
    # `resource_name` (the identity) where _internal_init expects the Pulumi resource name
    # (pulumi_azure_native/managedidentity/federated_identity_credential.py, __init__).
    managedidentity.FederatedIdentityCredential(
        f"{name}-ci-github",
        opts=child,
        resource_group_name=resource_group,
        resource_name_=identity.name,
        issuer=pins.GITHUB_OIDC_ISSUER,
        audiences=[AZURE_AUDIENCE],
        subject=subject,
    )
    # principal_type: the identity is new, and Entra ID may not have replicated it yet; with the
    # type given, ARM does not look it up and the assignment does not fail on the delay.
    _assign(
        f"{name}-ci-acrpush",
        parent=parent,
        scope=scope,
        subscription_id=subscription_id,
        principal_id=identity.principal_id,
        role=ACR_PUSH_ROLE,
        principal_type="ServicePrincipal",
    )
    values = pulumi.Output.all(identity.client_id, tenant_id, subscription_id, registry_name).apply(
        lambda v: {
            "clientId": v[0],
            "tenantId": v[1],
            "subscriptionId": v[2],
            "registryName": v[3],
            # Entra compares `sub` alone: the workflow is bound only when the template puts
            # job_workflow_ref in it, the trigger never.
            **ci.subject_values(
                ci_settings,
                ci.trusted_runs(ci_settings, workflow=ci_settings.subject_includes_ref),
            ),
        }
    )
    document = ci.workflow_output(
        ci_settings,
        cloud_name="Azure Container Registry",
        login_steps=values.apply(
            lambda v: login_steps(
                v["clientId"], v["tenantId"], v["subscriptionId"], v["registryName"]
            )
        ),
        repo_endpoint=repo_endpoint,
        mirror_endpoint=mirror_endpoint,
    )
    return CiAccess(values=values, workflow=document)
