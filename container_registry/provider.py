"""The component provider: `Registry` and `RegistryImage` for TypeScript, Go, C#, Java and YAML.

`pulumi package add <repository>/provider` runs `provider/__main__.py`, which calls `main`. Pulumi
infers the package schema from the Args TypedDicts, their docstrings and the components' Output
annotations (`Analyzer` in pulumi/provider/experimental/analyzer.py); `schema()` returns the very
schema the provider serves, for the tests and the generated reference (docs/reference.md).
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi.provider
from pulumi.provider.experimental.analyzer import (
    Analyzer,
    AnalyzeResult,
    PropertyDefinition,
    PropertyType,
)
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ComponentInitError

from container_registry import Registry, RegistryImage, shape
from container_registry.aws.registry import EcrRegistry
from container_registry.azure.registry import AcrRegistry
from container_registry.gcp.registry import ArtifactRegistry
from container_registry.local.registry import LocalRegistry

PACKAGE = "container-registry"
"""The package name: other languages' SDKs and the resource tokens are named after it."""
# Each service's child resources are Python attributes (`EcrRegistry.repository`); in the schema
# they are outputs by ID or name (`repositoryArn`, `registryId`, ...), not resource references,
# which would make this package's schema and every generated SDK depend on all four clouds'
# packages (the analyzer's `is_resource` branch adds each as a dependency).
COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (
    Registry,
    RegistryImage,
    EcrRegistry,
    AcrRegistry,
    ArtifactRegistry,
    LocalRegistry,
)
# The properties that hold a credential: (component or type, "inputs"/"outputs" for a component,
# Python key). The analyzer cannot tell (a secret is an ordinary `str`), so the schema gets
# `secret` here. For a component's own input the generated SDKs then send it as a secret
# (`pulumi.secret(args.login)` in TypeScript: pkg/codegen/nodejs/gen.go); a nested one is marked
# for the reader, and a program passes it as a secret itself (docs/use-in-your-program.md).
SECRET_PROPERTIES: tuple[tuple[str, str, str], ...] = (
    ("RegistryImage", "inputs", "login"),
    ("Registry", "outputs", "login"),
    ("EcrRegistry", "outputs", "login"),
    ("AcrRegistry", "outputs", "login"),
    ("ArtifactRegistry", "outputs", "login"),
    ("LocalRegistry", "outputs", "login"),
    ("LocalMirror", "", "docker_hub_token"),
    ("RegistryCredentials", "", "password"),
    ("PullThroughMirror", "", "docker_hub_token"),
)
# Pulumi's default for a package without a version (component_provider_host in
# pulumi/provider/experimental/host.py); used when this package runs from a checkout.
UNRELEASED = "0.0.0"
T = TypeVar("T")


def token(component: type[pulumi.ComponentResource]) -> str:
    """The resource type the schema gives `component` (`generate_schema` in
    pulumi/provider/experimental/schema.py puts every component in the `index` module)."""
    return f"{PACKAGE}:index:{component.__name__}"


