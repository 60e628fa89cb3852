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
from typing import Any

import pulumi
import pulumi.provider
from pulumi.provider.experimental.analyzer import PropertyDefinition
from pulumi.provider.experimental.component import ComponentProvider

from container_registry import Registry, RegistryImage

PACKAGE = "container-registry"
"""The package name: other languages' SDKs and the resource tokens are named after it."""
COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (Registry, RegistryImage)
# Pulumi's default for a package without a version (component_provider_host in
# pulumi/provider/experimental/host.py); used when this package runs from a checkout.
UNRELEASED = "0.0.0"


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
    SDK mapping inside `apply`, with the same property paths in its errors.
    """

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
        later = {
            name: value
            for name, value in inputs.items()
            if name in properties and isinstance(value, pulumi.Output)
        }
        mapped = dict(
            super().map_input_properties(
                {name: value for name, value in inputs.items() if name not in later},
                {name: prop for name, prop in properties.items() if name not in later},
                mapping,
                component_name,
                property_path,
            )
        )
        for name, value in later.items():
            mapped[mapping[name]] = value.apply(
                lambda resolved, name=name: self._map_one(
                    name, resolved, properties[name], mapping, component_name, property_path
                )
            )
        return mapped

    def _map_one(
        self,
        name: str,
        value: Any,
        prop: PropertyDefinition,
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Any:
        """One resolved property, mapped by the SDK as if it had arrived plain."""
        mapped = ComponentProvider.map_input_properties(
            self, {name: value}, {name: prop}, mapping, component_name, property_path
        )
        return mapped.get(mapping[name])


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
