"""The rules of the container-registry-security pack, as pure functions over plain data.

Each resource rule is `check(resource_type, props, config) -> [message, ...]`; each stack rule is
`check(resources, config) -> [(message, urn), ...]`. `props` are the camelCase wire names the engine
sends (inputs for resource rules, outputs for stack rules). The pack (`__main__.py`) wraps them in
pulumi_policy policies; tests call them directly on what the program registers under mocks.

Reading a value the engine does not know yet (preview) raises pulumi_policy's UnknownValueError
through its props proxy; the engine then reports "can't run policy during preview" as advisory, and
the rule runs for real on `pulumi up`. So the functions only use Mapping/Sequence access, never
`isinstance(x, dict | list)`: the engine hands them proxies, not dicts and lists.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Props = Mapping[str, Any]
Config = Mapping[str, Any]

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ECR_CREATION_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
ACR_REGISTRY = "azure-native:containerregistry:Registry"
ACR_TASK = "azure-native:containerregistry:Task"
GAR_REPOSITORY = "gcp:artifactregistry/repository:Repository"
GAR_IAM_MEMBER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
GAR_IAM_BINDING = "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding"
GAR_IAM_POLICY = "gcp:artifactregistry/repositoryIamPolicy:RepositoryIamPolicy"
DOCKER_CONTAINER = "docker:index/container:Container"
DOCKER_IMAGE = "docker:index/image:Image"

DEFAULT_ACR_SKUS: tuple[str, ...] = ("Basic", "Standard", "Premium")
# Actions a repository policy must never grant: they delete images or the repository, or change
# who may do so. Compared case-insensitively, with the policy's own wildcards expanded.
FORBIDDEN_ECR_ACTIONS: tuple[str, ...] = (
    "ecr:DeleteRepository",
    "ecr:BatchDeleteImage",
    "ecr:SetRepositoryPolicy",
    "ecr:DeleteRepositoryPolicy",
    "ecr:PutLifecyclePolicy",
    "ecr:DeleteLifecyclePolicy",
)
ENCRYPTION_TYPES: tuple[str, ...] = ("AES256", "KMS", "KMS_DSSE")
PUBLIC_GCP_MEMBERS: tuple[str, ...] = ("allUsers", "allAuthenticatedUsers")
LOOPBACK_IPS: tuple[str, ...] = ("127.0.0.1", "::1")


class StackResource(Protocol):
    """What a stack rule reads of a resource; pulumi_policy's PolicyResource fits it."""

    @property
    def resource_type(self) -> str: ...

    @property
    def props(self) -> Props: ...

    @property
    def urn(self) -> str: ...

    @property
    def dependencies(self) -> Sequence[Any]: ...


ResourceCheck = Callable[[str, Props, Config], list[str]]
StackCheck = Callable[[Sequence[StackResource], Config], list[tuple[str, str | None]]]


@dataclass(frozen=True)
class ResourceRule:
    name: str
    description: str
    controls: tuple[str, ...]
    resource_types: tuple[str, ...]
    check: ResourceCheck


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    controls: tuple[str, ...]
    check: StackCheck


Rule = ResourceRule | StackRule


# --------------------------------------------------------------------------- property helpers


def _get(props: Any, *path: str) -> Any:
    value = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)  # pyright: ignore[reportUnknownMemberType]
    return value


