"""`Registry`: the `cloud` switch, a thin component over the four services (EcrRegistry,
AcrRegistry, ArtifactRegistry, LocalRegistry). Its Args are mapped to the chosen service's
(switch.py), checked once there, and the service is built as the Registry's one child.
No cloud SDK is imported until a Registry of that cloud is constructed."""

from typing import TYPE_CHECKING, Any

import pulumi

from container_registry import switch
from container_registry.args import RegistryArgs, RegistryCredentials
from container_registry.options import RegistryOptions
from container_registry.service import CloudRegistry

if TYPE_CHECKING:  # each imports its cloud SDK: only the chosen one is imported at run time
    from container_registry.aws.registry import EcrRegistry
    from container_registry.azure.registry import AcrRegistry
    from container_registry.gcp.registry import ArtifactRegistry
    from container_registry.local.registry import LocalRegistry

TYPE = "container-registry:index:Registry"
# The SDK each service imports, and the modules of its extra (pyproject.toml): one that is
# missing is named with the command that installs the extra (tests/test_hostile_args.py).
TARGET_SDKS: dict[str, str] = {
    "local": "pulumi_docker",
    "aws": "pulumi_aws",
    "azure": "pulumi_azure_native",
    "gcp": "pulumi_gcp",
}
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "local": ("pulumi_random", "bcrypt"),
    "aws": ("pulumi_aws",),
    "azure": ("pulumi_azure_native",),
    "gcp": ("pulumi_gcp", "pulumi_random"),
}


class MissingExtraError(ModuleNotFoundError):
    """A target's extra is not installed; the message names the command that installs it. A
    ModuleNotFoundError still, with the missing module's `name`, for whoever catches that."""


def resolve(args: RegistryArgs) -> RegistryOptions:
    """The chosen service's Args checked, named by RegistryArgs' paths; raises ArgumentError."""
    cloud, service_args = switch.service_args(args)
    with switch.registry_paths(cloud):
        return switch.resolver(cloud)(service_args)


def service(cloud: str) -> Any:
    """The service's component class, importing its cloud SDK now; without it, a
    MissingExtraError that says `pip install "container-registry[<cloud>]"`."""
    try:
        return switch.component(cloud)
    except ModuleNotFoundError as missing:
        name = (missing.name or "").partition(".")[0]
        if name not in EXTRA_MODULES[cloud]:
            raise
        raise MissingExtraError(
            f"the {cloud} target needs {name}, which is not installed: install the package with "
            f'its {cloud} extra, `pip install "container-registry[{cloud}]"`',
            name=name,
        ) from missing


class Registry(pulumi.ComponentResource):
    """A private container registry with one repository, on aws (ECR), azure (ACR), gcp
    (Artifact Registry) or local (a registry container on a Docker engine). `service` is the
    chosen service's component, with its resources (`registry.service.repository`)."""

    registry_server: pulumi.Output[str]
    """The host (or host:port) to `docker login` to."""
    repository_url: pulumi.Output[str]
    """The repository URL, without a tag; ready to push to once it resolves."""
    login: pulumi.Output[RegistryCredentials]
    """`{server, username, password}` for `docker login`, a Pulumi secret as a whole."""
    mirror_endpoint: pulumi.Output[str | None]
    """With the mirror on: the path that stands for Docker official images
    (`docker pull <mirror_endpoint>/nginx:<tag>`); else none."""
    ci: pulumi.Output[dict[str, str] | None]
    """With `ci`: what a GitHub Actions workflow logs in with, and the certificate identity,
    issuer and commands that verify what it signs (nothing secret); else none."""
    ci_workflow: pulumi.Output[str | None]
    """With `ci`: that workflow, as YAML for .github/workflows/; else none."""

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        options = resolve(args)  # checked before anything is registered
        component = service(options.cloud)
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, transformations=[switch.keep_urns(self)])
        self.service: EcrRegistry | AcrRegistry | ArtifactRegistry | LocalRegistry = (
            component._checked(name, options, child)
        )
        self.registry_server = self.service.registry_server
        self.repository_url = self.service.repository_url
        self.login = self.service.login
        self.mirror_endpoint = self.service.mirror_endpoint
        none = pulumi.Output.from_input(None)
        cloud = self.service if isinstance(self.service, CloudRegistry) else None
        self.ci = none if cloud is None else cloud.ci
        self.ci_workflow = none if cloud is None else cloud.ci_workflow
        self.register_outputs(
            {
                "registryServer": self.registry_server,
                "repositoryUrl": self.repository_url,
                "login": self.login,
                "mirrorEndpoint": self.mirror_endpoint,
                "ci": self.ci,
                "ciWorkflow": self.ci_workflow,
            }
        )
