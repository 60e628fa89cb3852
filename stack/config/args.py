"""The stack's config strings as the Registry's Args: numbers, booleans and JSON lists as typed
at a prompt, secrets only as secrets, every target's options given (the components check them
all), and a key left unset left out, so the component's default applies."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any, cast

import pulumi

from container_registry import Cloud, RegistryArgs
from stack.config.base_image import IMAGE_ARG, base_image
from stack.config.errors import SettingsError
from stack.config.hints import config_command, set_secret_command
from stack.config.keys import CLOUDS, SECRET_SET

APP_CONTEXT = "app"
_UINT = re.compile(r"[0-9]{1,10}")


def fold(value: str) -> str:
    """A config word in lowercase if it is ASCII, else unchanged (`TRUE` is `true`), the case rule
    the components give their enumerations: only ASCII folds, so `ſ` never passes for `s`."""
    return value.lower() if value.isascii() else value


def choice(value: str, allowed: tuple[str, ...]) -> str | None:
    """One of `allowed`, in any case, spelled as there; None when it is none of them."""
    return {fold(option): option for option in allowed}.get(fold(value))


def cloud_of(raw: Mapping[str, str | None]) -> Cloud | str:
    """The `cloud` key as the Cloud it names, in any case (local when unset). A value that names
    none is kept as typed, for the Registry to refuse naming `cloud`, in its own words."""
    value = text(raw, "cloud")
    if value is None:
        return Cloud.LOCAL
    found = choice(value, CLOUDS)
    return value if found is None else Cloud(found)


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


def flag(raw: Mapping[str, str | None], key: str) -> bool | str | None:
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
    cloud: Cloud | str,
    secrets: Mapping[str, pulumi.Output[str]],
    stack: str,
    platform: str | None,
) -> RegistryArgs:
    """The Registry's Args from the config. A key left unset is left out, so the component's
    default applies (written once, in container_registry/args.py). Every target's options are
    given, whichever is chosen: the component checks them all, so a typo never waits for the
    day someone switches targets."""
    args: dict[str, Any] = {"cloud": cloud}
    _put(args, "repository_name", text(raw, "repositoryName"))
    _put(args, "immutable_tags", flag(raw, "immutableTags"))
    _put(args, "force_delete", flag(raw, "forceDelete"))
    lifecycle: dict[str, Any] = {}
    _put(lifecycle, "untagged_expiry_days", _number(raw, "untaggedExpiryDays"))
    _put(lifecycle, "keep_tagged_images", _number(raw, "keepTaggedImages"))
    args["lifecycle"] = lifecycle
    _put(args, "pull_principals", _principals(raw, cloud, stack))
    mirror: dict[str, Any] = {}
    _put(mirror, "enabled", flag(raw, "mirror"))
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
        _put(ci, "subject_includes_ref", flag(raw, "ciSubjectIncludesRef"))
        _put(ci, "platform", platform)
        args["ci"] = ci
    aws: dict[str, Any] = {}
    _put(aws, "kms_key_arn", text(raw, "ecrKmsKeyArn"))
    archive_days = _number(raw, "ecrArchiveUnpulledDays")
    # 0, Pulumi.yaml's default, means off: delete past keepTaggedImages.
    _put(aws, "archive_unpulled_days", None if archive_days == 0 else archive_days)
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