def _items(value: Any) -> list[Any]:
    """A list property as a list; a missing or scalar value as []."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)  # pyright: ignore[reportUnknownArgumentType]
    return []


def _as_list(value: Any) -> list[Any]:
    """IAM fields that take one value or a list of them."""
    if isinstance(value, str):
        return [value]
    return _items(value)


def _json(value: Any) -> tuple[Any, str | None]:
    """A JSON document given as a string (or already parsed); (None, reason) if it is not one."""
    if isinstance(value, Mapping):
        return value, None
    if not isinstance(value, str) or not value.strip():
        return None, "is missing"
    try:
        return json.loads(value), None
    except ValueError as error:
        return None, f"is not valid JSON ({error})"


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --------------------------------------------------------------------------- ECR


def _flag_is_true(guarded_type: str, *path: str) -> ResourceCheck:
    """A check that the boolean property at `path` of a `guarded_type` resource is true."""

    def check(resource_type: str, props: Props, config: Config) -> list[str]:
        if resource_type != guarded_type:
            return []
        value = _get(props, *path)
        if not _is_true(value):
            return [f"{'.'.join(path)} is {value!r}; it must be true"]
        return []

    return check


ecr_scan_on_push = _flag_is_true(ECR_REPOSITORY, "imageScanningConfiguration", "scanOnPush")


def ecr_immutable_tags(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != ECR_REPOSITORY:
        return []
    value = props.get("imageTagMutability")
    if value != "IMMUTABLE":
        return [f"imageTagMutability is {value!r}; it must be 'IMMUTABLE'"]
    return []


def ecr_encryption_set(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != ECR_REPOSITORY:
        return []
    configurations = _items(props.get("encryptionConfigurations"))
    if not configurations:
        return ["encryptionConfigurations is not set; set encryptionType AES256 or KMS"]
    messages: list[str] = []
    for index, configuration in enumerate(configurations):
        kind = _get(configuration, "encryptionType")
        if kind not in ENCRYPTION_TYPES:
            messages.append(
                f"encryptionConfigurations[{index}].encryptionType is {kind!r}; "
                f"it must be one of {', '.join(ENCRYPTION_TYPES)}"
            )
    return messages


def ecr_lifecycle_policy(
    resources: Sequence[StackResource], config: Config
) -> list[tuple[str, str | None]]:
    """Every repository has a lifecycle policy with at least one rule, attached by name."""
    attached: dict[str, list[str]] = {}
    for resource in resources:
        if resource.resource_type != ECR_LIFECYCLE_POLICY:
            continue
        repository = resource.props.get("repository")
        document, _ = _json(resource.props.get("policy"))
        rules = _items(_get(document, "rules"))
        if isinstance(repository, str):
            attached.setdefault(repository, []).extend(str(rule) for rule in rules)
    violations: list[tuple[str, str | None]] = []
    for resource in resources:
        if resource.resource_type != ECR_REPOSITORY:
            continue
        name = resource.props.get("name")
        if name not in attached:
            violations.append(
                (f"ECR repository {name!r} has no lifecycle policy attached", resource.urn)
            )
        elif not attached[name]:
            violations.append(
                (f"the lifecycle policy of ECR repository {name!r} has no rules", resource.urn)
            )
    return violations


def _statements(document: Any) -> list[Any]:
    statement = _get(document, "Statement")
    if isinstance(statement, Mapping):
        return [statement]
    return [s for s in _items(statement) if isinstance(s, Mapping)]


def _allowing_statements(document: Any) -> list[tuple[int, Any]]:
    """(index, statement) of every statement that allows. A statement without a valid Effect is
    refused by IAM; anything but Deny is treated as Allow."""
    return [
        (index, statement)
        for index, statement in enumerate(_statements(document))
        if _get(statement, "Effect") != "Deny"
    ]


def _public_principals(principal: Any) -> list[str]:
    """The principal values that let anyone in: '*' (alone, in a list or under any key), or any
    wildcard, which IAM would match against every account."""
    if isinstance(principal, str):
        return [principal] if "*" in principal else []
    if isinstance(principal, Mapping):
        return [p for value in principal.values() for p in _public_principals(value)]  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
    return [p for value in _items(principal) for p in _public_principals(value)]


def _policy_document(props: Props) -> tuple[Any, list[str]]:
    document, problem = _json(props.get("policy"))
    if problem is not None:
        return None, [f"policy {problem}"]
    if not isinstance(document, Mapping):
        return None, ["policy is not a JSON object"]
    return document, []


def ecr_policy_not_public(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != ECR_REPOSITORY_POLICY:
        return []
    document, messages = _policy_document(props)
    for index, statement in _allowing_statements(document):
        public = _public_principals(_get(statement, "Principal"))
        if public:
            messages.append(f"Statement[{index}] allows the principal {public[0]!r} (anyone)")
        if _get(statement, "NotPrincipal") is not None:
            messages.append(
                f"Statement[{index}] allows with NotPrincipal, i.e. everyone but the listed ones"
            )
    return messages


def _matches(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def ecr_policy_no_admin_actions(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != ECR_REPOSITORY_POLICY:
        return []
    document, messages = _policy_document(props)
    for index, statement in _allowing_statements(document):
        actions = [a for a in _as_list(_get(statement, "Action")) if isinstance(a, str)]
        granted = [f for f in FORBIDDEN_ECR_ACTIONS if _matches(actions, f)]
        not_actions = _get(statement, "NotAction")
        if not_actions is not None:
            excluded = [a for a in _as_list(not_actions) if isinstance(a, str)]
            granted += [f for f in FORBIDDEN_ECR_ACTIONS if not _matches(excluded, f)]
        if granted:
            messages.append(
                f"Statement[{index}] grants {', '.join(dict.fromkeys(granted))}; delete and "
                "policy actions stay with IAM"
            )
    return messages


# --------------------------------------------------------------------------- ECR pull-through cache
# Repository creation templates shape every repository the cache creates (applied for
# PULL_THROUGH_CACHE); those repositories are not resources of the stack, so the template is
# where their encryption, lifecycle and policy are checked.


def ecr_template_encryption_set(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != ECR_CREATION_TEMPLATE:
        return []
    configurations = _items(props.get("encryptionConfigurations"))
    if not configurations:
        return ["encryptionConfigurations is not set; set encryptionType AES256 or KMS"]
    return [
        f"encryptionConfigurations[{index}].encryptionType is {kind!r}; "
        f"it must be one of {', '.join(ENCRYPTION_TYPES)}"
        for index, configuration in enumerate(configurations)
        if (kind := _get(configuration, "encryptionType")) not in ENCRYPTION_TYPES
    ]


def ecr_template_lifecycle_policy(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != ECR_CREATION_TEMPLATE:
        return []
    document, problem = _json(props.get("lifecyclePolicy"))
    if problem is not None:
        return [f"lifecyclePolicy {problem}; cached images would never expire"]
    if not _items(_get(document, "rules")):
        return ["lifecyclePolicy has no rules; cached images would never expire"]
    return []


def ecr_template_not_public(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != ECR_CREATION_TEMPLATE or props.get("repositoryPolicy") in (None, ""):
        return []
    document, problem = _json(props.get("repositoryPolicy"))
    if problem is not None or not isinstance(document, Mapping):
        return [f"repositoryPolicy {problem or 'is not a JSON object'}"]
    messages: list[str] = []
    for index, statement in _allowing_statements(document):
        public = _public_principals(_get(statement, "Principal"))
        if public:
            messages.append(
                f"repositoryPolicy Statement[{index}] allows the principal {public[0]!r} (anyone)"
            )
        if _get(statement, "NotPrincipal") is not None:
            messages.append(
                f"repositoryPolicy Statement[{index}] allows with NotPrincipal, i.e. everyone "
                "but the listed ones"
            )
    return messages


# --------------------------------------------------------------------------- ACR


def acr_anonymous_pull_disabled(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != ACR_REGISTRY:
        return []
    value = props.get("anonymousPullEnabled")
    if _is_true(value):
        return [f"anonymousPullEnabled is {value!r}; it must be false"]
    return []


# Built-in roles that read Key Vault secret values, the same GUIDs in every tenant
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security): Key Vault
# Secrets User, Key Vault Secrets Officer, Key Vault Administrator.
KEY_VAULT_SECRET_ROLE_IDS: tuple[str, ...] = (
    "4633458b-17de-408a-b874-0445c86b69e6",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483",
)
# One vault, or one secret in it: never the vault's group, subscription or above.
_KEY_VAULT_SCOPE = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+"
    r"(?:/secrets/[^/]+)?",
    re.IGNORECASE,
)


def key_vault_role_assignment_scoped(resource_type: str, props: Props, config: Config) -> list[str]:
    """A role that reads secret values (the mirror's ACR credential set gets Key Vault Secrets
    User) is granted on one vault, never on the group or subscription, where it would read every
    vault's secrets."""
    if resource_type != AZURE_ROLE_ASSIGNMENT:
        return []
    role = props.get("roleDefinitionId")
    if not isinstance(role, str) or role.rsplit("/", 1)[-1].lower() not in (
        KEY_VAULT_SECRET_ROLE_IDS
    ):
        return []
    scope = props.get("scope")
    if not isinstance(scope, str) or not _KEY_VAULT_SCOPE.fullmatch(scope):
        return [f"scope is {scope!r}; a Key Vault secrets role must be scoped to one vault"]
    return []


