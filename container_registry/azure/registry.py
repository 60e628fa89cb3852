"""Azure Container Registry: a private registry in its own (or a named) resource group, with the
admin user for `docker login`, anonymous pull off, and a daily `acr purge` task (plus, on Premium,
the registry's retention policy) that keeps the stored images in check."""

import base64
import hashlib
import re
import shlex
from typing import Any

import pulumi
import yaml
from pulumi_azure_native import authorization, containerregistry, resources

from container_registry.args import RegistryCredentials
from container_registry.azure.access import registry_access, registry_scope
from container_registry.azure.args import AcrRegistryArgs
from container_registry.azure.mirror import acr_mirror
from container_registry.azure.mode import arm_endpoint, checked_registry_name
from container_registry.azure.options import (
    NOT_ALPHANUMERIC,
    AcrOptions,
    check_registry_name_source,
    resolve,
)
from container_registry.provenance import SIGNATURE_TAG_PREFIX, signature_window
from container_registry.service import Built, CloudRegistry, RegistryLogin

ACR_NAME_MAX = 50
NAME_SUFFIX_LENGTH = 8
# ACR's retention policy for untagged manifests accepts 0 to 365 days.
RETENTION_POLICY_MAX_DAYS = 365
# Daily at 03:00 UTC; ACR timer triggers take five-field cron expressions in UTC.
PURGE_SCHEDULE = "0 3 * * *"
PURGE_TIMEOUT_SECONDS = 3600
# acr-cli pinned rather than the task runner's `acr` alias, whose version has varied: only 0.17
# and later apply `--ago` to `--untagged` (GetUntaggedManifests' deleteCutoff, Azure/acr-cli tag
# v0.17); an older one would delete every untagged manifest at once. 0.17 is the tag Microsoft's
# "Automatically purge images from an Azure container registry" page names
# (learn.microsoft.com/azure/container-registry/container-registry-auto-purge: "distributed in a
# public container image (mcr.microsoft.com/acr/acr-cli:0.17)"), so it exists on MCR.
# No digest yet: MCR cannot be reached from where this was written and no source we could check
# publishes the tag's digest. Read it with `docker buildx imagetools inspect
# mcr.microsoft.com/acr/acr-cli:0.17` and set ACR_CLI_DIGEST (sha256:<64 hex>); a strict xfail in
# tests/test_azure.py waits for it.
ACR_CLI_IMAGE = "mcr.microsoft.com/acr/acr-cli"
ACR_CLI_TAG = "0.17"
ACR_CLI_DIGEST: str | None = None
ACR_CLI = f"{ACR_CLI_IMAGE}:{ACR_CLI_TAG}" + (f"@{ACR_CLI_DIGEST}" if ACR_CLI_DIGEST else "")
TASK_YAML_VERSION = "v1.1.0"
# acr-cli finds its registry only in `--registry` or ACR_DEFAULT_REGISTRY (GetRegistryName in
# cmd/acr/root.go of Azure/acr-cli); the pinned image gets neither from the task runner, so every
# step names it with the run's own registry (an ACR Tasks run variable).
TASK_REGISTRY = "{{.Run.Registry}}"


def acr_registry_name(
    repository_name: str, project: str, stack: str, subscription_id: str, resource_group: str
) -> str:
    """A registry name ACR accepts (5 to 50 of [a-z0-9], unique across all of Azure) that stays
    the same for one stack across runs: the letters and digits of the repository and stack
    names, then 8 hex digits of a SHA-256 over those, the project, the Azure subscription and the
    resource group. Without the subscription and group, everyone who deploys this program with the
    defaults would ask Azure for the same name and all but the first would be refused."""
    check_registry_name_source(repository_name)
    readable = NOT_ALPHANUMERIC.sub("", f"{repository_name}{stack}".lower())
    identity = "\0".join(
        (project, stack, repository_name, subscription_id.lower(), resource_group.lower())
    ).encode()
    suffix = hashlib.sha256(identity).hexdigest()[:NAME_SUFFIX_LENGTH]
    return readable[: ACR_NAME_MAX - NAME_SUFFIX_LENGTH] + suffix


def uses_retention_policy(options: AcrOptions) -> bool:
    """Premium's server-side retention policy removes untagged manifests when it can hold the
    configured age; otherwise the purge task does it."""
    return options.sku == "Premium" and (options.untagged_expiry_days <= RETENTION_POLICY_MAX_DAYS)


# acr-cli compiles a tag filter with dlclark/regexp2 (BuildRegexFilter in
# cmd/repository/image_functions.go), which has lookahead: its own filter parser uses `(?!`.
IMAGE_TAGS = f"^(?!{SIGNATURE_TAG_PREFIX})"
SIGNATURE_TAGS = f"^{SIGNATURE_TAG_PREFIX}"