def version() -> str:
    """The installed distribution's version, as the schema's version (the generated SDKs take it:
    `respectSchemaVersion`)."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return UNRELEASED


class RegistryProvider(ComponentProvider):
    """Pulumi's ComponentProvider, with inputs that arrive as Outputs mapped when they resolve.

    The engine hands `construct` a secret input, or one that depends on other resources, as an
    Output (`_select_value` in pulumi/provider/server.py). The SDK's `map_input_properties`
    (pulumi/provider/experimental/component.py) maps such an Output as if it were `{}` for an
    object type, and fails `int(...)` or an enum's lookup on it: a `login` taken from a
    `Registry`'s secret output would arrive empty. Here each such property goes through the same
    SDK mapping inside `apply`, with the same property paths in its errors; and integers arrive
    as `int` (`_mapped`).

    The schema marks the credentials in SECRET_PROPERTIES `secret`.

    A component's InputPropertyError names a Python path (`lifecycle.keep_tagged_images`); a
    program in another language wrote `lifecycle.keepTaggedImages`, so the error it gets names
    that, and reaches the engine as a property error rather than as a crash with a traceback.

    Bad input reaches the component as it was sent, to be refused there with its path
    (container_registry/shape.py), where the SDK's mapping would hide it: the SDK drops a key
    the schema does not have (refused here, in the program's spelling, naming the closest
    property), maps an object property given as anything else to `{}`, fails `int(...)` on
    a list or names the parent property for text, and refuses an enum's value in another case
    (`AWS`, which the component takes) or outside it (in Python's words, not the allowed
    values). An input that arrives as an Output already holds its value, except in a preview:
    it is checked now, before anything is registered, and handed over as an Output all the
    same, keeping its secrecy and dependencies.
    """

    def __init__(
        self,
        components: list[type[pulumi.ComponentResource]],
        name: str,
        namespace: str | None = None,
        version: str = UNRELEASED,
    ) -> None:
        super().__init__(components, name, namespace, version)
        # The component and type definitions, from the SDK's public Analyzer: the base class
        # keeps its own in private fields (`_component_defs`, `_type_defs`), which we leave alone.
        self.definitions: AnalyzeResult = Analyzer(name).analyze(components)
        document = json.loads(self.schema or "{}")
        for owner, side, key in SECRET_PROPERTIES:
            token = f"{name}:index:{owner}"
            if side:
                definition = self.definitions["component_definitions"][owner]
                mapping = (
                    definition.inputs_mapping if side == "inputs" else definition.outputs_mapping
                )
                spec = document["resources"][token]
                properties = spec["inputProperties" if side == "inputs" else "properties"]
            else:
                mapping = self.definitions["type_definitions"][owner].properties_mapping
                properties = document["types"][token]["properties"]
            schema_names = {python: schema for schema, python in mapping.items()}
            properties[schema_names[key]]["secret"] = True
        self.schema = json.dumps(document)

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        try:
            return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as error:
            inner = error.inner
            if not isinstance(inner, pulumi.InputPropertyError):
                raise
            component = resource_type.rsplit(":", 1)[-1]
            path = self.schema_path(component, inner.property_path)
            raise pulumi.InputPropertyError(path, inner.reason) from inner

    def schema_path(self, component: str, python_path: str) -> str:
        """`python_path` (`ci.mirror_build_args.BASE_IMAGE`, `pull_principals[0]`) with each
        property named as the schema names it; map keys and list indexes stay as they are."""
        definition = self.definitions["component_definitions"][component]
        properties: dict[str, PropertyDefinition] | None = definition.inputs
        schema_names = {python: schema for schema, python in definition.inputs_mapping.items()}
        found: list[str] = []
        for segment in python_path.split(".") if python_path else []:
            key, bracket, rest = segment.partition("[")
            index = bracket + rest
            if properties is None or key not in schema_names:
                found.append(segment)
                properties = None
                continue
            prop = properties[schema_names[key]]
            found.append(schema_names[key] + index)
            nested = prop.items if index and prop.items is not None else prop
            type_def = self.get_type_definition(nested) if nested.ref else None
            if type_def is None or type_def.enum:
                properties = None
                continue
            properties = type_def.properties
            schema_names = {
                python: schema for schema, python in type_def.properties_mapping.items()
            }
        return ".".join(found)

    def map_input_properties(
        self,
        inputs: pulumi.Inputs,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> pulumi.Inputs:
        if not isinstance(inputs, dict):
            return super().map_input_properties(
                inputs, properties, mapping, component_name, property_path
            )
        for name in inputs:
            if name not in properties:
                where = f"{property_path}.{name}" if property_path else name
                raise shape.unknown_key(where, name, properties)
        later = {name: value for name, value in inputs.items() if isinstance(value, pulumi.Output)}
        mapped = self._mapped(
            {name: value for name, value in inputs.items() if name not in later},
            {name: prop for name, prop in properties.items() if name not in later},
            mapping,
            component_name,
            property_path,
        )
        for name, value in later.items():
            map_one = lambda resolved, name=name: self._mapped(  # noqa: E731
                {name: resolved}, {name: properties[name]}, mapping, component_name, property_path
            ).get(mapping[name])
            now = settled(value)
            if now is not None:
                plain = map_one(now.value)  # its errors now, before anything is registered
                if self._made_an_output_by_its_secret_inputs(now, properties[name]):
                    mapped[mapping[name]] = self._secret_inputs(plain, properties[name])
                    continue
            mapped[mapping[name]] = value.apply(map_one)
        return mapped

    def _made_an_output_by_its_secret_inputs(self, now: Settled, prop: PropertyDefinition) -> bool:
        """A plain object that only a secret made an Output. The engine makes a whole input
        secret when any field in it is (`deserialize_property` in pulumi/runtime/rpc.py), so
        `mirror` with a secret `dockerHubToken` (a field that takes an Output) arrives as a
        secret Output. Such an object, without dependencies, goes to the component as plain
        fields and secret Outputs; any other plain property that is an Output is refused there
        (container_registry/shape.py)."""
        type_def = self.get_type_definition(prop) if prop.plain and prop.ref else None
        return (
            now.secret
            and now.dependencies == 0
            and isinstance(now.value, dict)
            and type_def is not None
            and any(not field.plain for field in type_def.properties.values())
        )

    def _secret_inputs(self, value: Any, prop: PropertyDefinition) -> Any:
        """A plain object (`mirror`) whose fields that take an Output (its Docker Hub token) are
        secrets again."""
        type_def = self.get_type_definition(prop)
        assert type_def is not None and isinstance(value, dict)
        secret = {
            type_def.properties_mapping[name]
            for name, field in type_def.properties.items()
            if not field.plain
        }
        return {
            key: pulumi.Output.secret(item) if key in secret and item is not None else item
            for key, item in value.items()
        }

    def _mapped(
        self,
        inputs: pulumi.Inputs,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> dict[str, Any]:
        """The SDK's mapping of plain values, with integers as `int`: numbers cross the wire as
        floats, and the SDK converts an integer property, then stores the float again (no
        `continue` after `int(input_val)` in `map_input_properties`), so a port would arrive as
        5000.0. A value the SDK would replace (an object property that is not a mapping) or
        fail on (an integer property that is not a number) is handed over as it came, for the
        component to refuse with its path."""
        as_sent = {
            name: value
            for name, value in inputs.items()
            if name in properties and self._not_for_the_sdk(value, properties[name])
        }
        mapped = dict(
            ComponentProvider.map_input_properties(
                self,
                {name: value for name, value in inputs.items() if name not in as_sent},
                {name: prop for name, prop in properties.items() if name not in as_sent},
                mapping,
                component_name,
                property_path,
            )
        )
        for name, prop in properties.items():
            value = mapped.get(mapping[name])
            if (
                prop.type == PropertyType.INTEGER
                and isinstance(value, float)
                and value.is_integer()
            ):
                mapped[mapping[name]] = int(value)
        mapped.update({mapping[name]: value for name, value in as_sent.items()})
        return mapped

    def _not_for_the_sdk(self, value: object, prop: PropertyDefinition) -> bool:
        if value is None or isinstance(value, pulumi.Output):
            return False
        if prop.type == PropertyType.INTEGER:
            return isinstance(value, bool) or not isinstance(value, int | float)
        type_def = self.get_type_definition(prop) if prop.ref else None
        if type_def is not None and type_def.enum:
            return value not in [member.value for member in type_def.enum]
        return type_def is not None and not isinstance(value, dict)


@dataclass(frozen=True)
class Settled:
    """What an input Output holds now: the engine's inputs are made from finished futures
    (`_select_value` in pulumi/provider/server.py), so only a preview's unknowns are not yet
    known."""

    value: Any
    secret: bool
    dependencies: int


class Pending(Exception):
    """An Output's value is still being computed: it is read when it resolves, in `apply`."""


