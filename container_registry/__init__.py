"""container_registry: a private container registry per service (`EcrRegistry`, `AcrRegistry`,
`ArtifactRegistry`, `LocalRegistry`), `Registry` to choose one by `cloud`, and an image built
from any context and pushed to any registry (`RegistryImage`).

Importing the package loads only Pulumi itself: each service's component imports its cloud SDK
when it is first used (container_registry/<target>/registry.py), and `RegistryImage` the Docker
provider. So `pip install "./container-registry[aws]"` (from a clone of
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
from container_registry.aws.args import EcrMirror, EcrRegistryArgs
from container_registry.azure.args import AcrMirror, AcrRegistryArgs, AcrSku
from container_registry.gcp.args import ArtifactMirror, ArtifactRegistryArgs
from container_registry.local.args import LocalMirror, LocalRegistryArgs

if TYPE_CHECKING:
    from container_registry.aws.registry import EcrRegistry
    from container_registry.azure.registry import AcrRegistry
    from container_registry.gcp.registry import ArtifactRegistry
    from container_registry.image import RegistryImage
    from container_registry.local.registry import LocalRegistry
    from container_registry.registry import Registry

__all__ = [
    "AcrMirror",
    "AcrRegistry",
    "AcrRegistryArgs",
    "AcrSku",
    "ArtifactMirror",
    "ArtifactRegistry",
    "ArtifactRegistryArgs",
    "AwsTarget",
    "AzureTarget",
    "CiPush",
    "EcrMirror",
    "EcrRegistry",
    "EcrRegistryArgs",
    "GcpTarget",
    "Lifecycle",
    "LocalMirror",
    "LocalRegistry",
    "LocalRegistryArgs",
    "LocalTarget",
    "PullThroughMirror",
    "Registry",
    "RegistryArgs",
    "RegistryCredentials",
    "RegistryImage",
    "RegistryImageArgs",
]

# The components, imported on first use (PEP 562): each loads its cloud SDK.
_LAZY = {
    "Registry": "container_registry.registry",
    "RegistryImage": "container_registry.image",
    "EcrRegistry": "container_registry.aws.registry",
    "AcrRegistry": "container_registry.azure.registry",
    "ArtifactRegistry": "container_registry.gcp.registry",
    "LocalRegistry": "container_registry.local.registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'container_registry' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
