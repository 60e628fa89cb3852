"""The Args' shape, checked against their TypedDicts (container_registry/args.py) before any
field's own rule: every key known, every object a mapping, every list a list, every string field
a string, and an Output only where the field takes one (`pulumi.Input[...]`).

A typed Python program gets most of this from pyright; a program in another language, an untyped
one or a script does not, and a wrong shape would otherwise crash a rule with a Python error
(`'list' object has no attribute 'get'`), or pass where it should not: a number for
`repository_name` named a repository `5`. Whole numbers and booleans are left to the rules that
read them (naming.whole_number, naming.flag), which say their range too, and so are a list's
strings (principals.py, mirror.py name the form they take); here only an Output in their place is
refused.

The walk follows the annotations themselves: a static validator (pydantic, typeguard) knows
nothing of Pulumi's Outputs, which are allowed in one field and refused in the next.
"""

from __future__ import annotations

import collections.abc
import difflib
import enum
import inspect
import json
import typing
from collections.abc import Mapping
from typing import Any, cast, get_args, get_origin

import pulumi
from typing_extensions import NotRequired, Required, is_typeddict

from container_registry.errors import ArgumentError

PLAIN = (
    "must be a plain value, not an Output: the component reads it when it is constructed, before "
    "any resource exists (the reference marks it plain)"
)


def unknown_key(path: str, key: str, known: collections.abc.Iterable[str]) -> ArgumentError:
    """The error for a key the Args do not have, naming the closest known one: a misspelt key
    would otherwise leave its setting at the default without a word. The provider words it with
    the schema's names (container_registry/provider.py), so each program reads its own spelling."""
    names = sorted(known)
    closest = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {closest[0]}? " if closest else ""
    return ArgumentError(path, None, f"is not an argument here: {hint}(known: {', '.join(names)})")


def is_output(value: object) -> bool:
    """An Output, or anything else awaited for its value (what `pulumi.Input` allows beside a
    plain value)."""
    return isinstance(value, pulumi.Output) or inspect.isawaitable(value)


def check(value: object, args_type: type, path: str = "") -> None:
    """Raise ArgumentError at the first property of `value` whose shape `args_type` (an Args
    TypedDict) does not allow."""
    _check_object(value, args_type, path)


def field_type(hint: Any) -> Any:
    """The type a field holds: `Required[X]` and `pulumi.Input[X]` are X."""
    return _unwrapped(hint)[0]


def _unwrapped(hint: Any) -> tuple[Any, bool]:
    """(the type a field holds, whether it also takes an Output): `Required[X]` is X, and
    `pulumi.Input[X]` (Union[X, Awaitable[X], Output[X]]) is X with an Output allowed."""
    while get_origin(hint) in (Required, NotRequired):
        hint = get_args(hint)[0]
    if get_origin(hint) is typing.Union:
        members = get_args(hint)
        if any(get_origin(member) is collections.abc.Awaitable for member in members):
            return members[0], True
    return hint, False


def _check(value: object, hint: Any, path: str, scalars: bool = True) -> None:
    """`value` against `hint`; with `scalars` false, a string's type is left to the rule that
    reads it (a list's items: pull_principals and mirror.repositories name the form they take)."""
    expected, takes_output = _unwrapped(hint)
    if is_output(value):
        if not takes_output:
            raise ArgumentError(path, None, PLAIN)
        return  # its value is checked where the component reads it, once it resolves
    origin = get_origin(expected)
    if is_typeddict(expected):
        _check_object(value, expected, path)
    elif origin is list:
        if not isinstance(value, list | tuple):
            raise _wrong(path, value, f"is not a list of {_plural(get_args(expected)[0])}")
        for index, item in enumerate(cast("list[object]", value)):
            _check(item, get_args(expected)[0], f"{path}[{index}]", scalars=False)
    elif origin is dict:
        item_type = get_args(expected)[1]
        if not isinstance(value, Mapping):
            raise _wrong(path, value, f"is not a map of names to {_plural(item_type)}")
        for key, item in cast("Mapping[object, object]", value).items():
            if not isinstance(key, str):
                raise _wrong(f"{path}.{key}", key, "is not a string key")
            _check(item, item_type, f"{path}.{key}")
    elif expected is str or (isinstance(expected, type) and issubclass(expected, enum.Enum)):
        # An enum of strings (a closed set such as the ACR SKU) takes its value as a string
        # too; the rule that reads it says which values it takes.
        if scalars and not isinstance(value, str):
            raise _wrong(path, value, "is not a string")
    elif expected not in (int, bool):
        raise TypeError(f"{path}: no shape check for {expected!r}")


def _check_object(value: object, args_type: Any, path: str) -> None:
    if not isinstance(value, Mapping):
        raise _wrong(path, value, f"is not an object of type {args_type.__name__}")
    fields: dict[str, Any] = args_type.__annotations__
    for key, item in cast("Mapping[object, object]", value).items():
        where = f"{path}.{key}" if path else str(key)
        if key not in fields:
            raise unknown_key(where, str(key), fields)
        if item is not None:  # None is not set: the field's default applies
            _check(item, fields[str(key)], where)


def _wrong(path: str, value: object, rule: str) -> ArgumentError:
    """A value of the wrong shape, shown as JSON (`["linux/arm64"]`, `null`): the way a program
    in any language writes it."""
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        shown = None
    return ArgumentError(path, value, rule, shown=shown)


def _plural(hint: Any) -> str:
    expected, takes_output = _unwrapped(hint)
    name = "strings" if expected is str else f"{getattr(expected, '__name__', expected)} values"
    return f"{name} (or Outputs)" if takes_output else name
