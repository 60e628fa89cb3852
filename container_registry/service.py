"""What the four registry services share: the checks of the fields every one takes (their paths
are the same on each), and the outputs every one gives (`ServiceRegistry`): `registry_server`,
`repository_url`, `login` (a secret) and `mirror_endpoint`; with `ci`, `ci` and `ci_workflow`.

A service's folder (aws/, azure/, gcp/, local/) holds its component (registry.py), its Args
(args.py) and their checks (options.py); nothing here names a cloud."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
from typing_extensions import Self

from container_registry import lifecycle, naming
from container_registry.args import DEFAULTS, RegistryCredentials
from container_registry.errors import ArgumentError
from container_registry.options import CiOptions
from container_registry.verification import verification_values


@dataclass(frozen=True)
class RegistryLogin:
    """What `docker login` needs; the password is wrapped as a secret wherever it goes."""

    server: pulumi.Input[str]
    username: pulumi.Input[str]
    password: pulumi.Input[str]


@dataclass(frozen=True)
class CiAccess:
    """What a service outputs when `ci` is set: the values a workflow logs in with (none of them
    secret) and the workflow itself."""

    values: pulumi.Output[dict[str, str]]
    workflow: pulumi.Output[str]


@dataclass(frozen=True)
class Built:
    """A service's registry: where it is, how to log in, and what a push must wait for."""

    registry_server: pulumi.Input[str]
    repository_url: pulumi.Input[str]
    login: RegistryLogin
    ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Resources a push (or a build from the mirror) needs to exist first: the repository
    policy, the mirror's rules, the registry container."""
    mirror_endpoint: pulumi.Input[str] | None = None
    ci: CiAccess | None = None


def common_options(args: object, args_type: type) -> dict[str, Any]:
    """The fields every service takes, checked, as keyword arguments of its options record:
    `args` a mapping of `args_type`'s shape, the repository name (as text; its service checks
    its grammar), the lifecycle, the two switches, and the program's project and stack."""
    from container_registry import shape  # shape imports the Args, which import nothing here

    if not isinstance(args, Mapping):
        raise ArgumentError("", args, f"is not a mapping of {args_type.__name__} arguments")
    shape.check(args, args_type)
    given = cast("Mapping[str, Any]", args)
    untagged, keep = lifecycle.resolve(given.get("lifecycle") or {})
    return {
        "repository_name": str(given.get("repository_name", DEFAULTS["repository_name"])),
        "untagged_expiry_days": untagged,
        "keep_tagged_images": keep,
        "immutable_tags": naming.flag(given, "immutable_tags"),
        "force_delete": naming.flag(given, "force_delete"),
        "pulumi_project": pulumi.get_project(),
        "pulumi_stack": pulumi.get_stack(),
    }


class ServiceRegistry(pulumi.ComponentResource):
    """The outputs all four services give, in one shape, set by `_finish`. Each component
    declares them in its own class body, with their docstrings: the component provider's
    analyzer reads a property's description from the class that declares it only."""

    @classmethod
    def _checked(cls, name: str, options: Any, opts: pulumi.ResourceOptions) -> Self:
        """The service from options `Registry` already checked (its Args, once)."""
        self = cls.__new__(cls)
        self._build(name, options, opts)
        return self

    def _build(self, name: str, options: Any, opts: pulumi.ResourceOptions | None) -> None:
        """Register the component and its children from its own checked options (each service's
        record: EcrOptions, AcrOptions, ArtifactOptions or LocalOptions)."""
        raise NotImplementedError

    def _finish(self, built: Built, extra: Mapping[str, pulumi.Input[Any]]) -> None:
        """The shared outputs from what the service built, registered with `extra`."""
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
        self.register_outputs(
            {
                "registryServer": self.registry_server,
                "repositoryUrl": self.repository_url,
                "login": self.login,
                "mirrorEndpoint": self.mirror_endpoint,
                **extra,
            }
        )


class CloudRegistry(ServiceRegistry):
    """A service a GitHub Actions workflow can push to without a stored secret (`ci`)."""

    def _finish_cloud(
        self, built: Built, ci: CiOptions | None, extra: Mapping[str, pulumi.Input[Any]]
    ) -> None:
        # With `ci`: how to verify what the workflow signs, for the repository it pushes to.
        self.ci = (
            pulumi.Output.all(built.ci.values, built.repository_url).apply(
                lambda v: {**v[0], **verification_values(ci, v[1])}
            )
            if built.ci is not None and ci is not None
            else pulumi.Output.from_input(None)
        )
        self.ci_workflow = (
            built.ci.workflow if built.ci is not None else pulumi.Output.from_input(None)
        )
        self._finish(built, {"ci": self.ci, "ciWorkflow": self.ci_workflow, **extra})


def _created(resource: pulumi.Resource) -> pulumi.Output[Any]:
    """An Output that resolves once `resource` exists (a custom resource's ID)."""
    if isinstance(resource, pulumi.CustomResource):
        return resource.id
    return resource.urn