# ACR's role assignment permissions mode (Microsoft Learn, "Azure ABAC repository permissions in
# Azure Container Registry", container-registry-rbac-abac-repository-permissions): in
# `AbacRepositoryPermissions` (the CLI's `rbac-abac`) AcrPush, AcrPull and AcrDelete "are not
# honored", and ACR Tasks (the purge task) lose their default data-plane access; Microsoft says
# it will become the default for new registries. `LegacyRegistryPermissions` is classic RBAC.
ACR_CLASSIC_RBAC_MODE = "LegacyRegistryPermissions"


def acr_classic_rbac(resource_type: str, props: Props, config: Config) -> list[str]:
    """The stack grants AcrPush and AcrPull and runs a purge task: a registry in ABAC mode would
    honour none of them, so any mode but classic RBAC is refused (an unset mode is what the SDK
    in use sends: pulumi-azure-native 3.x's Registry has no roleAssignmentMode input)."""
    if resource_type != ACR_REGISTRY:
        return []
    mode = props.get("roleAssignmentMode")
    if mode is None or (isinstance(mode, str) and mode.lower() == ACR_CLASSIC_RBAC_MODE.lower()):
        return []
    return [
        f"roleAssignmentMode is {mode!r}; it must be {ACR_CLASSIC_RBAC_MODE} (classic RBAC): "
        "ABAC-enabled registries do not honour AcrPush, AcrPull or the purge task's access"
    ]


