"""Errors a provider raises during `pulumi up`, told in the stack program's words.

Some refusals come from the cloud only when a resource is created: the provider's error goes to
the engine, and no line of our Python sees it. The one place that does is this CLI, which holds
`pulumi up`'s output when it fails. Where the program refuses the same cause up front, the CLI
gives the same message, worded by the same function (stack.config.errors.from_argument_error).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from container_registry import ArgumentError, federation_unsupported_rule
from stack.cli.hints import ANSI, config_command
from stack.config.errors import config_key, from_argument_error

# Azure's 405 for a federated credential where a managed identity cannot hold one (Microsoft Learn,
# "Important considerations and restrictions for federated identity credentials", "Errors"),
# wherever the provider's error puts it: Azure has been seen to write "unexpected : Support" as
# well as the page's "unexpected: Support", so only the words count.
FEDERATION_NOT_ENABLED = re.compile(
    r"Support\s+for\s+federated\s+identity\s+credentials\s+not\s+enabled", re.IGNORECASE
)


def federation_refused_lines(
    output: str, stack: str, config: Mapping[str, str | None]
) -> list[str]:
    """Azure's 405 "Support for federated identity credentials not enabled", which the CI
    identity's federated credential gets where user-assigned identities cannot hold one (Microsoft
    Learn, "Important considerations and restrictions for federated identity credentials",
    "Errors"), as the message the program gives a location it knows is refused
    (container_registry/azure/options.py, require_federation_region), and the command that sets
    another. pulumi-azure-native 3.x puts ARM's answer body, with that message, in the error of
    the resource (provider/pkg/azure/client_azcore.go, putOrPatch: runtime.NewResponseError, whose
    Error() prints the body; provider.go, defaultCreate, returns it through azure.AzureError)."""
    if not FEDERATION_NOT_ENABLED.search(" ".join(ANSI.sub("", output).split())):
        return []
    key = config_key("azure.location", config)
    location = config.get(key)
    if location:
        error = ArgumentError("azure.location", location, federation_unsupported_rule())
    else:
        # With an existing resource group and no location, the identity took the group's.
        error = ArgumentError(
            "azure.location",
            None,
            "is not set, so the CI identity is in the resource group's location, which "
            + federation_unsupported_rule(),
        )
    return [
        str(from_argument_error(error, config)),
        f"{key} needs another value; set it (and update the stack) with:",
        f"  {config_command(stack, key, '<region>')}",
    ]
