"""The stack's config, as raw strings, turned into the components' Args once, and checked by the
components' own rules before any resource exists (`parse_settings`).

This layer owns what is about config rather than about a registry: the string forms (numbers,
booleans and JSON lists typed at a prompt), secrets set in plain text, keys set for a target
they do nothing on (warnings), the provider keys and their environment fallbacks, the app's own
build (app/, its base image), and the config key an error names.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import pulumi

from container_registry.args import RegistryArgs
from container_registry.errors import ArgumentError
from container_registry.github import ONE_ID_RULE, ref_and_environment
from container_registry.image import check_tag
from container_registry.naming import choice, fold, normal_platform
from container_registry.options import (
    AwsOptions,
    AzureOptions,
    CiOptions,
    GcpOptions,
    LocalOptions,
    MirrorOptions,
    RegistryOptions,
)
from container_registry.registry import resolve
from stack_config.base_image import IMAGE_ARG, base_image
from stack_config.errors import SettingsError, from_argument_error
from stack_config.hints import (
    config_command,
    immutable_form_command,
    remove_command,
    set_secret_command,
)
from stack_config.keys import (
    CLOUDS,
    KEY_TARGETS,
    MIRROR_KEYS,
    PROJECT_KEYS,
    SECRET_SET,
)

APP_CONTEXT = "app"
# The day GitHub makes the immutable form the default for new, renamed and transferred
# repositories (github/docs PR 45221).
IMMUTABLE_SUBJECTS_FROM = "2026-07-15"
_UINT = re.compile(r"[0-9]{1,10}")
# The schemes the Docker CLI and the provider dial, then printable ASCII without spaces.
_DOCKER_HOST = re.compile(r"(?:unix|tcp|ssh|npipe|fd)://[!-~]{0,2000}")
# docker/cli's context name rule (cli/command/context.go, validateContextName's pattern).
_DOCKER_CONTEXT = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.+-]{0,99}")


@dataclass(frozen=True)
class EngineSettings:
    """The Docker engine the stack's Docker resources use (stack_config/engine.py)."""

    host: str | None = None
    context: str | None = None
    cert_path: str | None = None
    check: bool = True


@dataclass(frozen=True)
class Settings:
    """The stack's config, read once: the Registry's Args (and the same, checked, as `options`),
    the app image's tag and platform, the engine, and the warnings to show."""

    cloud: str = "local"
    options: RegistryOptions = field(default_factory=RegistryOptions)
    image_tag: str | None = None
    platform: str | None = None
    """None: linux/amd64 on the clouds, the engine's own architecture on the local target."""
    engine: EngineSettings = field(default_factory=EngineSettings)
    project: str = "container-registry"
    stack: str = "dev"
    args: RegistryArgs = field(default_factory=lambda: {"cloud": "local"}, compare=False)
    # Keys set for a target they have no effect on; load_settings logs them. Not a setting, so
    # two Settings that configure the same thing compare equal whatever was set beside them.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def mirror_enabled(self) -> bool:
        return self.options.mirror.enabled

    # What the checked options say, read where the stack needs one value (and by its tests).
    @property
    def repository_name(self) -> str:
        return self.options.repository_name

    @property
    def untagged_expiry_days(self) -> int:
        return self.options.untagged_expiry_days

    @property
    def keep_tagged_images(self) -> int:
        return self.options.keep_tagged_images

    @property
    def immutable_tags(self) -> bool:
        return self.options.immutable_tags

    @property
    def force_delete(self) -> bool:
        return self.options.force_delete

    @property
    def aws(self) -> AwsOptions:
        return self.options.aws

    @property
    def azure(self) -> AzureOptions:
        return self.options.azure

    @property
    def gcp(self) -> GcpOptions | None:
        return self.options.gcp

    @property
    def local(self) -> LocalOptions:
        return self.options.local

    @property
    def mirror(self) -> MirrorOptions:
        return self.options.mirror

    @property
    def ci(self) -> CiOptions | None:
        return self.options.ci


def text(raw: Mapping[str, str | None], key: str) -> str | None:
    """The value as the user set it, or None when unset or empty."""
    value = raw.get(key)
    if value is None or value == "":
        return None
    return value


def _number(raw: Mapping[str, str | None], key: str) -> int | str | None:
    """A whole number typed as text; anything else is handed on as typed, for the component to
    refuse with its own rule (the range is the component's)."""
    value = text(raw, key)
    if value is None:
        return None
    return int(value) if _UINT.fullmatch(value) else value


