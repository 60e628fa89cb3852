"""The stack program's side of the package: its config read once and mapped to the components'
Args (parse.py, keys.py), its errors naming config keys (errors.py) with the commands that fix
them (hints.py), the one Docker engine (engine.py) and the app's base image (base_image.py).
__main__.py is the flow; everything it needs beyond the components is here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pulumi

from container_registry import Registry, RegistryImageArgs
from container_registry.errors import ArgumentError
from container_registry.image import TYPE as IMAGE_TYPE
from container_registry.registry import TARGET_SDKS
from container_registry.registry import TYPE as REGISTRY_TYPE
from stack_config.args import APP_CONTEXT
from stack_config.base_image import IMAGE_ARG, base_image
from stack_config.engine import PreparedEngine, prepare_engine
from stack_config.errors import SettingsError, from_argument_error
from stack_config.hints import install_command
from stack_config.keys import read_config, read_project_keys, read_secrets
from stack_config.parse import Settings, parse_settings

__all__ = [
    "Settings",
    "SettingsError",
    "component_errors",
    "image_args",
    "image_options",
    "load_settings",
    "prepare_engine",
    "registry_options",
]
# The component types of the program before the package (registries/<target>.py). A stack made
# then keeps every resource: the Registry aliases its target's old type (registry_options), and
# the app image its old URN (image_options); tests/test_urns.py holds both to recorded stacks.
LEGACY_TYPES: dict[str, str] = {
    "local": "container-registry:local:LocalRegistry",
    "aws": "container-registry:aws:EcrRegistry",
    "azure": "container-registry:azure:AcrRegistry",
    "gcp": "container-registry:gcp:ArtifactRegistry",
}
# The components themselves; every other resource under them is a child that had an old URN.
COMPONENT_TYPES = (REGISTRY_TYPE, IMAGE_TYPE)


def load_settings() -> Settings:
    """The settings of the running stack; raises SettingsError before anything is created, and
    warns (`pulumi up` shows it) about each key it does not know or that has no effect."""
    settings = parse_settings(
        read_config(),
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        secrets=read_secrets(),
        set_keys=read_project_keys(),
    )
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    return settings


@contextmanager
def component_errors(settings: Settings) -> Iterator[None]:
    """A component's bad-input error re-raised naming the config key, and a cloud SDK that venv/
    lacks named with the command that installs it; both before anything is registered."""
    try:
        yield
    except ArgumentError as error:
        raise from_argument_error(error, read_config()) from error
    except ModuleNotFoundError as missing:
        # requirements.txt holds the local stack's packages only; each cloud's SDK is in
        # requirements-<cloud>.txt.
        if settings.cloud == "local" or missing.name != TARGET_SDKS[settings.cloud]:
            raise
        raise SettingsError(
            "cloud",
            settings.cloud,
            f"needs the {missing.name} package, which venv/ lacks: install it with "
            f"`{install_command(settings.cloud)}` "
            f"(./up.sh does this for every stack whose cloud is {settings.cloud})",
        ) from missing


def image_args(settings: Settings, engine: PreparedEngine, registry: Registry) -> RegistryImageArgs:
    """app/ for the stack's platform, pushed to the registry; with the mirror, its base image
    comes through it (app/Dockerfile's BASE_IMAGE argument)."""
    args: RegistryImageArgs = {
        "context": APP_CONTEXT,
        "platform": engine.platform,
        "repository_url": registry.repository_url,
        "login": registry.login,
    }
    if settings.image_tag is not None:
        args["tag"] = settings.image_tag
    if settings.mirror_enabled:
        repository = base_image().repository
        args["build_args"] = {
            IMAGE_ARG: registry.mirror_endpoint.apply(lambda endpoint: f"{endpoint}/{repository}")
        }
    return args


def _legacy_children(settings: Settings) -> pulumi.ResourceTransformation:
    """A transformation that gives each child of a component its URN under the old component
    type, as a literal alias: `<old type>$<child type>::<child name>` (child names did not
    change). A literal, because the SDK computes a child's inherited aliases only when the
    child has aliases of its own (prepare_aliases in pulumi/runtime/resource.py), which an
    engine without alias specs would then never see."""
    old = LEGACY_TYPES[settings.cloud]
    prefix = f"urn:pulumi:{settings.stack}::{settings.project}::{old}$"

    def alias(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
        opts = args.opts
        if args.type_ not in COMPONENT_TYPES:
            urn = f"{prefix}{args.type_}::{args.name}"
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[urn]))
        return pulumi.ResourceTransformationResult(args.props, opts)

    return alias


def registry_options(settings: Settings, engine: PreparedEngine) -> pulumi.ResourceOptions:
    """The engine's provider, the old component type as an alias, and each child's old URN
    (_legacy_children).

    The component's alias is given twice, once with the stack as its parent spelled out: with
    alias specs the engine resolves both to one URN, while a URN the SDK computes itself (an
    engine without alias specs, and the mocks) differs in whether the root stack's type
    prefixes a top-level URN, and the two forms cover each (pulumi/runtime/resource.py,
    create_urn and all_aliases)."""
    old = LEGACY_TYPES[settings.cloud]
    aliases: list[pulumi.Input[str | pulumi.Alias]] = [pulumi.Alias(type_=old)]
    root = pulumi.runtime.get_root_resource()
    if root is not None:
        aliases.append(pulumi.Alias(type_=old, parent=root))
    legacy = pulumi.ResourceOptions(aliases=aliases, transformations=[_legacy_children(settings)])
    return pulumi.ResourceOptions.merge(engine.options, legacy)


def image_options(settings: Settings, engine: PreparedEngine) -> pulumi.ResourceOptions:
    """The engine's provider, and the app image's old URN as an alias: it was `registry-image`,
    a child of the target's own component type."""
    legacy = pulumi.ResourceOptions(transformations=[_legacy_children(settings)])
    return pulumi.ResourceOptions.merge(engine.options, legacy)
