"""Build the chosen cloud's registry, push the app image to it, and export one output shape."""

import importlib

import pulumi

from registries.settings import load_settings

# Imported lazily, so a stack loads only its own cloud's SDK.
TARGETS = {
    "local": ("registries.local", "LocalRegistry"),
    "aws": ("registries.aws", "EcrRegistry"),
    "azure": ("registries.azure", "AcrRegistry"),
    "gcp": ("registries.gcp", "ArtifactRegistry"),
}

settings = load_settings()
module_name, class_name = TARGETS[settings.cloud]
registry = getattr(importlib.import_module(module_name), class_name)("registry", settings)

pulumi.export("cloud", settings.cloud)
pulumi.export("registryServer", registry.registry_server)
pulumi.export("repoEndpoint", registry.repo_endpoint)
pulumi.export("imageName", registry.image_name)
pulumi.export("repoDigest", registry.repo_digest)
pulumi.export("credentials", registry.credentials)
if registry.ci is not None and registry.ci_workflow is not None:
    pulumi.export("ci", registry.ci)
    pulumi.export("ciWorkflow", registry.ci_workflow)