def _flag(raw: Mapping[str, str | None], key: str) -> bool | str | None:
    """true or false in any case; anything else handed on as typed, for the component to refuse."""
    value = text(raw, key)
    if value is None:
        return None
    return {"true": True, "false": False}.get(fold(value), value)


def _json_list(
    raw: Mapping[str, str | None], key: str, plural: str, stack: str
) -> list[Any] | None:
    """A list set as JSON (`pulumi config set --path` or a JSON string); a plain string is
    refused with the command that sets it right."""
    value = text(raw, key)
    if value is None:
        return None
    try:
        parsed: object = json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        parsed = None
    if parsed is None or isinstance(parsed, str):
        # `pulumi config set pullPrincipals X` stores a plain string, not a list; a JSON list
        # set the same way is read as one (json.loads above).
        single = parsed if isinstance(parsed, str) else value
        shown = single if single.isprintable() and 0 < len(single) <= 80 else "<value>"
        fix = config_command(stack, key, shlex.quote(json.dumps([shown])))
        raise SettingsError(key, value, f"is not a list of {plural}: give a JSON list, `{fix}`")
    if not isinstance(parsed, list):
        raise SettingsError(key, value, f"is not a list of {plural}")
    return cast("list[Any]", parsed)


def _put(target: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        target[key] = value


def _secret(
    raw: Mapping[str, str | None], key: str, secrets: Mapping[str, pulumi.Output[str]], stack: str
) -> pulumi.Output[str] | None:
    """A secret key's value as a Pulumi secret, or None when unset. read_config records only
    whether it was set, and how; a value stored in plain text is refused."""
    state = text(raw, key)
    if state is None:
        return None
    if state != SECRET_SET:
        # Never echo the value: it is meant to be a credential.
        raise SettingsError(
            key,
            "(not shown)",
            "is stored in plain text: set it again as a secret, at a hidden prompt (not on the "
            "command line, where your shell's history keeps it): "
            f"`{set_secret_command(stack, key)}`",
        )
    value = secrets.get(key)
    if value is None:
        raise SettingsError(key, None, "is set, but its secret value was not handed over")
    return pulumi.Output.secret(value)


def registry_args(
    raw: Mapping[str, str | None],
    cloud: str,
    secrets: Mapping[str, pulumi.Output[str]],
    stack: str,
    platform: str | None,
) -> RegistryArgs:
    """The Registry's Args from the config. A key left unset is left out, so the component's
    default applies (written once, in container_registry/args.py). Every target's options are
    given, whichever is chosen: the component checks them all, so a typo never waits for the
    day someone switches targets."""
    args: dict[str, Any] = {"cloud": text(raw, "cloud") or cloud}
    _put(args, "repository_name", text(raw, "repositoryName"))
    _put(args, "immutable_tags", _flag(raw, "immutableTags"))
    _put(args, "force_delete", _flag(raw, "forceDelete"))
    lifecycle: dict[str, Any] = {}
    _put(lifecycle, "untagged_expiry_days", _number(raw, "untaggedExpiryDays"))
    _put(lifecycle, "keep_tagged_images", _number(raw, "keepTaggedImages"))
    args["lifecycle"] = lifecycle
    _put(args, "pull_principals", _principals(raw, cloud, stack))
    mirror: dict[str, Any] = {}
    _put(mirror, "enabled", _flag(raw, "mirror"))
    repositories = _json_list(raw, "mirrorRepositories", "Docker official image names", stack)
    # Unset or empty: the app's base image, the one repository its build pulls.
    mirror["repositories"] = repositories or [base_image().repository]
    _put(mirror, "docker_hub_user", text(raw, "dockerHubUser"))
    _put(mirror, "docker_hub_token", _secret(raw, "dockerHubToken", secrets, stack))
    args["mirror"] = mirror
    ci_repository = text(raw, "ciRepository")
    if ci_repository is not None:
        ci: dict[str, Any] = {
            "repository": ci_repository,
            "context": APP_CONTEXT,
            # The base image through the mirror, when there is one (app/Dockerfile's ARG).
            "mirror_build_args": {IMAGE_ARG: base_image().repository},
        }
        _put(ci, "ref", text(raw, "ciRef"))
        _put(ci, "environment", text(raw, "ciEnvironment"))
        _put(ci, "platform", platform)
        args["ci"] = ci
    aws: dict[str, Any] = {}
    _put(aws, "kms_key_arn", text(raw, "ecrKmsKeyArn"))
    _put(aws, "oidc_provider_arn", text(raw, "awsOidcProviderArn"))
    _put(aws, "docker_hub_secret_arn", text(raw, "dockerHubCredentialsSecretArn"))
    azure: dict[str, Any] = {}
    _put(azure, "sku", text(raw, "acrSku"))
    _put(azure, "resource_group", text(raw, "azureResourceGroup"))
    _put(azure, "location", text(raw, "azure-native:location"))
    _put(azure, "docker_hub_username_secret_uri", text(raw, "acrDockerHubUsernameSecretUri"))
    _put(azure, "docker_hub_password_secret_uri", text(raw, "acrDockerHubPasswordSecretUri"))
    _put(azure, "docker_hub_key_vault_id", text(raw, "acrDockerHubKeyVaultId"))
    gcp: dict[str, Any] = {}
    _put(gcp, "project", text(raw, "gcp:project"))
    _put(gcp, "location", text(raw, "gcpLocation") or text(raw, "gcp:region"))
    _put(gcp, "docker_hub_password_secret_version", text(raw, "gcpDockerHubPasswordSecretVersion"))
    local: dict[str, Any] = {}
    _put(local, "port", _number(raw, "localPort"))
    _put(local, "user", text(raw, "localUser"))
    _put(local, "mirror_port", _number(raw, "localMirrorPort"))
    args |= {"aws": aws, "azure": azure, "gcp": gcp, "local": local}
    return cast(RegistryArgs, args)


def _principals(raw: Mapping[str, str | None], cloud: str, stack: str) -> list[Any] | None:
    plural = {
        "aws": "IAM principal ARNs",
        "azure": "Entra object IDs",
        "gcp": "IAM members",
    }.get(cloud, "IAM principal ARNs, Entra object IDs or IAM members")
    return _json_list(raw, "pullPrincipals", plural, stack)


# Paths the provider keys (or their environment variables) fill in; missing, they get the hint.
_PROVIDER_PATHS = ("gcp.project", "gcp.location", "azure.location")


def _provider_keys(raw: Mapping[str, str | None], cloud: str, stack: str) -> None:
    """The provider settings the chosen target cannot do without, with the command that sets
    each (they live in the providers' namespaces, or their environment variables)."""
    if cloud == "gcp":
        if text(raw, "gcp:project") is None:
            fix = config_command(stack, "gcp:project", "<project-id>")
            raise SettingsError(
                "gcp:project", None, f"is not set: run `{fix}` (or set GOOGLE_PROJECT)"
            )
        if text(raw, "gcpLocation") is None and text(raw, "gcp:region") is None:
            region = config_command(stack, "gcp:region", "<region>")
            location = config_command(stack, "gcpLocation", "<location>")
            raise SettingsError(
                "gcpLocation",
                None,
                f"is not set and neither is gcp:region: run `{region}` or `{location}`",
            )
    if (
        cloud == "azure"
        and text(raw, "azureResourceGroup") is None
        and text(raw, "azure-native:location") is None
    ):
        location = config_command(stack, "azure-native:location", "<region>")
        group = config_command(stack, "azureResourceGroup", "<name>")
        raise SettingsError(
            "azure-native:location",
            None,
            f"is not set: run `{location}` (or set ARM_LOCATION), or name an existing group "
            f"with `{group}`",
        )


def _docker_hub_pairs(raw: Mapping[str, str | None], stack: str) -> None:
    """Upstream credentials come in pairs, whichever target uses them: a user name needs the
    token (local) or its secret version (gcp), and either needs the user name."""
    user = text(raw, "dockerHubUser")
    token, version = text(raw, "dockerHubToken"), text(raw, "gcpDockerHubPasswordSecretVersion")
    if user is None and (token is not None or version is not None):
        raise SettingsError(
            "dockerHubUser", None, "is not set: Docker Hub credentials need the user name too"
        )
    if user is not None and token is None and version is None:
        raise SettingsError(
            "dockerHubToken",
            None,
            f"is not set while dockerHubUser is: set it (local) at a hidden prompt with "
            f"`{set_secret_command(stack, 'dockerHubToken')}`, or set "
            "gcpDockerHubPasswordSecretVersion (gcp)",
        )


def _hint(error: SettingsError, raw: Mapping[str, str | None], stack: str) -> SettingsError:
    """The fix, for the errors a command fixes: the error again with it appended."""
    key, message = error.key, str(error)
    if key == "acrDockerHubKeyVaultId":
        uri = text(raw, "acrDockerHubUsernameSecretUri") or ""
        vault = uri.removeprefix("https://").split(".", 1)[0] or "<vault>"
        lookup = f'"$(az keyvault show -n {vault} --query id -o tsv)"'
        if error.value is None:
            return _again(error, f"{message}; run `{config_command(stack, key, lookup)}`")
        return _again(
            error, f"{message} (`az keyvault show -n <vault> --query id -o tsv` prints it)"
        )
    if key == "ciRepository" and ONE_ID_RULE in message:
        repository = re.sub(r"@[0-9]+", "", text(raw, key) or "")
        return _again(error, f"{message}; `{immutable_form_command(repository)}` prints it")
    return error


def _again(error: SettingsError, message: str) -> SettingsError:
    found = SettingsError(error.key, None, "")
    found.args = (message,)
    found.value = error.value
    return found


def _parse(
    raw: Mapping[str, str | None],
    *,
    project: str = "container-registry",
    stack: str = "dev",
    secrets: Mapping[str, pulumi.Output[str]] | None = None,
) -> Settings:
    """parse_settings without the warnings."""
    value = text(raw, "cloud")
    cloud = (choice(value, CLOUDS) if value is not None else "local") or value or "local"
    try:
        tag, platform = text(raw, "imageTag"), text(raw, "platform")
        image_tag = check_tag(tag, "image.tag") if tag is not None else None
        platform = normal_platform(platform, "image.platform") if platform is not None else None
        args = registry_args(raw, cloud, secrets or {}, stack, platform)
        if text(raw, "ciRepository") is None:
            ref_and_environment(
                {"ref": text(raw, "ciRef"), "environment": text(raw, "ciEnvironment")}
            )
        options = resolve(args)
        _docker_hub_pairs(raw, stack)
    except ArgumentError as error:
        if error.value is None and error.property_path in _PROVIDER_PATHS:
            _provider_keys(raw, cloud, stack)  # the same, with the command that sets the key
        raise _hint(from_argument_error(error, raw), raw, stack) from error
    base = base_image().repository
    names = options.mirror.repositories
    if "*" not in names and base not in names:
        raise SettingsError(
            "mirrorRepositories",
            text(raw, "mirrorRepositories"),
            f"leaves out {base}, the app's base image, which the build pulls through the mirror: "
            f'add {json.dumps(base)} (or use ["*"])',
        )
    return Settings(
        cloud=options.cloud,
        options=replace(options, project=project, stack=stack),
        image_tag=image_tag,
        platform=platform,
        engine=_engine(raw),
        project=project,
        stack=stack,
        args=args,
    )


def _engine(raw: Mapping[str, str | None]) -> EngineSettings:
    host, context = text(raw, "docker:host"), text(raw, "docker:context")
    if host is not None and not _DOCKER_HOST.fullmatch(host):
        raise SettingsError(
            "docker:host",
            host,
            "is not a Docker engine address such as unix:///var/run/docker.sock, "
            "tcp://host:2376 or ssh://user@host",
        )
    if context is not None and not _DOCKER_CONTEXT.fullmatch(context):
        raise SettingsError(
            "docker:context",
            context,
            "is not a Docker context name (letters, digits, '_', '.', '+' and '-'; see "
            "`docker context ls`)",
        )
    check = text(raw, "docker:disableDockerDaemonCheck")
    if check is not None and fold(check) not in ("true", "false"):
        raise SettingsError("docker:disableDockerDaemonCheck", check, "is not true or false")
    return EngineSettings(
        host=host,
        context=context,
        cert_path=text(raw, "docker:certPath"),
        check=check is None or fold(check) != "true",
    )


# A key's value is compared as that of a stack on a target the key applies to (gcp when it
# does: there, every mirror key's value lands in the options too), with stand-in provider
# values; they go nowhere else.
_STAND_INS: dict[str, str | None] = {
    "gcp:project": "stand-in-project",
    "gcp:region": "us-central1",
    "azure-native:location": "westeurope",
}


def _differs_from_default(key: str, value: str) -> bool:
    """Whether `value` means something else than `key`'s default. Pulumi copies every default of
    Pulumi.yaml into the stack's config (mergeConfig in pkg/workspace/config.go of pulumi/pulumi),
    so a value equal to the default may be nobody's choice and is no reason to warn."""
    targets = KEY_TARGETS[key]
    cloud = "gcp" if "gcp" in targets else targets[0]
    compare = {**_STAND_INS, "cloud": cloud}
    try:
        return _parse({**compare, key: value}) != _parse(compare)
    except SettingsError:
        return True


def unused_key_warnings(
    raw: Mapping[str, str | None], cloud: str, stack: str, *, mirror: bool
) -> tuple[str, ...]:
    """A warning for each project key set to something other than its default although it has
    no effect on `cloud`, or no effect without the mirror (`mirror`: whether it is on)."""
    warnings: list[str] = []
    for key, targets in KEY_TARGETS.items():
        value = text(raw, key)
        if value is None or (cloud in targets and (mirror or key not in MIRROR_KEYS)):
            continue
        if not _differs_from_default(key, value):
            continue
        if cloud not in targets:
            why = f"on the {cloud} target (it applies to {', '.join(targets)})"
        else:
            why = f"without the mirror (`{config_command(shlex.quote(stack), 'mirror', 'true')}`)"
        warnings.append(f"{key} has no effect {why}; `{remove_command(stack, key)}` removes it")
    return tuple(warnings)


def unknown_key_warnings(set_keys: Collection[str], stack: str) -> tuple[str, ...]:
    """A warning for each key of this project's namespace that the program does not read, with
    the known key closest to it (a typo such as `cloudd` would otherwise deploy the default).

    A warning, not an error: the stack's config may come from a newer or older version of this
    program (a branch that adds or renames a key) or from an ESC environment, and refusing
    the key would stop those stacks altogether, while the warning shows on every `pulumi up`
    and preview."""
    known = {fold(key): key for key in PROJECT_KEYS}
    warnings: list[str] = []
    for key in sorted(set(set_keys) - set(PROJECT_KEYS)):
        close = difflib.get_close_matches(fold(key), known, n=1)
        hint = f"did you mean `{known[close[0]]}`?" if close else "README.md lists every key;"
        warnings.append(
            f"{key} is not a setting of this program: {hint} "
            f"`{remove_command(stack, key)}` removes it"
        )
    return tuple(warnings)


def ci_warnings(settings: Settings) -> tuple[str, ...]:
    """A warning when ciRepository has no IDs: the clouds then trust only the name-only subject,
    which GitHub no longer issues to every repository."""
    ci = settings.options.ci
    if ci is None or ci.immutable:
        return ()
    stack = settings.stack
    return (
        f"ciRepository {ci.repository} has no numeric IDs, so the clouds trust only the subject "
        f"{ci.subject!r}. Repositories created, renamed or transferred on or after "
        f"{IMMUTABLE_SUBJECTS_FROM}, and those opted in by their owner or organization, get "
        "tokens with GitHub's immutable subject (repo:owner@OWNER_ID/name@REPO_ID:...), and "
        "every push from them is "
        f"refused. `{immutable_form_command(ci.repository)}` prints the immutable form; set it "
        f"with `{config_command(stack, 'ciRepository', '<what it printed>')}` (docs/ci.md)",
    )


def parse_settings(
    raw: Mapping[str, str | None],
    *,
    project: str = "container-registry",
    stack: str = "dev",
    secrets: Mapping[str, pulumi.Output[str]] | None = None,
    set_keys: Collection[str] = (),
) -> Settings:
    """Turn raw config strings into Settings, or raise SettingsError naming the first bad key.

    Every project key is checked whichever cloud is chosen, so a typo never waits for the day
    someone switches targets; provider keys are required only by the target that needs them.
    `set_keys` are the keys of the project's namespace the stack sets (read_project_keys).
    A key the program does not know, and one that has no effect on the chosen target, are
    reported in `Settings.warnings`.
    """
    settings = _parse(raw, project=project, stack=stack, secrets=secrets)
    warnings = (
        *unknown_key_warnings(set_keys, stack),
        *unused_key_warnings(raw, settings.cloud, stack, mirror=settings.mirror_enabled),
        *ci_warnings(settings),
    )
    return replace(settings, warnings=warnings)
