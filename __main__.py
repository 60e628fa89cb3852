"""Build the chosen cloud's registry, push the app image to it, and export one output shape."""

import importlib

import pulumi

from registries.engine import prepare_engine
from registries.settings import SettingsError, load_settings

# Imported lazily, so a stack loads only its own cloud's SDK.
TARGETS = {
    "local": ("registries.local", "LocalRegistry"),
    "aws": ("registries.aws", "EcrRegistry"),
    "azure": ("registries.azure", "AcrRegistry"),
    "gcp": ("registries.gcp", "ArtifactRegistry"),
}

settings = load_settings()
module_name, class_name = TARGETS[settings.cloud]
try:
    component = getattr(importlib.import_module(module_name), class_name)
except ModuleNotFoundError as missing:
    # requirements.txt holds the local stack's packages only; each cloud's SDK is in
    # requirements-<cloud>.txt. Said before anything is registered.
    if settings.cloud == "local" or not (missing.name or "").startswith("pulumi_"):
        raise
    raise SettingsError(
        "cloud",
        settings.cloud,
        f"needs the {missing.name} package, which venv/ lacks: install it with "
        f"`venv/bin/python -m pip install -r requirements-{settings.cloud}.txt` "
        f"(./up.sh does this for every stack whose cloud is {settings.cloud})",
    ) from missing
# One Docker engine for every Docker resource, checked before anything is registered.
engine = prepare_engine(settings)
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
