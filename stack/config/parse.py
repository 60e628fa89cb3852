"""The stack's config, as raw strings, turned into the components' Args once (args.py), and
checked by the components' own rules before any resource exists (`parse_settings`).

This layer owns what is about config rather than about a registry: keys set for a target they
do nothing on (warnings), the provider keys and their environment fallbacks, the app's own base
image, and the config key an error names, with the command that fixes it.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import shlex
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import cast

import pulumi

from container_registry import (
    AcrOptions,
    ArgumentError,
    Cloud,
    RegistryArgs,
    check_image_tag,
    check_registry_args,
    normal_platform,
)
from stack.config.args import cloud_of, flag, fold, registry_args, text
from stack.config.base_image import base_image
from stack.config.errors import SettingsError, from_argument_error
from stack.config.hints import (
    config_command,
    immutable_form_command,
    remove_command,
    set_secret_command,
    subject_template_command,
)
from stack.config.keys import (
    KEY_TARGETS,
    MIRROR_KEYS,
    PROJECT_KEYS,
)
from stack.config.settings import EngineSettings, Settings

__all__ = ["EngineSettings", "Settings", "parse_settings"]

# The day GitHub makes the immutable form the default for new, renamed and transferred
# repositories (github/docs PR 45221).
IMMUTABLE_SUBJECTS_FROM = "2026-07-15"
# The schemes the Docker CLI and the provider dial, then printable ASCII without spaces.
_DOCKER_HOST = re.compile(r"(?:unix|tcp|ssh|npipe|fd)://[!-~]{0,2000}")
# docker/cli's context name rule (cli/command/context.go, validateContextName's pattern).
_DOCKER_CONTEXT = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.+-]{0,99}")


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
    if key == "ciSubjectIncludesRef" and error.value is None:
        repository = (text(raw, "ciRepository") or "").split("/")
        plain = "/".join(part.split("@")[0] for part in repository)
        declare = config_command(stack, key, "true")
        return _again(
            error,
            f"{message} with `{subject_template_command(plain)}`, then declare it with "
            f"`{declare}` (docs/ci.md)",
        )
    if key == "ciRepository" and _one_id(text(raw, key) or ""):
        repository = re.sub(r"@[0-9]+", "", text(raw, key) or "")
        return _again(error, f"{message}; `{immutable_form_command(repository)}` prints it")
    return error


def _one_id(repository: str) -> bool:
    """Whether `repository` gives one of GitHub's two numeric IDs (owner@ID/name@ID) only."""
    owner, _, name = repository.partition("/")
    return ("@" in owner) != ("@" in name)


def _check_ci_alone(raw: Mapping[str, str | None]) -> None:
    """ciRef, ciEnvironment and ciSubjectIncludesRef, checked by the Registry's own rules while
    ciRepository is unset (they do nothing then, but a typo must not wait for the day it is
    set): as the `ci` block of a stand-in registry, which creates nothing. On gcp, because its
    trust checks the ref itself: the field rules alone apply, no rule that joins them to a
    cloud's subject (those apply once ciRepository is set, on the stack's own cloud)."""
    alone = {
        "ref": text(raw, "ciRef"),
        "environment": text(raw, "ciEnvironment"),
        "subject_includes_ref": flag(raw, "ciSubjectIncludesRef"),
    }
    given = {key: value for key, value in alone.items() if value is not None}
    if given:
        stand_in = {"project": "stand-in-project", "location": "us-central1"}
        ci = {"repository": "stand-in/stand-in", **given}
        # As typed, for the Registry's own rules to refuse (registry_args does the same).
        check_registry_args(cast(RegistryArgs, {"cloud": Cloud.GCP, "gcp": stand_in, "ci": ci}))


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
    cloud = cloud_of(raw)
    try:
        tag, platform = text(raw, "imageTag"), text(raw, "platform")
        image_tag = check_image_tag(tag, "image.tag") if tag is not None else None
        platform = normal_platform(platform, "image.platform") if platform is not None else None
        args = registry_args(raw, cloud, secrets or {}, stack, platform)
        if text(raw, "ciRepository") is None:
            _check_ci_alone(raw)
        options = check_registry_args(args)
        _docker_hub_pairs(raw, stack)
    except ArgumentError as error:
        if error.value is None and error.property_path in _PROVIDER_PATHS:
            _provider_keys(raw, cloud, stack)  # the same, with the command that sets the key
        raise _hint(from_argument_error(error, raw), raw, stack) from error
    base = base_image().repository
    names = options.mirror.repositories if isinstance(options, AcrOptions) else ("*",)
    if "*" not in names and base not in names:
        raise SettingsError(
            "mirrorRepositories",
            text(raw, "mirrorRepositories"),
            f"leaves out {base}, the app's base image, which the build pulls through the mirror: "
            f'add {json.dumps(base)} (or use ["*"])',
        )
    return Settings(
        cloud=Cloud(cloud).value,  # a Cloud: check_registry_args refused any other value
        options=replace(options, pulumi_project=project, pulumi_stack=stack),
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


@functools.lru_cache(maxsize=8)
def _stand_in(cloud: str) -> Settings | None:
    """The settings of a stack on `cloud` with the stand-in provider values and nothing else
    set (None if even that is refused)."""
    try:
        return _parse({**_STAND_INS, "cloud": cloud})
    except SettingsError:
        return None


# Memoized: the answer depends on the key and the value alone (the stand-ins are constants), and
# parse_settings asks it for every key a stack sets that does not apply to its target.
@functools.lru_cache(maxsize=4096)
def _differs_from_default(key: str, value: str) -> bool:
    """Whether `value` means something else than `key`'s default. Pulumi copies every default of
    Pulumi.yaml into the stack's config (mergeConfig in pkg/workspace/config.go of pulumi/pulumi),
    so a value equal to the default may be nobody's choice and is no reason to warn."""
    targets = KEY_TARGETS[key]
    cloud = "gcp" if "gcp" in targets else targets[0]
    default = _stand_in(cloud)
    try:
        return default is None or _parse({**_STAND_INS, "cloud": cloud, key: value}) != default
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
