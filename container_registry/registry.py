"""`Registry`: a thin facade. It validates the Args (shared parts here, a target's own options in
its folder), loads the one target's builder, and turns what the builder made into outputs.
No cloud SDK is imported until a Registry of that cloud is constructed."""

import importlib
from typing import Any, cast

import pulumi

from container_registry import github, lifecycle, mirror, naming, shape
from container_registry.args import DEFAULTS, RegistryArgs, RegistryCredentials
from container_registry.errors import ArgumentError
from container_registry.options import RegistryOptions
from container_registry.target import Builder, Resolver

TYPE = "container-registry:index:Registry"
CLOUDS: tuple[str, ...] = ("local", "aws", "azure", "gcp")
# The SDK each target's builder imports, for the message when it is missing.
TARGET_SDKS: dict[str, str] = {
    "local": "pulumi_docker",
    "aws": "pulumi_aws",
    "azure": "pulumi_azure_native",
    "gcp": "pulumi_gcp",
}
# The modules each target's build imports from its extra (pyproject.toml's optional-dependencies):
# one that is missing is named with the command that installs the extra (tests/test_hostile_args.py
# blocks each in turn).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "local": ("pulumi_random", "bcrypt"),
    "aws": ("pulumi_aws",),
    "azure": ("pulumi_azure_native",),
    "gcp": ("pulumi_gcp", "pulumi_random"),
}


class MissingExtraError(ModuleNotFoundError):
    """A target's extra is not installed; the message names the command that installs it. A
    ModuleNotFoundError still, with the missing module's `name`, for whoever catches that."""


def cloud_of(args: RegistryArgs) -> str:
    """The target named by `cloud`, in any case; raises ArgumentError for anything else."""
    value = args.get("cloud")
    found = naming.choice(value, CLOUDS) if isinstance(value, str) else None
    if found is None:
        raise ArgumentError("cloud", value, f"is not one of {', '.join(CLOUDS)}")
    return found


def resolve(args: RegistryArgs) -> RegistryOptions:
    """Every Args value checked, before any resource exists; raises ArgumentError (a
    pulumi.InputPropertyError) naming the first bad property path."""
    if not isinstance(args, dict):  # a component provider hands over a dict too
        raise ArgumentError("", args, "is not a mapping of Registry arguments")
    shape.check(args, RegistryArgs)
    cloud = cloud_of(args)
    untagged, keep = lifecycle.resolve(args.get("lifecycle") or {})
    common = RegistryOptions(
        cloud=cloud,
        repository_name=str(args.get("repository_name", DEFAULTS["repository_name"])),
        untagged_expiry_days=untagged,
        keep_tagged_images=keep,
        immutable_tags=naming.flag(args, "immutable_tags"),
        force_delete=naming.flag(args, "force_delete"),
        mirror=mirror.resolve(args.get("mirror") or {}),
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
    )
    target = cast(Any, importlib.import_module(f"container_registry.{cloud}.options"))
    resolver: Resolver = target.resolve
    options = resolver(args, common)
    # Another target's options, when given, are checked and kept too: a typo in them shows now,
    # not on the day the registry moves there. They create nothing.
    for other in CLOUDS:
        block = args.get(other)
        if other != cloud and block:
            module = cast(Any, importlib.import_module(f"container_registry.{other}.options"))
            options = module.keep_block(block, options)
    return options


def builder(cloud: str) -> Builder:
    """The target's `build`, importing its cloud SDK now; without it, a MissingExtraError that
    says `pip install "container-registry[<cloud>]"`."""
    try:
        module = importlib.import_module(f"container_registry.{cloud}.registry")
    except ModuleNotFoundError as missing:
        name = (missing.name or "").partition(".")[0]
        if name not in EXTRA_MODULES[cloud]:
            raise
        raise MissingExtraError(
            f"the {cloud} target needs {name}, which is not installed: install the package with "
            f'its {cloud} extra, `pip install "container-registry[{cloud}]"`',
            name=name,
        ) from missing
    return cast(Any, module).build


class Registry(pulumi.ComponentResource):
    """A private container registry with one repository, on aws (ECR), azure (ACR), gcp
    (Artifact Registry) or local (a registry container on a Docker engine)."""

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
        # Checked before anything is registered, so bad input creates nothing.
        options = resolve(args)
        build = builder(options.cloud)
        super().__init__(TYPE, name, None, opts)
        built = build(name, options, self)

        self.registry_server = pulumi.Output.from_input(built.registry_server)
        # The URL resolves once the resources a push needs exist, and carries them as
        # dependencies into whatever uses it (a RegistryImage).
        self.repository_url = pulumi.Output.all(
            built.repository_url, *(_created(resource) for resource in built.ready)
        ).apply(lambda values: cast(str, values[0]))
        login = built.login
        self.login = pulumi.Output.secret(
            pulumi.Output.all(login.server, login.username, login.password).apply(
                lambda values: RegistryCredentials(
                    server=values[0], username=values[1], password=values[2]
                )
            )
        )
        self.mirror_endpoint = pulumi.Output.from_input(built.mirror_endpoint)
        ci_options = options.ci
        # With `ci`: how to verify what the workflow signs, for the repository it pushes to.
        self.ci = (
            pulumi.Output.all(built.ci.values, built.repository_url).apply(
                lambda v: {**v[0], **github.verification_values(ci_options, v[1])}
            )
            if built.ci is not None and ci_options is not None
            else pulumi.Output.from_input(None)
        )
        self.ci_workflow = (
            built.ci.workflow if built.ci is not None else pulumi.Output.from_input(None)
        )
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


def _created(resource: pulumi.Resource) -> pulumi.Output[Any]:
    """An Output that resolves once `resource` exists (a custom resource's ID)."""
    if isinstance(resource, pulumi.CustomResource):
        return resource.id
    return resource.urn
