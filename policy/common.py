"""What every rule module shares: the rule types, their registration, and property helpers.

A resource rule is `check(resource_type, props, config) -> [message, ...]`, registered with
`@rule(name, types=(...), ...)`; a stack rule is `check(by_type, config) -> [(message, urn), ...]`,
registered with `@stack_rule(...)`. `judge` is the runner: it hands a rule only the resources of
the types it was registered with, so no rule filters on `resource_type` itself. `props` are the
camelCase wire names the engine sends (inputs for resource rules, outputs for stack rules).

Reading a value the engine does not know yet (preview) raises pulumi_policy's UnknownValueError
through its props proxy; the engine then reports "can't run policy during preview" as advisory, and
the rule runs for real on `pulumi up`. So the helpers only use Mapping/Sequence access, never
`isinstance(x, dict | list)`: the engine hands the rules proxies, not dicts and lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Props = Mapping[str, Any]
Config = Mapping[str, Any]

NO_CONTROL = "No public control; a rule of this project."


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


ByType = Mapping[str, Sequence[StackResource]]
ResourceCheck = Callable[[str, Props, Config], list[str]]
StackCheck = Callable[[ByType, Config], list[tuple[str, str | None]]]


@dataclass(frozen=True)
class ResourceRule:
    name: str
    description: str
    controls: tuple[str, ...]
    resource_types: tuple[str, ...]
    check: ResourceCheck
    # JSON-schema properties of the rule's policy config, if it takes any.
    config_properties: Mapping[str, Any] | None = field(default=None)

    def judge(self, resource_type: str, props: Props, config: Config) -> list[str]:
        """The rule's violations on one resource; a type it was not registered with has none."""
        if resource_type not in self.resource_types:
            return []
        return self.check(resource_type, props, config)


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    controls: tuple[str, ...]
    resource_types: tuple[str, ...]
    check: StackCheck
    config_properties: Mapping[str, Any] | None = field(default=None)

    def judge(
        self, resources: Sequence[StackResource], config: Config
    ) -> list[tuple[str, str | None]]:
        """The rule's violations on the stack, given only the resources of its types."""
        by_type = {t: [r for r in resources if r.resource_type == t] for t in self.resource_types}
        return self.check(by_type, config)


Rule = ResourceRule | StackRule

# Every rule, in the order its module registered it; policy/__init__.py imports the modules.
REGISTERED: list[Rule] = []


def _register(new: Rule) -> None:
    if any(known.name == new.name for known in REGISTERED):
        raise ValueError(f"policy rule {new.name!r} is registered twice")
    REGISTERED.append(new)


def rule(
    name: str,
    *,
    types: tuple[str, ...],
    description: str,
    controls: tuple[str, ...] = (),
    config_properties: Mapping[str, Any] | None = None,
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a resource rule for the resource types it judges."""

    def register(check: ResourceCheck) -> ResourceCheck:
        _register(ResourceRule(name, description, controls, types, check, config_properties))
        return check

    return register


def stack_rule(
    name: str,
    *,
    types: tuple[str, ...],
    description: str,
    controls: tuple[str, ...] = (),
) -> Callable[[StackCheck], StackCheck]:
    """Register a stack rule, which relates resources of the given types to each other."""

    def register(check: StackCheck) -> StackCheck:
        _register(StackRule(name, description, controls, types, check))
        return check

    return register


# --------------------------------------------------------------------------- property helpers


def get(props: Any, *path: str) -> Any:
    """The value at `path`, or None where any step is missing or not a mapping."""
    value = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)  # pyright: ignore[reportUnknownMemberType]
    return value


def items(value: Any) -> list[Any]:
    """A list property as a list; a missing or scalar value as []."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)  # pyright: ignore[reportUnknownArgumentType]
    return []


def as_list(value: Any) -> list[Any]:
    """IAM fields that take one value or a list of them."""
    if isinstance(value, str):
        return [value]
    return items(value)


def parse_json(value: Any) -> tuple[Any, str | None]:
    """A JSON document given as a string (or already parsed); (None, reason) if it is not one."""
    if isinstance(value, Mapping):
        return value, None
    if not isinstance(value, str) or not value.strip():
        return None, "is missing"
    try:
        return json.loads(value), None
    except ValueError as error:
        return None, f"is not valid JSON ({error})"


def image_name_and_tag(reference: str) -> tuple[str, str | None]:
    """`docker.io/library/registry:2.8@sha256:...` -> (`registry`, `2.8`): the last path part of
    an image reference, its tag None when it has none (the digest and any host are left out)."""
    last = reference.split("@", 1)[0].rsplit("/", 1)[-1]
    name, colon, tag = last.partition(":")
    return name, tag if colon else None


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def flag_is_true(props: Props, *path: str) -> list[str]:
    """A violation unless the boolean property at `path` is true."""
    value = get(props, *path)
    if not is_true(value):
        return [f"{'.'.join(path)} is {value!r}; it must be true"]
    return []


# --------------------------------------------------------------------------- IAM documents
# AWS IAM policy documents, read by the ECR rules and by no-public-grants.


def statements(document: Any) -> list[Any]:
    statement = get(document, "Statement")
    if isinstance(statement, Mapping):
        return [statement]
    return [s for s in items(statement) if isinstance(s, Mapping)]


def allowing_statements(document: Any) -> list[tuple[int, Any]]:
    """(index, statement) of every statement that allows. A statement without a valid Effect is
    refused by IAM; anything but Deny is treated as Allow."""
    return [
        (index, statement)
        for index, statement in enumerate(statements(document))
        if get(statement, "Effect") != "Deny"
    ]


def public_principals(principal: Any) -> list[str]:
    """The principal values that let anyone in: '*' (alone, in a list or under any key), or any
    wildcard, which IAM would match against every account."""
    if isinstance(principal, str):
        return [principal] if "*" in principal else []
    if isinstance(principal, Mapping):
        return [p for value in principal.values() for p in public_principals(value)]  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
    return [p for value in items(principal) for p in public_principals(value)]
