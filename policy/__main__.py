"""The container-registry-security policy pack: every rule of rules.py, mandatory by default.

`pulumi preview --policy-pack policy` runs this file with policy/ on sys.path.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import (
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
from rules import DEFAULT_ACR_SKUS, RULES, ResourceRule, StackRule

PACK_NAME = "container-registry-security"
ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY

# Rules whose behaviour can be tuned with `pulumi config`-style policy config.
CONFIG_SCHEMAS: Mapping[str, PolicyConfigSchema] = {
    "acr-sku-allowed": PolicyConfigSchema(
        properties={
            "allowedSkus": {
                "type": "array",
                "items": {"type": "string", "enum": list(DEFAULT_ACR_SKUS)},
                "default": list(DEFAULT_ACR_SKUS),
            }
        }
    ),
}


def _resource_policy(rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        for message in rule.check(args.resource_type, args.props, args.get_config()):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=ENFORCEMENT_LEVEL,
        config_schema=CONFIG_SCHEMAS.get(rule.name),
    )


def _stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message, urn in rule.check(args.resources, args.get_config()):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=ENFORCEMENT_LEVEL,
        config_schema=CONFIG_SCHEMAS.get(rule.name),
    )


def policies() -> list[Policy]:
    """One pulumi_policy policy per rule, in the order of rules.RULES."""
    return [
        _resource_policy(rule) if isinstance(rule, ResourceRule) else _stack_policy(rule)
        for rule in RULES
    ]


if __name__ == "__main__":
    # Serves the engine until it is stopped; never returns. Tests import policies() instead.
    PolicyPack(name=PACK_NAME, enforcement_level=ENFORCEMENT_LEVEL, policies=policies())