def purge_commands(options: AcrOptions) -> list[str]:
    """The `acr purge` runs of the daily task, in order.

    1. Every image tag (any tag not starting `sha256-`, cosign's) but the newest
       `keepTaggedImages` is removed: `--ago 0d` makes every tag old enough, `--keep` spares the
       newest. acr-cli counts tags, so that is N tags, signed or not.
    2. Every signature and attestation tag but the newest provenance.signature_window (those of
       the N images kept and of one older digest signed again, which replaces its tag) is
       removed. acr-cli cannot relate a signature to its image: a kept image whose tag was moved
       after it was signed may lose its signatures once 2N + 2 newer ones exist.
    3. Unless the retention policy does it, untagged manifests last updated more than
       `untaggedExpiryDays` ago are deleted: the tag regex `^$` matches no tag, so only the
       `--untagged` clean-up runs (acr-cli 0.17 and later apply `--ago` to it). An image or a
       signature whose tag went is such a manifest; a manifest with a `subject` (an OCI
       referrer) is never deleted by acr-cli (GetUntaggedManifests, since acr-cli PR #188): "ACR
       does cleanup on the server side when a parent manifest is deleted" (its comment there).

    The repository part of a filter is a regex anchored by acr-cli, so it is escaped. Every run
    names the task's registry (see TASK_REGISTRY).
    """
    repository = re.escape(options.repository_name)

    def purge(tag_filter: str, ago: str, *flags: str) -> str:
        return shlex.join(
            [ACR_CLI, "purge", "--registry", TASK_REGISTRY, "--filter", tag_filter, "--ago", ago]
            + list(flags)
        )

    commands = [
        purge(f"{repository}:{IMAGE_TAGS}", "0d", "--keep", str(options.keep_tagged_images)),
        purge(f"{repository}:{SIGNATURE_TAGS}", "0d", "--keep", str(signature_window(options))),
    ]
    if not uses_retention_policy(options):
        commands.append(purge(f"{repository}:^$", f"{options.untagged_expiry_days}d", "--untagged"))
    return commands


