"""The ACR mirror (issue 12): artifact cache rules for Docker official images, with a credential
set reading Docker Hub secrets from Key Vault when given, and the grant that lets it."""

from __future__ import annotations

import hashlib
import re

import pulumi
from pulumi_azure_native import authorization, containerregistry

from container_registry.azure.access import role_assignment_name, role_definition
from container_registry.azure.options import AcrOptions
from container_registry.azure.roles import KEY_VAULT_SECRETS_USER_ROLE
from container_registry.errors import ArgumentError
from container_registry.mirror import WILDCARD

NAME_SUFFIX_LENGTH = 8
DOCKER_HUB_LOGIN_SERVER = "docker.io"
# ACR cache rule names: letters, digits and hyphens, 5 to 50 characters.
CACHE_RULE_NAME_MAX = 50
_NOT_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9-]+")


def cache_rule_name(repository: str) -> str:
    """A stable ACR cache rule name for a docker.io/library repository (or the wildcard)."""
    stem = "all" if repository == WILDCARD else _NOT_NAME_CHARACTER.sub("-", repository)
    name = f"dockerhub-library-{stem}"
    if len(name) <= CACHE_RULE_NAME_MAX:
        return name
    suffix = hashlib.sha256(repository.encode()).hexdigest()[:NAME_SUFFIX_LENGTH]
    return f"{name[: CACHE_RULE_NAME_MAX - NAME_SUFFIX_LENGTH - 1]}-{suffix}"


def cache_rule_paths(repository: str) -> tuple[str, str]:
    """(source, target) of the cache rule: docker.io/library/<repo> is pulled as library/<repo>,
    so `<login server>/library` stands for Docker official images. The wildcard maps all of them
    (ACR's repository-level wildcard rule, docs/mirror.md)."""
    return f"docker.io/library/{repository}", f"library/{repository}"


def credential_set_vault(options: AcrOptions) -> str | None:
    """The vault of the credential set's secrets, when the mirror has one. azure/options.py
    requires azure.docker_hub_key_vault_id with the secret URIs; options built by hand may lack
    it."""
    mirror = options.mirror
    if not (
        mirror.enabled
        and mirror.docker_hub_username_secret_uri
        and mirror.docker_hub_password_secret_uri
    ):
        return None
    if mirror.docker_hub_key_vault_id is None:
        raise ArgumentError(
            "azure.docker_hub_key_vault_id",
            None,
            "is not set: the ACR credential set's identity is granted Key Vault Secrets User on "
            "that vault",
        )
    return mirror.docker_hub_key_vault_id


def _credential_set_principal(
    identity: containerregistry.outputs.IdentityPropertiesResponse | None,
) -> str:
    if identity is None or not identity.principal_id:
        raise pulumi.RunError(
            "ACR returned no principal ID for the credential set's system-assigned identity"
        )
    return identity.principal_id


def _secrets_user_grant(
    name: str,
    vault_id: str,
    credential_set: containerregistry.CredentialSet,
    parent: pulumi.Resource,
) -> authorization.RoleAssignment:
    """Key Vault Secrets User on the one vault that holds the Docker Hub secrets, for the credential
    set's system-assigned identity, which ACR creates with the set. principal_type is given
    because that identity is new: without it ARM looks the principal up in Entra ID, which may
    not have replicated it yet, and refuses the assignment (Microsoft's "Assign Azure roles using
    the REST API", the section on a new service principal). The role definition is named in the
    vault's own subscription, which need not be the registry's."""
    subscription_id = vault_id.split("/")[2]
    principal_id = credential_set.identity.apply(_credential_set_principal)
    return authorization.RoleAssignment(
        f"{name}-mirror-secrets-user",
        authorization.RoleAssignmentArgs(
            scope=vault_id,
            principal_id=principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition(subscription_id, KEY_VAULT_SECRETS_USER_ROLE),
            role_assignment_name=principal_id.apply(
                lambda principal: role_assignment_name(
                    vault_id, principal, KEY_VAULT_SECRETS_USER_ROLE
                )
            ),
            description="Lets the ACR credential set read the Docker Hub secrets of the mirror",
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def acr_mirror(
    name: str,
    options: AcrOptions,
    *,
    registry_name: pulumi.Input[str],
    group_name: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
) -> list[pulumi.Resource]:
    """ACR artifact cache rules (every SKU has them), with a credential set only when Key Vault
    secret URIs are given. The credential set reads them with its own system-assigned identity,
    which is granted Key Vault Secrets User on their vault (acrDockerHubKeyVaultId) before any
    cache rule uses the set, so the first `up` needs no manual grant. pulumi-azure-native 3.x
    sends CacheRule with REST API version 2024-11-01-preview and CredentialSet with
    2023-01-01-preview (their docstrings in pulumi_azure_native/containerregistry); the wildcard
    source is a string to the API, and the service has accepted repository-level wildcards since
    its wildcard support shipped."""
    mirror = options.mirror
    opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    created: list[pulumi.Resource] = []
    credential_set_id: pulumi.Input[str] | None = None
    # The vault when the mirror has Docker Hub credentials (both secret URIs), else None.
    key_vault_id = credential_set_vault(options)
    if key_vault_id is not None:
        credential_set = containerregistry.CredentialSet(
            f"{name}-mirror-credentials",
            containerregistry.CredentialSetArgs(
                registry_name=registry_name,
                resource_group_name=group_name,
                credential_set_name="dockerhub",
                login_server=DOCKER_HUB_LOGIN_SERVER,
                auth_credentials=[
                    containerregistry.AuthCredentialArgs(
                        name=containerregistry.CredentialName.CREDENTIAL1,
                        username_secret_identifier=mirror.docker_hub_username_secret_uri,
                        password_secret_identifier=mirror.docker_hub_password_secret_uri,
                    )
                ],
                identity=containerregistry.IdentityPropertiesArgs(
                    type=containerregistry.ResourceIdentityType.SYSTEM_ASSIGNED
                ),
            ),
            opts=opts,
        )
        grant = _secrets_user_grant(name, key_vault_id, credential_set, parent)
        created += [credential_set, grant]
        credential_set_id = credential_set.id
        # Every cache rule, and through them the build, waits for the grant.
        opts = pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, grant])
    for repository in mirror.repositories:
        source, target = cache_rule_paths(repository)
        rule_name = cache_rule_name(repository)
        created.append(
            containerregistry.CacheRule(
                f"{name}-mirror-{rule_name}",
                containerregistry.CacheRuleArgs(
                    registry_name=registry_name,
                    resource_group_name=group_name,
                    cache_rule_name=rule_name,
                    source_repository=source,
                    target_repository=target,
                    credential_set_resource_id=credential_set_id,
                ),
                opts=opts,
            )
        )
    return created
