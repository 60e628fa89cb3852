"""How `Registry`'s Args become the chosen service's (no cloud SDK here).

One rule for what the chosen service does not take: it is ignored, unchecked. That is the block
of every target not chosen (`azure` when `cloud` is aws), and the shared fields a service has no
use for (`immutable_tags` on azure and local, `pull_principals` on local, the mirror's fields of
other services such as `mirror.repositories` beside ACR): they build nothing. The stack program
warns about such keys (a config key that has no effect). One exception: `ci` where the service
has no CI push (local) is refused, since it asks for access that cannot exist.

Each service's args.py says where its fields live in RegistryArgs (`REGISTRY_PATHS`); an error
raised by the service names the RegistryArgs path again, so a caller of Registry reads its own
spelling (`aws.kms_key_arn`, not `kms_key_arn`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import pulumi

from container_registry import ci_input, naming, shape
from container_registry.args import Cloud, RegistryArgs
from container_registry.aws import options as ecr
from container_registry.aws.args import REGISTRY_PATHS as AWS_PATHS
from container_registry.aws.args import EcrRegistryArgs
from container_registry.azure import options as acr
from container_registry.azure.args import REGISTRY_PATHS as AZURE_PATHS
from container_registry.azure.args import AcrRegistryArgs
from container_registry.errors import ArgumentError
from container_registry.gcp import options as artifact
from container_registry.gcp.args import REGISTRY_PATHS as GCP_PATHS
from container_registry.gcp.args import ArtifactRegistryArgs
from container_registry.local import options as local
from container_registry.local.args import REGISTRY_PATHS as LOCAL_PATHS
from container_registry.local.args import LocalRegistryArgs
from container_registry.options import ServiceOptions

CLOUDS: tuple[str, ...] = tuple(cloud.value for cloud in Cloud)
# Per cloud: the service's Args type, its paths that differ from RegistryArgs', and its check of
# its Args (SDK-free, container_registry/<target>/options.py).
SERVICES: dict[str, tuple[type, dict[str, str], Callable[[Any], ServiceOptions]]] = {
    "local": (LocalRegistryArgs, LOCAL_PATHS, local.resolve),
    "aws": (EcrRegistryArgs, AWS_PATHS, ecr.resolve),
    "azure": (AcrRegistryArgs, AZURE_PATHS, acr.resolve),
    "gcp": (ArtifactRegistryArgs, GCP_PATHS, artifact.resolve),
}


def cloud_of(args: object) -> str:
    """The target named by `cloud` (a Cloud, or its value as a string in any case, as other
    languages and YAML send it), as a plain string; raises ArgumentError for anything else."""
    if not isinstance(args, Mapping):  # a component provider hands over a dict too
        raise ArgumentError("", args, "is not a mapping of Registry arguments")
    value = cast("Mapping[str, Any]", args).get("cloud")
    if shape.is_output(value):
        raise ArgumentError("cloud", None, shape.PLAIN)
    found = naming.choice(value, CLOUDS) if isinstance(value, str) else None
    if found is None:
        raise ArgumentError("cloud", value, f"is not one of {', '.join(CLOUDS)}")
    return found


def service_args(args: RegistryArgs) -> tuple[str, dict[str, Any]]:
    """(the cloud, the chosen service's Args): each value RegistryArgs holds for it, moved to
    its path there. Only the keys are looked at here; the service checks the values, once."""
    cloud = cloud_of(args)
    service_type, paths, _ = SERVICES[cloud]
    to_service = {registry: own for own, registry in paths.items()}
    fields: dict[str, Any] = RegistryArgs.__annotations__
    out: dict[str, Any] = {}
    for key, value in args.items():
        if key not in fields:
            raise shape.unknown_key(key, key, fields)
        if key == "cloud" or value is None or (key in CLOUDS and key != cloud):
            continue
        if key in ("mirror", cloud):
            block_type = shape.field_type(fields[key])
            if not isinstance(value, Mapping):
                shape.check({key: value}, RegistryArgs)  # names the path and the shape it takes
            for item, item_value in cast("Mapping[str, Any]", value).items():
                path = f"{key}.{item}"
                if item not in block_type.__annotations__:
                    raise shape.unknown_key(path, item, block_type.__annotations__)
                _put(out, to_service.get(path, path), item_value, service_type)
        elif key == "ci" and key not in service_type.__annotations__:
            shape.check({key: value}, RegistryArgs)
            ci_input.resolve_ci(cast("Mapping[str, Any]", value), cloud)  # refuses it, with why
        else:
            _put(out, to_service.get(key, key), value, service_type)
    return cloud, out


def _put(out: dict[str, Any], path: str, value: object, service_type: type) -> None:
    """`value` at `path` (`a` or `a.b`) of the service's Args, if the service takes that path."""
    head, _, tail = path.partition(".")
    fields: dict[str, Any] = service_type.__annotations__
    if head not in fields:
        return
    if not tail:
        out[head] = value
    elif tail in shape.field_type(fields[head]).__annotations__:
        out.setdefault(head, {})[tail] = value


@contextmanager
def registry_paths(cloud: str) -> Iterator[None]:
    """An ArgumentError raised inside, re-raised naming RegistryArgs' path for the property."""
    try:
        yield
    except ArgumentError as error:
        path = registry_path(cloud, error.property_path)
        if path == error.property_path:
            raise
        raise ArgumentError(path, error.value, error.rule, shown=error.shown) from error


def registry_path(cloud: str, path: str) -> str:
    """A service's property path as RegistryArgs names it (the longest listed prefix wins)."""
    paths = SERVICES[cloud][1]
    for own in sorted(paths, key=len, reverse=True):
        if path == own or path.startswith((f"{own}.", f"{own}[")):
            return paths[own] + path[len(own) :]
    return path


# The modules of each target's extra (pyproject.toml): one that is missing is named with the
# command that installs the extra (tests/test_hostile_args.py).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "local": ("pulumi_random", "bcrypt"),
    "aws": ("pulumi_aws",),
    "azure": ("pulumi_azure_native",),
    "gcp": ("pulumi_gcp", "pulumi_random"),
}


