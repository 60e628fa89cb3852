"""The stack program: config -> Args -> Registry + RegistryImage(app/) -> the stack's outputs.

stack/config reads the config once (and warns about keys that do nothing); the components are
the container_registry package's, through its public API as any program would use them; the
outputs are the same on every target.
"""

import pulumi

import stack.config
import stack.retention
from container_registry import Registry, RegistryImage

settings = stack.config.load_settings()
# One Docker engine for every Docker resource, checked before anything is registered.
engine = stack.config.prepare_engine(settings)
with stack.config.component_errors(settings):
    registry = Registry(
        stack.config.COMPONENT_NAME,
        settings.args,
        opts=stack.config.registry_options(settings, engine),
    )
    image = RegistryImage(
        stack.config.COMPONENT_NAME,
        stack.config.image_args(settings, engine, registry),
        opts=stack.config.image_options(settings, engine),
    )

pulumi.export("cloud", settings.cloud)
pulumi.export("registryServer", registry.registry_server)
pulumi.export("repoEndpoint", registry.repository_url)
pulumi.export("imageName", image.image_name)
pulumi.export("repoDigest", image.repo_digest)
pulumi.export("credentials", registry.login)
if settings.mirror_enabled:
    pulumi.export("mirrorEndpoint", registry.mirror_endpoint)
# What ./up.sh's retention run needs on the local target (stack/retention.py); nothing
# secret. None on the clouds: they clean up by themselves.
pulumi.export(
    "retention",
    stack.retention.retention_output(settings, engine) if settings.cloud == "local" else None,
)
if settings.options.ci is not None:
    pulumi.export("ci", registry.ci)
    pulumi.export("ciWorkflow", stack.config.ci_workflow(registry))
