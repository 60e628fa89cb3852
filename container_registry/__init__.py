"""container_registry: a private container registry per service (`EcrRegistry`, `AcrRegistry`,
`ArtifactRegistry`, `LocalRegistry`), `Registry` to choose one by `cloud`, and an image built
from any context and pushed to any registry (`RegistryImage`).

Importing the package loads only Pulumi itself: each service's component imports its cloud SDK
when it is first used (container_registry/<target>/registry.py), and `RegistryImage` the Docker
provider. So `pip install "container-registry[aws]"` is all an ECR user needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from container_registry.args import (
    AwsTarget,
    AzureTarget,
    CiPush,
    Cloud,
    GcpTarget,
    Lifecycle,
    LocalTarget,
    PullThroughMirror,
    RegistryArgs,
    RegistryCredentials,
    RegistryImageArgs,
)
from container_registry.aws.args import EcrMirror, EcrRegistryArgs
from container_registry.aws.options import EcrOptions
from container_registry.azure.args import AcrMirror, AcrRegistryArgs, AcrSku
from container_registry.azure.options import AcrOptions
from container_registry.errors import ArgumentError
from container_registry.gcp.args import ArtifactMirror, ArtifactRegistryArgs
from container_registry.gcp.options import ArtifactOptions
from container_registry.local.args import LocalMirror, LocalRegistryArgs
from container_registry.local.options import LocalOptions
from container_registry.options import SUBJECT_CLAIM_KEYS as SUBJECT_CLAIM_KEYS
from container_registry.options import WORKFLOW_PATH as WORKFLOW_PATH
from container_registry.options import ServiceOptions

if TYPE_CHECKING:
    from container_registry.aws.registry import EcrRegistry
    from container_registry.azure.registry import AcrRegistry
    from container_registry.gcp.registry import ArtifactRegistry
    from container_registry.image import RegistryImage
    from container_registry.local.registry import LocalRegistry
    from container_registry.local.retention import retain_local_images
    from container_registry.registry import Registry

__all__ = [
    "SUBJECT_CLAIM_KEYS",
    "WORKFLOW_PATH",
    "AcrMirror",
    "AcrOptions",
    "AcrRegistry",
    "AcrRegistryArgs",
    "AcrSku",
    "ArgumentError",
    "ArtifactMirror",
    "ArtifactOptions",
    "ArtifactRegistry",
    "ArtifactRegistryArgs",
    "AwsTarget",
    "AzureTarget",
    "CiPush",
    "Cloud",
    "EcrMirror",
    "EcrOptions",
    "EcrRegistry",
    "EcrRegistryArgs",
    "GcpTarget",
    "Lifecycle",
    "LocalMirror",
    "LocalOptions",
    "LocalRegistry",
    "LocalRegistryArgs",
    "LocalTarget",
    "PullThroughMirror",
    "Registry",
    "RegistryArgs",
    "RegistryCredentials",
    "RegistryImage",
    "RegistryImageArgs",
    "ServiceOptions",
    "check_image_tag",
    "check_registry_args",
    "federation_unsupported_rule",
    "local_container_name",
    "normal_platform",
    "retain_local_images",
]

# The components and the local retention, imported on first use (PEP 562): each loads its
# cloud SDK (the retention, the Docker SDK).
_LAZY = {
    "Registry": "container_registry.registry",
    "RegistryImage": "container_registry.image",
    "EcrRegistry": "container_registry.aws.registry",
    "AcrRegistry": "container_registry.azure.registry",
    "ArtifactRegistry": "container_registry.gcp.registry",
    "LocalRegistry": "container_registry.local.registry",
    "retain_local_images": "container_registry.local.retention",  # with the Docker SDK
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'container_registry' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


# What a program that maps its own settings to the Args needs beyond the components: the checks
# to run before `pulumi up` (a CLI names a bad setting without starting the engine), and the
# few facts the components decide that such a program must repeat to its user. The stack
# program (stack/) uses these and nothing else of the package (tests/test_layers.py):
# - ArgumentError: what the components raise for bad input (a pulumi.InputPropertyError), the
#   bad value and the rule apart, so a program words it with its own key names.
# - ServiceOptions: a Registry's Args as its service checked them (check_registry_args), one of
#   EcrOptions, AcrOptions, ArtifactOptions and LocalOptions.
# - WORKFLOW_PATH: where the `ci_workflow` output must be committed; the clouds trust tokens
#   from a workflow at that path only, so a program that saves the file names it.
# - SUBJECT_CLAIM_KEYS: the OIDC subject template `ci.subject_includes_ref` means; a program
#   prints the `gh api` command that sets it on the repository.


def check_registry_args(args: RegistryArgs) -> ServiceOptions:
    """Every value of a Registry's Args checked, as `Registry` checks them, without creating
    anything; the values as the chosen service reads them (defaults applied, one spelling): an
    EcrOptions, AcrOptions, ArtifactOptions or LocalOptions. A program calls it to refuse a bad
    setting before `pulumi up` and to read a value the service decides (a default port, a
    normalised SKU). Raises ArgumentError naming the first bad property."""
    from container_registry.switch import resolve

    return resolve(args)[1]


def check_image_tag(tag: str, path: str = "tag") -> str:
    """A RegistryImage `tag`, checked as the image checks it (never `latest`); `path` names the
    property in the ArgumentError, for a program that checks its own setting up front."""
    from container_registry.image import check_tag

    return check_tag(tag, path)


def normal_platform(platform: str, path: str = "platform") -> str:
    """A RegistryImage `platform` as the image reads it (`linux/arm64/v8`, aliases normalised),
    or an ArgumentError naming `path`: a program that picks base images per platform reads the
    same value the build uses."""
    from container_registry.naming import normal_platform as normal

    return normal(platform, path)


def federation_unsupported_rule() -> str:
    """The reason the azure target refuses a location where Microsoft allows no federated
    credential on a managed identity. Azure tells a location it does not list only when the
    credential is created (HTTP 405); a program that reads the engine's error gives its user
    the same reason as for a listed location."""
    from container_registry.azure.options import FEDERATION_UNSUPPORTED_RULE

    return FEDERATION_UNSUPPORTED_RULE


def local_container_name(project: str, stack: str, name: str, *, mirror: bool = False) -> str:
    """The name, on the Docker engine, of the container a local Registry called `name` runs in
    Pulumi project `project` and stack `stack` (its mirror's with `mirror`); its volume adds
    `-data`. A program that checks the engine before `up`, or cleans up after `destroy`, finds it
    by this name."""
    from container_registry.local.container import engine_name

    return engine_name(project, stack, name, mirror=mirror)
