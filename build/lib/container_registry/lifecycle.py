"""What a registry deletes on its own: the two numbers every cloud's cleanup rules are made of
(aws/registry.py's lifecycle policy, azure/registry.py's retention and purge task,
gcp/registry.py's cleanup policies)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from container_registry.args import DEFAULTS
from container_registry.naming import whole_number

UNTAGGED_EXPIRY_DAYS = (1, 3650)
KEEP_TAGGED_IMAGES = (1, 10000)


def resolve(lifecycle: Mapping[str, Any]) -> tuple[int, int]:
    """(untagged_expiry_days, keep_tagged_images), each checked against its range."""
    untagged = lifecycle.get("untagged_expiry_days", DEFAULTS["lifecycle.untagged_expiry_days"])
    keep = lifecycle.get("keep_tagged_images", DEFAULTS["lifecycle.keep_tagged_images"])
    return (
        whole_number(untagged, "lifecycle.untagged_expiry_days", *UNTAGGED_EXPIRY_DAYS),
        whole_number(keep, "lifecycle.keep_tagged_images", *KEEP_TAGGED_IMAGES),
    )
