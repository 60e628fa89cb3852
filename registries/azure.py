"""Azure Container Registry: a private registry in its own (or a named) resource group, with the
admin user for `docker login`, anonymous pull off, and a daily `acr purge` task (plus, on Premium,
the registry's retention policy) that keeps the stored images in check."""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
from typing import Any

import pulumi
import yaml
from pulumi_azure_native import authorization, containerregistry, resources

from registries.azure_access import registry_access, role_assignment_name, role_definition
from registries.component import RegistryComponent
from registries.image import RegistryLogin, mirror_build_args
from registries.settings import (
    MIRROR_WILDCARD,
    Settings,
    SettingsError,
    require_azure_location,
)

ACR_NAME_MAX = 50
NAME_SUFFIX_LENGTH = 8
# ACR's retention policy for untagged manifests accepts 0 to 365 days.
RETENTION_POLICY_MAX_DAYS = 365
# Daily at 03:00 UTC; ACR timer triggers take five-field cron expressions in UTC.
PURGE_SCHEDULE = "0 3 * * *"
PURGE_TIMEOUT_SECONDS = 3600
# acr-cli pinned rather than the task runner's `acr` alias, whose version has varied: only 0.17
# and later apply `--ago` to `--untagged`; an older one would delete every untagged manifest at
# once. 0.19 is the version the ACR Tasks runner's own alias points at.
ACR_CLI = "mcr.microsoft.com/acr/acr-cli:0.19"
TASK_YAML_VERSION = "v1.1.0"
# acr-cli finds its registry only in `--registry` or ACR_DEFAULT_REGISTRY (GetRegistryName in
# cmd/acr/root.go of Azure/acr-cli); the pinned image gets neither from the task runner, so every
# step names it with the run's own registry (an ACR Tasks run variable).
TASK_REGISTRY = "{{.Run.Registry}}"

_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


def check_registry_name_source(repository_name: str) -> None:
    """Refuse, before anything is created, a repository name that cannot name a registry."""
    if not _NOT_ALPHANUMERIC.sub("", repository_name.lower()):
        raise SettingsError(
            "repositoryName", repository_name, "has no letters or digits to name a registry with"
        )


def acr_registry_name(
    repository_name: str, project: str, stack: str, subscription_id: str, resource_group: str
) -> str:
    """A registry name ACR accepts (5 to 50 of [a-z0-9], unique across all of Azure) that stays
    the same for one stack across runs: the letters and digits of the repository and stack
    names, then 8 hex digits of a SHA-256 over those, the project, the Azure subscription and the
    resource group. Without the subscription and group, everyone who deploys this program with the
    defaults would ask Azure for the same name and all but the first would be refused."""
    check_registry_name_source(repository_name)
    readable = _NOT_ALPHANUMERIC.sub("", f"{repository_name}{stack}".lower())
    identity = "\0".join(
        (project, stack, repository_name, subscription_id.lower(), resource_group.lower())
    ).encode()
    suffix = hashlib.sha256(identity).hexdigest()[:NAME_SUFFIX_LENGTH]
    return readable[: ACR_NAME_MAX - NAME_SUFFIX_LENGTH] + suffix


def uses_retention_policy(settings: Settings) -> bool:
    """Premium's server-side retention policy removes untagged manifests when it can hold the
    configured age; otherwise the purge task does it."""
    return settings.azure.sku == "Premium" and (
        settings.untagged_expiry_days <= RETENTION_POLICY_MAX_DAYS
    )


def purge_commands(settings: Settings) -> list[str]:
    """The `acr purge` runs of the daily task, in order.

    First every tag of the repository but the newest `keepTaggedImages` is removed (`--ago 0d`
    makes every tag old enough; `--keep` spares the newest). Then, unless the retention policy does
    it, untagged manifests last updated more than `untaggedExpiryDays` ago are deleted: the tag
    regex `^$` matches no tag, so only the `--untagged` clean-up runs (acr-cli 0.17 and later apply
    `--ago` to it). The repository part of a filter is a regex anchored by acr-cli, so it is
    escaped. Every run names the task's registry (see TASK_REGISTRY).
    """
    repository = re.escape(settings.repository_name)
    commands = [
        shlex.join(
            [
                ACR_CLI,
                "purge",
                "--registry",
                TASK_REGISTRY,
                "--filter",
                f"{repository}:.*",
                "--ago",
                "0d",
                "--keep",
                str(settings.keep_tagged_images),
            ]
        )
    ]
    if not uses_retention_policy(settings):
        commands.append(
            shlex.join(
                [
                    ACR_CLI,
                    "purge",
                    "--registry",
                    TASK_REGISTRY,
                    "--filter",
                    f"{repository}:^$",
                    "--ago",
                    f"{settings.untagged_expiry_days}d",
                    "--untagged",
                ]
            )
        )
    return commands


