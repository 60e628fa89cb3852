"""container_registry: a private container registry on aws, azure, gcp or a local Docker engine
(`Registry`), and an image built from any context and pushed to any registry (`RegistryImage`).

Importing the package loads only Pulumi itself: `Registry` imports the cloud SDK of the target in
use when it is constructed (container_registry/<target>/registry.py), and `RegistryImage` the
Docker provider when it is first used. So `pip install "./container-registry[aws]"` (from a clone of
this repository) is all an ECR user needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from container_registry.args import (
    AwsTarget,
    AzureTarget,
    CiPush,
    GcpTarget,
    Lifecycle,
    LocalTarget,
    PullThroughMirror,
    RegistryArgs,
    RegistryCredentials,
    RegistryImageArgs,
)

if TYPE_CHECKING:
    from container_registry.image import RegistryImage
    from container_registry.registry import Registry

__all__ = [
    "AwsTarget",
    "AzureTarget",
    "CiPush",
    "GcpTarget",
    "Lifecycle",
    "LocalTarget",
    "PullThroughMirror",
    "Registry",
    "RegistryArgs",
    "RegistryCredentials",
    "RegistryImage",
    "RegistryImageArgs",
]

# The components, imported on first use (PEP 562): the image module loads pulumi_docker.
_LAZY = {"Registry": "container_registry.registry", "RegistryImage": "container_registry.image"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'container_registry' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
