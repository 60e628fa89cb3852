"""The container-registry-security policy pack: every rule of the package `policy`, mandatory by
default.

`pulumi preview --policy-pack policy` runs this file with policy/ first on sys.path
(pulumi/policy/__main__.py: `runpy.run_path(program)`). The rules are the package `policy` of the
repository root, next to the program's package they take their constants from; policy/ itself
leaves sys.path so its modules (aws, azure, ...) never shadow a top-level package.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import RULES, ResourceRule, StackRule  # noqa: E402

PACK_NAME = "container-registry-security"
ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY


def _schema(rule: ResourceRule | StackRule) -> PolicyConfigSchema | None:
    """The rule's policy config (`pulumi config`-style), if it takes any."""
    if rule.config_properties is None:
        return None
    return PolicyConfigSchema(properties=dict(rule.config_properties))


def _resource_policy(rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        # rule.judge passes on only the resource types the rule is registered with.
        for message in rule.judge(args.resource_type, args.props, args.get_config()):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=ENFORCEMENT_LEVEL,
        config_schema=_schema(rule),
    )


def _stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message, urn in rule.judge(args.resources, args.get_config()):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=ENFORCEMENT_LEVEL,
        config_schema=_schema(rule),
    )


def policies() -> list[Policy]:
    """One pulumi_policy policy per rule, in the order of policy.RULES."""
    return [
        _resource_policy(rule) if isinstance(rule, ResourceRule) else _stack_policy(rule)
        for rule in RULES
    ]


if __name__ == "__main__":
    # Serves the engine until it is stopped; never returns. Tests import policies() instead.
    PolicyPack(name=PACK_NAME, enforcement_level=ENFORCEMENT_LEVEL, policies=policies())