def purge_task_yaml(settings: Settings) -> str:
    """The ACR Tasks YAML file (multi-step format) that runs the purge commands one by one."""
    document: dict[str, Any] = {
        "version": TASK_YAML_VERSION,
        "steps": [
            {
                "cmd": command,
                "disableWorkingDirectoryOverride": True,
                "timeout": PURGE_TIMEOUT_SECONDS,
            }
            for command in purge_commands(settings)
        ],
    }
    return yaml.safe_dump(document, sort_keys=False)


def _admin_username(credentials: containerregistry.ListRegistryCredentialsResult) -> str:
    if not credentials.username:
        raise pulumi.RunError("ACR returned no admin user name: is the admin user enabled?")
    return credentials.username


def _first_password(credentials: containerregistry.ListRegistryCredentialsResult) -> str:
    passwords = credentials.passwords or []
    if not passwords or not passwords[0].value:
        raise pulumi.RunError("ACR returned no admin password: is the admin user enabled?")
    return passwords[0].value


# ------------------------------------------------------------------ the mirror (issue 12)

DOCKER_HUB_LOGIN_SERVER = "docker.io"
# The built-in role that reads secret values, the same ID in every tenant
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security,
# "Key Vault Secrets User"). It acts only on vaults that use the Azure RBAC permission model.
KEY_VAULT_SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"
# ACR cache rule names: letters, digits and hyphens, 5 to 50 characters.
CACHE_RULE_NAME_MAX = 50
_NOT_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9-]+")


def cache_rule_name(repository: str) -> str:
    """A stable ACR cache rule name for a docker.io/library repository (or the wildcard)."""
    stem = "all" if repository == MIRROR_WILDCARD else _NOT_NAME_CHARACTER.sub("-", repository)
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


def credential_set_vault(settings: Settings) -> str | None:
    """The vault of the credential set's secrets, when the mirror has one. parse_settings
    requires acrDockerHubKeyVaultId with the secret URIs; a Settings built by hand may lack it,
    and AcrRegistry checks this before it registers anything."""
    mirror = settings.mirror
    if not (mirror.enabled and mirror.acr_username_secret_uri and mirror.acr_password_secret_uri):
        return None
    if mirror.acr_key_vault_id is None:
        raise SettingsError(
            "acrDockerHubKeyVaultId",
            None,
            "is not set: the ACR credential set's identity is granted Key Vault Secrets User on "
            "that vault",
        )
    return mirror.acr_key_vault_id


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