def acr_sku_allowed(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != ACR_REGISTRY:
        return []
    allowed = [s for s in _items(config.get("allowedSkus")) if isinstance(s, str)] or list(
        DEFAULT_ACR_SKUS
    )
    value = _get(props, "sku", "name")
    if value not in allowed:
        return [f"sku.name is {value!r}; it must be one of {', '.join(allowed)}"]
    return []


def _decoded_task(step: Any) -> str:
    """The task YAML of an EncodedTask step ('' for other steps: their file is not visible)."""
    content = _get(step, "encodedTaskContent")
    if not isinstance(content, str):
        return ""
    try:
        return base64.b64decode(content, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


# `acr purge` (the task runner's alias) or `<registry>/acr/acr-cli[:tag] purge` (a pinned image).
_PURGE = re.compile(r"(?:\bacr|/acr-cli(?::[\w.-]+)?)\s+purge\b")


def runs_untagged_purge(step: Any) -> bool:
    """True if an EncodedTask step runs `acr purge ... --untagged` (in one command)."""
    text = _decoded_task(step)
    for match in _PURGE.finditer(text):
        command = re.split(r"\bcmd\s*:", text[match.end() :], maxsplit=1)[0]
        if re.search(r"--untagged\b", command):
            return True
    return False


def _scheduled(task: Props) -> bool:
    if _get(task, "status") == "Disabled":
        return False
    timers = _items(_get(task, "trigger", "timerTriggers"))
    return any(_get(timer, "status") != "Disabled" and _get(timer, "schedule") for timer in timers)


def acr_untagged_cleanup(
    resources: Sequence[StackResource], config: Config
) -> list[tuple[str, str | None]]:
    """Every registry cleans up untagged manifests: a retention policy, or a scheduled ACR Task
    that runs `acr purge --untagged` against it."""
    purging: list[StackResource] = [
        r
        for r in resources
        if r.resource_type == ACR_TASK
        and _scheduled(r.props)
        and runs_untagged_purge(r.props.get("step"))
    ]
    violations: list[tuple[str, str | None]] = []
    for registry in resources:
        if registry.resource_type != ACR_REGISTRY:
            continue
        if _get(registry.props, "policies", "retentionPolicy", "status") == "enabled":
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


# --------------------------------------------------------------------------- Artifact Registry


def gar_docker_format(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != GAR_REPOSITORY:
        return []
    value = props.get("format")
    if not isinstance(value, str) or value.upper() != "DOCKER":
        return [f"format is {value!r}; it must be 'DOCKER'"]
    return []


_gar_standard_immutable_tags = _flag_is_true(GAR_REPOSITORY, "dockerConfig", "immutableTags")


def gar_immutable_tags(resource_type: str, props: Props, config: Config) -> list[str]:
    """Standard repositories only: a remote repository (a pull-through cache) holds what its
    upstream serves, so its tags follow upstream and it takes no pushes to protect."""
    if resource_type != GAR_REPOSITORY or props.get("mode") not in (None, "STANDARD_REPOSITORY"):
        return []
    return _gar_standard_immutable_tags(resource_type, props, config)


def gar_cleanup_policies(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != GAR_REPOSITORY:
        return []
    messages: list[str] = []
    if not _items(props.get("cleanupPolicies")):
        messages.append("cleanupPolicies is empty; untagged and old images are never deleted")
    dry_run = props.get("cleanupPolicyDryRun")
    if _is_true(dry_run):
        messages.append(
            f"cleanupPolicyDryRun is {dry_run!r}; the cleanup policies would only be simulated"
        )
    return messages


def gar_not_public(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type == GAR_IAM_MEMBER:
        members = _as_list(props.get("member"))
    elif resource_type == GAR_IAM_BINDING:
        members = _as_list(props.get("members"))
    elif resource_type == GAR_IAM_POLICY:
        document, problem = _json(props.get("policyData"))
        if problem is not None:
            return [f"policyData {problem}"]
        members = [
            member
            for binding in _items(_get(document, "bindings"))
            for member in _as_list(_get(binding, "members"))
        ]
    else:
        return []
    public = [m for m in members if m in PUBLIC_GCP_MEMBERS]
    if public:
        return [f"grants {', '.join(public)} access to the repository"]
    return []


# --------------------------------------------------------------------------- local registry


def _env(props: Props) -> dict[str, str]:
    pairs = [e.split("=", 1) for e in _items(props.get("envs")) if isinstance(e, str)]
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


def _image_repository(reference: str) -> str:
    """`docker.io/library/registry:2.8@sha256:...` -> `registry`."""
    last = reference.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def is_registry_container(props: Props) -> bool:
    """A container runs Docker's registry if its image is `registry` or it is configured with
    the registry's REGISTRY_* environment variables (its image is often just an ID)."""
    image = props.get("image")
    if isinstance(image, str) and _image_repository(image) == "registry":
        return True
    return any(key.startswith("REGISTRY_") for key in _env(props))


def local_registry_loopback(resource_type: str, props: Props, config: Config) -> list[str]:
    """Applies to every container of the stack, the registry first: nothing is published
    beyond this machine."""
    if resource_type != DOCKER_CONTAINER:
        return []
    messages: list[str] = []
    if props.get("networkMode") == "host":
        messages.append("networkMode is 'host'; every port would listen on all interfaces")
    for index, port in enumerate(_items(props.get("ports"))):
        ip = _get(port, "ip")
        if ip not in LOOPBACK_IPS:
            shown = "0.0.0.0 (unset)" if ip in (None, "") else repr(ip)
            messages.append(
                f"ports[{index}].ip is {shown}; publish on {' or '.join(LOOPBACK_IPS)} only"
            )
    return messages


def is_loopback_mirror(props: Props) -> bool:
    """A registry in proxy mode (a pull-through cache: Distribution refuses pushes to it) that
    publishes on loopback only. It may serve pulls without auth: the image build reaches it with
    no credentials of its own."""
    ports = _items(props.get("ports"))
    return (
        bool(_env(props).get("REGISTRY_PROXY_REMOTEURL"))
        and props.get("networkMode") != "host"
        and bool(ports)
        and all(_get(port, "ip") in LOOPBACK_IPS for port in ports)
    )


def local_registry_auth(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != DOCKER_CONTAINER or not is_registry_container(props):
        return []
    if is_loopback_mirror(props):
        return []
    env = _env(props)
    messages: list[str] = []
    if env.get("REGISTRY_AUTH") != "htpasswd":
        messages.append(f"REGISTRY_AUTH is {env.get('REGISTRY_AUTH')!r}; it must be 'htpasswd'")
    if not env.get("REGISTRY_AUTH_HTPASSWD_PATH"):
        messages.append("REGISTRY_AUTH_HTPASSWD_PATH is not set; htpasswd auth needs the file")
    return messages


# --------------------------------------------------------------------------- images


def image_platform_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != DOCKER_IMAGE:
        return []
    value = _get(props, "build", "platform")
    if not isinstance(value, str) or not value.strip():
        return [f"build.platform is {value!r}; pin the platform the image is built for"]
    return []


def image_tag_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != DOCKER_IMAGE:
        return []
    name = props.get("imageName")
    if not isinstance(name, str):
        return [f"imageName is {name!r}; it must be repository:tag"]
    last = name.split("@", 1)[0].rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    if not tag:
        return [f"imageName {name!r} has no tag (Docker would push 'latest')"]
    if tag == "latest":
        return [f"imageName {name!r} uses the moving tag 'latest'"]
    return []


def image_push_credentials(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != DOCKER_IMAGE or _is_true(props.get("skipPush")):
        return []
    missing = [
        f"registry.{key}"
        for key in ("server", "username", "password")
        if not _get(props, "registry", key)
    ]
    if missing:
        return [f"{', '.join(missing)} not set; the push would use ambient docker credentials"]
    return []


# --------------------------------------------------------------------------- keyless CI push

AWS_IAM_ROLE = "aws:iam/role:Role"
AZURE_FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
AZURE_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
GCP_WORKLOAD_IDENTITY_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
GCP_PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
GCP_PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE_AWS = "sts.amazonaws.com"
# Built-in ACR roles (role definition GUIDs are the same in every tenant): AcrPush, AcrPull,
# AcrDelete, AcrImageSigner, AcrQuarantineReader, AcrQuarantineWriter.
ACR_ROLE_IDS: tuple[str, ...] = (
    "8311e382-0749-4cb8-b61a-304f252e45ec",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
    "6cef56e8-d556-48e5-a04f-b8e64114680f",
    "cdda3590-29a3-44f6-95f2-9f980659eb04",
    "c8d4ff99-41c3-41a8-9f60-21dfdad59608",
)
_REGISTRY_SCOPE = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.ContainerRegistry/registries/[^/]+",
    re.IGNORECASE,
)
# `repo:<owner>/<name>:...`, or GitHub's immutable `repo:<owner>@<id>/<name>@<id>:...`, the
# repository part free of IAM's wildcards.
_GITHUB_SUBJECT = re.compile(r"repo:[^/*?:]+/[^/*?:]+:.+")
# The repository by name, or by its immutable numeric ID (never the owner alone).
_PINS_REPOSITORY = re.compile(r"\bassertion\.repository(?:_id)?\s*==")
PUBLIC_MEMBERS: tuple[str, ...] = (*PUBLIC_GCP_MEMBERS, "*")


def _condition_values(statement: Any, operators: tuple[str, ...], key: str) -> list[Any] | None:
    """The values a statement's Condition gives `key` under any of `operators`, or None when
    none of them names it. Condition keys are case-insensitive in IAM."""
    found: list[Any] | None = None
    condition = _get(statement, "Condition")
    if not isinstance(condition, Mapping):
        return None
    for operator, entries in condition.items():  # pyright: ignore[reportUnknownVariableType]
        if operator not in operators or not isinstance(entries, Mapping):
            continue
        for name, values in entries.items():  # pyright: ignore[reportUnknownVariableType]
            if isinstance(name, str) and name.lower() == key:
                found = (found or []) + _as_list(values)
    return found


def _trusts_github(statement: Any) -> bool:
    federated = _as_list(_get(statement, "Principal", "Federated"))
    return any(isinstance(p, str) and p.endswith(f"/{GITHUB_OIDC_HOST}") for p in federated)


def aws_github_trust_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    """A role trusting GitHub's OIDC provider pins `aud` to STS and `sub` to one repository."""
    if resource_type != AWS_IAM_ROLE:
        return []
    document, problem = _json(props.get("assumeRolePolicy"))
    if problem is not None:
        return [f"assumeRolePolicy {problem}"]
    messages: list[str] = []
    for index, statement in _allowing_statements(document):
        if not _trusts_github(statement):
            continue
        audiences = _condition_values(statement, ("StringEquals",), f"{GITHUB_OIDC_HOST}:aud")
        if not audiences or any(a != GITHUB_AUDIENCE_AWS for a in audiences):
            messages.append(
                f"Statement[{index}] trusts GitHub's OIDC provider without StringEquals "
                f"{GITHUB_OIDC_HOST}:aud = {GITHUB_AUDIENCE_AWS!r} (got {audiences!r})"
            )
        subjects = _condition_values(
            statement, ("StringEquals", "StringLike"), f"{GITHUB_OIDC_HOST}:sub"
        )
        if not subjects:
            messages.append(
                f"Statement[{index}] trusts GitHub's OIDC provider without pinning "
                f"{GITHUB_OIDC_HOST}:sub: every GitHub repository could assume the role"
            )
        for subject in subjects or []:
            if not isinstance(subject, str) or not _GITHUB_SUBJECT.fullmatch(subject):
                messages.append(
                    f"Statement[{index}] allows the subject {subject!r}: it must name one "
                    "repository (repo:<owner>/<name>:...) with no wildcard in it"
                )
    return messages


def gcp_github_provider_condition(resource_type: str, props: Props, config: Config) -> list[str]:
    """Google's own rule for GitHub's shared issuer, made mandatory: a condition that pins the
    repository, or any GitHub repository could sign in to the pool."""
    if resource_type != GCP_WORKLOAD_IDENTITY_PROVIDER:
        return []
    issuer = _get(props, "oidc", "issuerUri")
    if not isinstance(issuer, str) or issuer.rstrip("/") != f"https://{GITHUB_OIDC_HOST}":
        return []
    condition = props.get("attributeCondition")
    if not isinstance(condition, str) or not _PINS_REPOSITORY.search(condition):
        return [
            f"attributeCondition is {condition!r}; a provider for GitHub's issuer must pin "
            "assertion.repository == '<owner>/<name>' or assertion.repository_id == '<id>'"
        ]
    return []


def azure_federated_subject_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    if resource_type != AZURE_FEDERATED_CREDENTIAL:
        return []
    subject = props.get("subject")
    if not isinstance(subject, str) or not subject or "*" in subject or "?" in subject:
        return [f"subject is {subject!r}; it must be one exact subject, with no wildcard"]
    return []


def acr_role_assignment_scoped(resource_type: str, props: Props, config: Config) -> list[str]:
    """ACR roles are granted on a registry, never on its group, subscription or above."""
    if resource_type != AZURE_ROLE_ASSIGNMENT:
        return []
    role = props.get("roleDefinitionId")
    if not isinstance(role, str) or role.rsplit("/", 1)[-1].lower() not in ACR_ROLE_IDS:
        return []
    scope = props.get("scope")
    if not isinstance(scope, str) or not _REGISTRY_SCOPE.fullmatch(scope):
        return [f"scope is {scope!r}; an ACR role must be scoped to one registry"]
    return []


def no_public_grants(resource_type: str, props: Props, config: Config) -> list[str]:
    """No grant to allUsers, allAuthenticatedUsers or '*' anywhere: GCP IAM on the repository or
    the project, Azure role assignments, IAM trust and ECR repository policies."""
    members: list[Any]
    if resource_type in (GAR_IAM_MEMBER, GCP_PROJECT_IAM_MEMBER):
        members = _as_list(props.get("member"))
    elif resource_type in (GAR_IAM_BINDING, GCP_PROJECT_IAM_BINDING):
        members = _as_list(props.get("members"))
    elif resource_type == GAR_IAM_POLICY:
        document, _ = _json(props.get("policyData"))
        members = [
            member
            for binding in _items(_get(document, "bindings"))
            for member in _as_list(_get(binding, "members"))
        ]
    elif resource_type == AZURE_ROLE_ASSIGNMENT:
        members = _as_list(props.get("principalId"))
    elif resource_type in (AWS_IAM_ROLE, ECR_REPOSITORY_POLICY):
        key = "assumeRolePolicy" if resource_type == AWS_IAM_ROLE else "policy"
        document, _ = _json(props.get(key))
        # Any wildcard in an IAM principal matches every account.
        members = [
            "*"
            for _, statement in _allowing_statements(document)
            if _public_principals(_get(statement, "Principal"))
        ]
    else:
        return []
    public = [m for m in members if isinstance(m, str) and (m in PUBLIC_MEMBERS or m.endswith("*"))]
    if public:
        return [f"grants access to {', '.join(dict.fromkeys(public))} (anyone)"]
    return []


# --------------------------------------------------------------------------- the rule set

_NO_CONTROL = "No public control; a rule of this project."

RULES: tuple[Rule, ...] = (
    ResourceRule(
        "ecr-scan-on-push",
        "ECR repositories scan images on push (AWS Security Hub ECR.1; checkov CKV_AWS_163).",
        ("ECR.1", "CKV_AWS_163"),
        (ECR_REPOSITORY,),
        ecr_scan_on_push,
    ),
    ResourceRule(
        "ecr-immutable-tags",
        "ECR repositories refuse to overwrite a pushed tag "
        "(AWS Security Hub ECR.2; checkov CKV_AWS_51).",
        ("ECR.2", "CKV_AWS_51"),
        (ECR_REPOSITORY,),
        ecr_immutable_tags,
    ),
    ResourceRule(
        "ecr-encryption-set",
        "ECR repositories set their encryption explicitly, AES256 or KMS (mirrors checkov "
        "CKV_AWS_136, which asks for KMS; AES256 is accepted here).",
        ("CKV_AWS_136",),
        (ECR_REPOSITORY,),
        ecr_encryption_set,
    ),
    StackRule(
        "ecr-lifecycle-policy",
        "Every ECR repository has a lifecycle policy with rules attached (AWS Security Hub ECR.3).",
        ("ECR.3",),
        ecr_lifecycle_policy,
    ),
    ResourceRule(
        "ecr-policy-not-public",
        "ECR repository policies never allow Principal '*' or a wildcard principal "
        "(checkov CKV_AWS_32).",
        ("CKV_AWS_32",),
        (ECR_REPOSITORY_POLICY,),
        ecr_policy_not_public,
    ),
    ResourceRule(
        "ecr-policy-no-admin-actions",
        "ECR repository policies never grant delete or policy actions, wildcards included. "
        + _NO_CONTROL,
        (),
        (ECR_REPOSITORY_POLICY,),
        ecr_policy_no_admin_actions,
    ),
    ResourceRule(
        "ecr-cache-template-encryption",
        "ECR repository creation templates (the pull-through cache's repositories) set their "
        "encryption explicitly, AES256 or KMS; the counterpart of ecr-encryption-set (checkov "
        "CKV_AWS_136).",
        ("CKV_AWS_136",),
        (ECR_CREATION_TEMPLATE,),
        ecr_template_encryption_set,
    ),
    ResourceRule(
        "ecr-cache-template-lifecycle",
        "ECR repository creation templates (the pull-through cache's repositories) carry a "
        "lifecycle policy with rules; the counterpart of AWS Security Hub ECR.3.",
        ("ECR.3",),
        (ECR_CREATION_TEMPLATE,),
        ecr_template_lifecycle_policy,
    ),
    ResourceRule(
        "ecr-cache-template-not-public",
        "ECR repository creation templates never give the repositories they create a policy "
        "that allows Principal '*' or a wildcard principal (checkov CKV_AWS_32).",
        ("CKV_AWS_32",),
        (ECR_CREATION_TEMPLATE,),
        ecr_template_not_public,
    ),
    ResourceRule(
        "acr-anonymous-pull-disabled",
        "ACR registries refuse anonymous pulls (checkov CKV_AZURE_138).",
        ("CKV_AZURE_138",),
        (ACR_REGISTRY,),
        acr_anonymous_pull_disabled,
    ),
    ResourceRule(
        "key-vault-role-assignment-scoped",
        "Role assignments of a role that reads Key Vault secrets (Key Vault Secrets User, "
        "Secrets Officer, Administrator) are scoped to one vault, not its resource group or "
        "subscription. " + _NO_CONTROL,
        (),
        (AZURE_ROLE_ASSIGNMENT,),
        key_vault_role_assignment_scoped,
    ),
    ResourceRule(
        "acr-classic-rbac",
        "ACR registries keep classic RBAC (roleAssignmentMode LegacyRegistryPermissions or "
        "unset): ABAC-enabled registries honour neither AcrPush/AcrPull nor ACR Tasks' access. "
        + _NO_CONTROL,
        (),
        (ACR_REGISTRY,),
        acr_classic_rbac,
    ),
    ResourceRule(
        "acr-sku-allowed",
        "ACR registries use an allowed SKU (policy config allowedSkus; default Basic, "
        "Standard, Premium). " + _NO_CONTROL,
        (),
        (ACR_REGISTRY,),
        acr_sku_allowed,
    ),
    StackRule(
        "acr-untagged-cleanup",
        "Every ACR registry cleans up untagged manifests, by retention policy or a scheduled "
        "`acr purge --untagged` task (checkov CKV_AZURE_167).",
        ("CKV_AZURE_167",),
        acr_untagged_cleanup,
    ),
    ResourceRule(
        "gar-docker-format",
        "Artifact Registry repositories hold Docker images (format DOCKER). " + _NO_CONTROL,
        (),
        (GAR_REPOSITORY,),
        gar_docker_format,
    ),
    ResourceRule(
        "gar-immutable-tags",
        "Artifact Registry standard repositories refuse to overwrite a pushed tag "
        "(dockerConfig.immutableTags); a remote repository's tags follow its upstream. No public "
        "control; the counterpart of AWS Security Hub ECR.2.",
        (),
        (GAR_REPOSITORY,),
        gar_immutable_tags,
    ),
    ResourceRule(
        "gar-cleanup-policies",
        "Artifact Registry repositories have cleanup policies that are not a dry run. "
        "No public control; the counterpart of AWS Security Hub ECR.3.",
        (),
        (GAR_REPOSITORY,),
        gar_cleanup_policies,
    ),
    ResourceRule(
        "gar-not-public",
        "Artifact Registry IAM never grants allUsers or allAuthenticatedUsers "
        "(checkov CKV_GCP_101).",
        ("CKV_GCP_101",),
        (GAR_IAM_MEMBER, GAR_IAM_BINDING, GAR_IAM_POLICY),
        gar_not_public,
    ),
    ResourceRule(
        "local-registry-loopback",
        "Containers, the local registry first, publish ports on 127.0.0.1 or ::1 only. "
        + _NO_CONTROL,
        (),
        (DOCKER_CONTAINER,),
        local_registry_loopback,
    ),
    ResourceRule(
        "local-registry-auth",
        "The local registry container requires htpasswd basic auth; only a pull-through mirror "
        "(proxy mode, which takes no pushes) published on loopback alone may serve without it. "
        + _NO_CONTROL,
        (),
        (DOCKER_CONTAINER,),
        local_registry_auth,
    ),
    ResourceRule(
        "image-platform-pinned",
        "Images are built for a pinned platform (build.platform). " + _NO_CONTROL,
        (),
        (DOCKER_IMAGE,),
        image_platform_pinned,
    ),
    ResourceRule(
        "image-tag-pinned",
        "Images are pushed with an explicit tag that is not 'latest'. " + _NO_CONTROL,
        (),
        (DOCKER_IMAGE,),
        image_tag_pinned,
    ),
    ResourceRule(
        "image-push-credentials",
        "Images are pushed with explicit registry credentials (server, username, password). "
        + _NO_CONTROL,
        (),
        (DOCKER_IMAGE,),
        image_push_credentials,
    ),
    # Keyless CI push (issue 11)
    ResourceRule(
        "aws-github-oidc-trust-pinned",
        "IAM roles trusting GitHub's OIDC provider pin aud to sts.amazonaws.com and sub to one "
        "repository, with no wildcard in the repository part (GitHub and AWS guidance). "
        + _NO_CONTROL,
        (),
        (AWS_IAM_ROLE,),
        aws_github_trust_pinned,
    ),
    ResourceRule(
        "gcp-github-provider-condition",
        "Workload identity providers for GitHub's issuer have an attribute_condition pinning "
        "assertion.repository or assertion.repository_id (Google requires a condition for "
        "GitHub). " + _NO_CONTROL,
        (),
        (GCP_WORKLOAD_IDENTITY_PROVIDER,),
        gcp_github_provider_condition,
    ),
    ResourceRule(
        "azure-federated-credential-no-wildcard",
        "Azure federated identity credentials name one exact subject, no wildcard. " + _NO_CONTROL,
        (),
        (AZURE_FEDERATED_CREDENTIAL,),
        azure_federated_subject_pinned,
    ),
    ResourceRule(
        "acr-role-assignment-scoped",
        "ACR role assignments (AcrPush, AcrPull, AcrDelete, AcrImageSigner, AcrQuarantine*) are "
        "scoped to a registry, not its resource group or subscription. " + _NO_CONTROL,
        (),
        (AZURE_ROLE_ASSIGNMENT,),
        acr_role_assignment_scoped,
    ),
    ResourceRule(
        "no-public-grants",
        "No IAM grant to allUsers, allAuthenticatedUsers or '*', on any cloud (checkov "
        "CKV_GCP_101 and CKV_AWS_32, extended to trust policies and Azure role assignments).",
        ("CKV_GCP_101", "CKV_AWS_32"),
        (
            GAR_IAM_MEMBER,
            GAR_IAM_BINDING,
            GAR_IAM_POLICY,
            GCP_PROJECT_IAM_MEMBER,
            GCP_PROJECT_IAM_BINDING,
            AZURE_ROLE_ASSIGNMENT,
            AWS_IAM_ROLE,
            ECR_REPOSITORY_POLICY,
        ),
        no_public_grants,
    ),
)

RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)
