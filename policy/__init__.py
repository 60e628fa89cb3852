"""The rules of the container-registry-security policy pack, a module per cloud.

Importing a module registers its rules (policy.common.rule) with the resource types they judge;
this package imports them all, in a fixed order, so RULES lists every rule once. The pack
(`__main__.py`) wraps each in a pulumi_policy policy; tests call them on what the program
registers under mocks.
"""

from __future__ import annotations

from policy import aws, azure, gcp, grants, image, local
from policy.common import REGISTERED, ResourceRule, Rule, StackRule

MODULES = (aws, azure, gcp, grants, image, local)
RULES: tuple[Rule, ...] = tuple(REGISTERED)
RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)

__all__ = ["MODULES", "RULES", "RULE_NAMES", "ResourceRule", "Rule", "StackRule"]
