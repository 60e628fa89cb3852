"""The one error the components raise for bad input: Pulumi's InputPropertyError, naming the
property path (`aws.kms_key_arn`, `ci.repository`, `lifecycle.keep_tagged_images`), with the bad
value and the rule kept apart, so a program that maps paths to its own keys (the stack program
maps them to config keys) can word the message its own way."""

from __future__ import annotations

from typing import get_args, get_origin

import pulumi
from typing_extensions import Required, is_typeddict


class ArgumentError(pulumi.InputPropertyError):
    """A bad Args value: `property_path`, `reason` (value and rule), and each of them alone."""

    def __init__(self, property_path: str, value: object, rule: str, *, shown: str | None = None):
        if value is None and shown is None:
            reason = rule
        else:
            text = repr(value) if shown is None else shown
            if len(text) > 80:
                text = text[:77] + "..."
            reason = f"{text} {rule}"
        super().__init__(property_path, reason)
        # pulumi.InputPropertyError sets no message; without one, str() would be empty.
        Exception.__init__(self, f"{property_path}: {reason}")
        self.value = value
        self.rule = rule
        self.shown = shown


def required(property_path: str, rule: str) -> ArgumentError:
    """A required value that is missing: `<path> is not set: <why>`."""
    return ArgumentError(property_path, None, f"is not set: {rule}")


def reject_unknown_keys(value: object, args_type: type, path: str = "") -> None:
    """Raise ArgumentError for a key `args_type` (an Args TypedDict) does not have, nested Args
    included: a misspelt key would otherwise leave its setting at the default without a word.
    Pyright catches it in a typed program; this catches it in every other one."""
    if not isinstance(value, dict):
        return
    # The raw annotations: typing.get_type_hints cannot resolve pulumi.Input's forward refs.
    fields = {
        name: get_args(hint)[0] if get_origin(hint) is Required else hint
        for name, hint in args_type.__annotations__.items()
    }
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ArgumentError(where, None, f"is not an argument here (known: {known})")
        if is_typeddict(fields[key]):
            reject_unknown_keys(item, fields[key], where)