def _acr_mirror(
    name: str,
    settings: Settings,
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
    mirror = settings.mirror
    opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    created: list[pulumi.Resource] = []
    credential_set_id: pulumi.Input[str] | None = None
    # The vault when the mirror has Docker Hub credentials (both secret URIs), else None.
    key_vault_id = credential_set_vault(settings)
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
                        username_secret_identifier=mirror.acr_username_secret_uri,
                        password_secret_identifier=mirror.acr_password_secret_uri,
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


class AcrRegistry(RegistryComponent):
    """An Azure Container Registry with the app image pushed to it."""

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        azure = settings.azure
        # Checked before anything is registered, so a bad stack creates nothing.
        require_azure_location(azure, settings.stack)
        check_registry_name_source(settings.repository_name)
        credential_set_vault(settings)
        super().__init__("container-registry:azure:AcrRegistry", name, None, opts)
        # Deleting the registry (or the group holding it) deletes every image in it.
        guarded = pulumi.ResourceOptions(parent=self, protect=not settings.force_delete)
        tags = {"project": settings.project, "stack": settings.stack}

        location: pulumi.Input[str] | None
        group_name: pulumi.Input[str]
        if azure.resource_group is None:
            group = resources.ResourceGroup(
                f"{name}-rg",
                resources.ResourceGroupArgs(location=azure.location, tags=tags),
                opts=guarded,
            )
            group_name, location = group.name, azure.location
        else:
            existing = resources.get_resource_group_output(
                resource_group_name=azure.resource_group,
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            group_name = existing.name
            location = azure.location or existing.location

        client = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        )
        registry_name = pulumi.Output.all(client.subscription_id, group_name).apply(
            lambda ids: acr_registry_name(
                settings.repository_name, settings.project, settings.stack, ids[0], ids[1]
            )
        )

        premium = azure.sku == "Premium"
        # Classic RBAC is what AcrPush, AcrPull and the purge task need: in ACR's ABAC mode
        # (roleAssignmentMode AbacRepositoryPermissions, `rbac-abac`) none of them is honoured,
        # and Microsoft says ABAC will become the default for new registries (Microsoft Learn,
        # "Azure ABAC repository permissions in Azure Container Registry"). The SDK in use cannot
        # pin it: pulumi-azure-native 3.x's Registry (REST API 2023-01-01-preview,
        # pulumi_azure_native/containerregistry/registry.py, RegistryArgs) has no
        # roleAssignmentMode input, so the registry takes Azure's default (classic today); the
        # policy rule acr-classic-rbac refuses any other mode a program sets.
        registry = containerregistry.Registry(
            f"{name}-acr",
            containerregistry.RegistryArgs(
                registry_name=registry_name,
                resource_group_name=group_name,
                location=location,
                sku=containerregistry.SkuArgs(name=azure.sku),
                # The stack exports admin credentials for `docker login`; nobody pulls anonymously.
                admin_user_enabled=True,
                anonymous_pull_enabled=False,
                policies=containerregistry.PoliciesArgs(
                    retention_policy=containerregistry.RetentionPolicyArgs(
                        days=settings.untagged_expiry_days, status="enabled"
                    )
                    if uses_retention_policy(settings)
                    else containerregistry.RetentionPolicyArgs(status="disabled")
                )
                if premium
                else None,
                tags=tags,
            ),
            opts=guarded,
        )

        encoded = base64.b64encode(purge_task_yaml(settings).encode()).decode()
        containerregistry.Task(
            f"{name}-purge",
            containerregistry.TaskArgs(
                registry_name=registry_name,
                resource_group_name=group_name,
                location=location,
                platform=containerregistry.PlatformPropertiesArgs(os="Linux", architecture="amd64"),
                step=containerregistry.EncodedTaskStepArgs(
                    type="EncodedTask", encoded_task_content=encoded
                ),
                trigger=containerregistry.TriggerPropertiesArgs(
                    timer_triggers=[
                        containerregistry.TimerTriggerArgs(
                            name="daily", schedule=PURGE_SCHEDULE, status="Enabled"
                        )
                    ]
                ),
                status="Enabled",
                timeout=PURGE_TIMEOUT_SECONDS,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[registry]),
        )

        mirror = (
            _acr_mirror(
                name,
                settings,
                registry_name=registry_name,
                group_name=group_name,
                parent=self,
                depends_on=[registry],
            )
            if settings.mirror.enabled
            else []
        )
        endpoint = pulumi.Output.concat(registry.login_server, "/library") if mirror else None
        # Keyless push from CI and AcrPull for pullPrincipals (issue 11), scoped to the registry.
        ci_access = registry_access(
            name,
            settings,
            parent=self,
            resource_group=group_name,
            location=location,
            registry_name=registry.name,
            login_server=registry.login_server,
            build_args=None if endpoint is None else mirror_build_args(endpoint),
        )

        # Read after the registry exists; the admin passwords rotate only when someone asks.
        credentials = containerregistry.list_registry_credentials_output(
            resource_group_name=group_name,
            registry_name=registry_name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[registry]),
        )
        self._publish(
            name,
            settings,
            registry_server=registry.login_server,
            repo_endpoint=pulumi.Output.concat(
                registry.login_server, "/", settings.repository_name
            ),
            login=RegistryLogin(
                server=registry.login_server,
                username=credentials.apply(_admin_username),
                password=pulumi.Output.secret(credentials.apply(_first_password)),
            ),
            depends_on=mirror,
            build_args=None if endpoint is None else mirror_build_args(endpoint),
            mirror_endpoint=endpoint,
            ci_access=ci_access,
        )
