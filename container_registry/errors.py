"""The one error the components raise for bad input: Pulumi's InputPropertyError, naming the
property path (`aws.kms_key_arn`, `ci.repository`, `lifecycle.keep_tagged_images`), with the bad
value and the rule kept apart, so a program that maps paths to its own keys (the stack program
maps them to config keys) can word the message its own way."""

from __future__ import annotations

import pulumi


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