class MissingExtraError(ModuleNotFoundError):
    """A target's extra is not installed; the message names the command that installs it. A
    ModuleNotFoundError still, with the missing module's `name`, for whoever catches that."""


def resolve(args: RegistryArgs) -> tuple[str, ServiceOptions]:
    """(the cloud, the chosen service's Args checked by the service's own `resolve`, once),
    errors naming RegistryArgs' paths. No cloud SDK is imported."""
    cloud, own = service_args(args)
    with registry_paths(cloud):
        return cloud, SERVICES[cloud][2](own)


def component(cloud: str) -> Any:
    """The service's component class, importing its cloud SDK now; without it, a
    MissingExtraError that says `pip install "container-registry[<cloud>]"`."""
    try:
        if cloud == "aws":
            from container_registry.aws.registry import EcrRegistry

            return EcrRegistry
        if cloud == "azure":
            from container_registry.azure.registry import AcrRegistry

            return AcrRegistry
        if cloud == "gcp":
            from container_registry.gcp.registry import ArtifactRegistry

            return ArtifactRegistry
        from container_registry.local.registry import LocalRegistry

        return LocalRegistry
    except ModuleNotFoundError as missing:
        name = (missing.name or "").partition(".")[0]
        if name not in EXTRA_MODULES[cloud]:
            raise
        raise MissingExtraError(
            f"the {cloud} target needs {name}, which is not installed: install the package with "
            f'its {cloud} extra, `pip install "container-registry[{cloud}]"`',
            name=name,
        ) from missing


def keep_urns(registry: pulumi.Resource) -> pulumi.ResourceTransformation:
    """Each child of the service gets its URN as a direct child of `registry` as an alias: so
    was every resource of a Registry before the services were components of their own
    (tests/data/urns/registry/), and an upgrade replaces nothing. The service is the first
    resource the transformation sees (its parent is `registry`); its children come after.

    The alias is the literal URN, made from the Registry's own: an engine without alias specs
    (and the mocks) has the SDK compute a parent alias's URN, and the SDK puts the root stack's
    type before a top-level parent's (pulumi/runtime/resource.py, create_urn), which no engine
    URN holds."""
    service: list[pulumi.Resource] = []

    def alias(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
        parent = args.opts.parent
        if parent is registry and not service:
            service.append(args.resource)
        elif service and parent is service[0]:
            kind, name = args.type_, args.name
            old = registry.urn.apply(lambda urn: child_urn(urn, kind, name))
            keep = pulumi.ResourceOptions(aliases=[old])
            return pulumi.ResourceTransformationResult(
                args.props, pulumi.ResourceOptions.merge(args.opts, keep)
            )
        return pulumi.ResourceTransformationResult(args.props, args.opts)

    return alias


ROOT_TYPE = "pulumi:pulumi:Stack$"


def child_urn(parent_urn: str, child_type: str, child_name: str) -> str:
    """The URN of a child of the resource `parent_urn` names: `<parent's types>$<type>::<name>`,
    where a top-level parent's types do not start with the root stack's."""
    stack, project, types, _ = parent_urn.split("::", 3)
    return f"{stack}::{project}::{types.removeprefix(ROOT_TYPE)}${child_type}::{child_name}"