def finished(step: Coroutine[Any, Any, T]) -> T:
    """The result of `step` when it completes without waiting, else Pending.

    The gRPC server calls the synchronous `construct` from inside its running event loop
    (`Construct` in pulumi/provider/server.py), so nothing there may wait for an Output. The
    inputs it hands over wrap futures it has already resolved (`_select_value`): Output's
    `future()`, `is_known()`, `is_secret()` and `resources()` then only `await` a finished future,
    which returns at once. Sending the coroutine its first value (PEP 342's `send`) runs it to the
    end in that case, without driving the event loop; anything that would suspend is Pending.
    """
    try:
        step.send(None)
    except StopIteration as done:
        return done.value
    step.close()
    raise Pending


def settled(output: pulumi.Output[Any]) -> Settled | None:
    """The value `output` holds now, or None when it is unknown (a preview) or not yet
    computed (an Output made by `apply` in this process)."""
    try:
        if not finished(output.is_known()):
            return None
        return Settled(
            value=finished(output.future()),
            secret=finished(output.is_secret()),
            dependencies=len(finished(output.resources())),
        )
    except Pending:
        return None


def component_provider() -> RegistryProvider:
    """The provider `main` serves, for this package's components."""
    return RegistryProvider(list(COMPONENTS), PACKAGE, version=version())


def schema() -> dict[str, Any]:
    """The package schema the provider answers GetSchema with."""
    served = component_provider().schema
    assert served is not None, "the ComponentProvider infers its schema when it is built"
    return json.loads(served)


def main() -> None:
    """Serve the provider as the Pulumi engine starts it: `python provider/ <engine address>`,
    printing its gRPC port on stdout. `component_provider_host` (pulumi/provider/experimental/
    host.py) does the same with the SDK's own ComponentProvider, which we extend above."""
    pulumi.provider.main(component_provider(), sys.argv[1:])