def purge_task_yaml(options: AcrOptions) -> str:
    """The ACR Tasks YAML file (multi-step format) that runs the purge commands one by one."""
    document: dict[str, Any] = {
        "version": TASK_YAML_VERSION,
        "steps": [
            {
                "cmd": command,
                "disableWorkingDirectoryOverride": True,
                "timeout": PURGE_TIMEOUT_SECONDS,
            }
            for command in purge_commands(options)
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


TYPE = "container-registry:index:AcrRegistry"


class AcrRegistry(CloudRegistry):
    """A private Azure Container Registry: its resources are attributes a program can attach
    more to. `registry` is the `containerregistry.Registry`, `resource_group` the group made for
    it (None when `resource_group` names an existing one), `purge_task` the daily purge. Through
    the component provider (other languages) they are outputs by ID: `registry_id` and
    `resource_group_name`."""

    registry_server: pulumi.Output[str]
    """The host (or host:port) to `docker login` to."""
    repository_url: pulumi.Output[str]
    """The repository URL, without a tag; ready to push to once it resolves."""
    login: pulumi.Output[RegistryCredentials]
    """`{server, username, password}` for `docker login`, a Pulumi secret as a whole."""
    mirror_endpoint: pulumi.Output[str | None]
    """With the mirror on: the path that stands for Docker official images
    (`docker pull <mirror_endpoint>/nginx:<tag>`); else none."""
    ci: pulumi.Output[dict[str, str] | None]
    """With `ci`: what a GitHub Actions workflow logs in with, and the certificate identity,
    issuer and commands that verify what it signs (nothing secret); else none."""
    ci_workflow: pulumi.Output[str | None]
    """With `ci`: that workflow, as YAML for .github/workflows/; else none."""

    registry_id: pulumi.Output[str]
    """The registry's ARM resource ID (the `registry` attribute in Python)."""
    resource_group_name: pulumi.Output[str]
    """The resource group the registry is in."""

    def __init__(
        self, name: str, args: AcrRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Checked before anything is registered, so bad input creates nothing.
        self._build(name, resolve(args), opts)

    def _build(self, name: str, options: AcrOptions, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(TYPE, name, None, opts)
        built = self._children(name, options)
        self.registry_id = self.registry.id
        self.resource_group_name = pulumi.Output.from_input(self._group_name)
        outputs = {"registryId": self.registry_id, "resourceGroupName": self.resource_group_name}
        self._finish_cloud(built, options.ci, outputs)

    def _children(self, name: str, options: AcrOptions) -> Built:
        """The resource group (unless one is named), the registry, its purge task, the mirror,
        AcrPull and CI grants when asked, and the admin login; children of `parent`."""
        parent = self
        # Deleting the registry (or the group holding it) deletes every image in it.
        guarded = pulumi.ResourceOptions(parent=parent, protect=not options.force_delete)
        tags = options.tags

        location: pulumi.Input[str] | None
        group_name: pulumi.Input[str]
        self.resource_group: resources.ResourceGroup | None = None
        if options.resource_group is None:
            self.resource_group = group = resources.ResourceGroup(
                f"{name}-rg",
                resources.ResourceGroupArgs(location=options.location, tags=tags),
                opts=guarded,
            )
            group_name, location = group.name, options.location
        else:
            existing = resources.get_resource_group_output(
                resource_group_name=options.resource_group,
                opts=pulumi.InvokeOutputOptions(parent=parent),
            )
            group_name = existing.name
            location = options.location or existing.location

        self._group_name = group_name
        client = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=parent)
        )
        registry_name = pulumi.Output.all(client.subscription_id, group_name).apply(
            lambda ids: acr_registry_name(
                options.repository_name,
                options.pulumi_project,
                options.pulumi_stack,
                ids[0],
                ids[1],
            )
        )

        premium = options.sku == "Premium"
        # Classic RBAC is what AcrPush, AcrPull and the purge task need: in ACR's ABAC mode
        # (roleAssignmentMode AbacRepositoryPermissions, `rbac-abac`) none of them is honoured,
        # and Microsoft says ABAC will become the default for new registries (Microsoft Learn,
        # "Azure ABAC repository permissions in Azure Container Registry"). The SDK in use cannot
        # pin it: pulumi-azure-native 3.x's Registry (REST API 2023-01-01-preview,
        # pulumi_azure_native/containerregistry/registry.py, RegistryArgs) has no
        # roleAssignmentMode input, so the registry takes Azure's default. So the mode is read once
        # the registry exists (mode.py), and every grant and the purge task wait for that check; the
        # policy rule acr-classic-rbac refuses any other mode a program sets.
        self.registry = registry = containerregistry.Registry(
            f"{name}-acr",
            containerregistry.RegistryArgs(
                registry_name=registry_name,
                resource_group_name=group_name,
                location=location,
                sku=containerregistry.SkuArgs(name=options.sku),
                # The stack exports admin credentials for `docker login`; nobody pulls anonymously.
                admin_user_enabled=True,
                anonymous_pull_enabled=False,
                policies=containerregistry.PoliciesArgs(
                    retention_policy=containerregistry.RetentionPolicyArgs(
                        days=options.untagged_expiry_days, status="enabled"
                    )
                    if uses_retention_policy(options)
                    else containerregistry.RetentionPolicyArgs(status="disabled")
                )
                if premium
                else None,
                tags=tags,
            ),
            opts=guarded,
        )

        # The registry's name once its role assignment mode was read and found to be classic RBAC.
        token = authorization.get_client_token_output(
            endpoint=registry.login_server.apply(lambda server: arm_endpoint(server) + "/"),
            opts=pulumi.InvokeOutputOptions(parent=parent, depends_on=[registry]),
        )
        classic_registry_name = checked_registry_name(
            registry.name,
            pulumi.Output.all(client.subscription_id, group_name, registry.name).apply(
                lambda v: registry_scope(v[0], v[1], v[2])
            ),
            registry.login_server,
            pulumi.Output.secret(token.token),
        )

        encoded = base64.b64encode(purge_task_yaml(options).encode()).decode()
        self.purge_task = containerregistry.Task(
            f"{name}-purge",
            containerregistry.TaskArgs(
                registry_name=classic_registry_name,
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
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[registry]),
        )

        mirror = (
            acr_mirror(
                name,
                options,
                registry_name=registry_name,
                group_name=group_name,
                parent=parent,
                depends_on=[registry],
            )
            if options.mirror.enabled
            else []
        )
        endpoint = pulumi.Output.concat(registry.login_server, "/library") if mirror else None
        # Keyless push from CI and AcrPull for pullPrincipals (issue 11), scoped to the registry.
        ci_access = registry_access(
            name,
            options,
            parent=parent,
            resource_group=group_name,
            location=location,
            registry_name=classic_registry_name,
            login_server=registry.login_server,
            client=client,
            mirror_endpoint=endpoint,
        )

        # Read after the registry exists; the admin passwords rotate only when someone asks.
        credentials = containerregistry.list_registry_credentials_output(
            resource_group_name=group_name,
            registry_name=registry_name,
            opts=pulumi.InvokeOutputOptions(parent=parent, depends_on=[registry]),
        )
        return Built(
            registry_server=registry.login_server,
            repository_url=pulumi.Output.concat(
                registry.login_server, "/", options.repository_name
            ),
            login=RegistryLogin(
                server=registry.login_server,
                username=credentials.apply(_admin_username),
                password=pulumi.Output.secret(credentials.apply(_first_password)),
            ),
            ready=mirror,
            mirror_endpoint=endpoint,
            ci=ci_access,
        )
