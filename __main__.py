"""Build the chosen cloud's registry, push the app image to it, and export one output shape."""

import importlib

import pulumi

from registries.engine import prepare_engine
from registries.settings import load_settings

# Imported lazily, so a stack loads only its own cloud's SDK.
TARGETS = {
    "local": ("registries.local", "LocalRegistry"),
    "aws": ("registries.aws", "EcrRegistry"),
    "azure": ("registries.azure", "AcrRegistry"),
    "gcp": ("registries.gcp", "ArtifactRegistry"),
}

settings = load_settings()
# One Docker engine for every Docker resource, checked before anything is registered.
engine = prepare_engine(settings)
module_name, class_name = TARGETS[settings.cloud]
component = getattr(importlib.import_module(module_name), class_name)
registry = component("registry", engine.settings, opts=engine.options)

pulumi.export("cloud", settings.cloud)
pulumi.export("registryServer", registry.registry_server)
pulumi.export("repoEndpoint", registry.repo_endpoint)
pulumi.export("imageName", registry.image_name)
pulumi.export("repoDigest", registry.repo_digest)
pulumi.export("credentials", registry.credentials)
if registry.mirror_endpoint is not None:
    pulumi.export("mirrorEndpoint", registry.mirror_endpoint)
if registry.ci is not None and registry.ci_workflow is not None:
    pulumi.export("ci", registry.ci)
    pulumi.export("ciWorkflow", registry.ci_workflow)
