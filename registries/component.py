"""The public shape every target shares. Each target subclasses it and builds its own cloud's
resources; only the output attributes and the final image push are common."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from registries.ci import CiAccess
from registries.image import RegistryLogin, push_image
from registries.settings import Settings


class RegistryComponent(pulumi.ComponentResource):
    """A private registry with the app image pushed to it.

    Attributes (the same on every target, exported under their camelCase names):
    registry_server -- host (or host:port) to `docker login` to;
    repo_endpoint   -- the repository URL, without a tag;
    image_name      -- `repo_endpoint:tag`;
    repo_digest     -- `repo_endpoint@sha256:...`, the immutable reference to deploy;
    credentials     -- `{server, username, password}`, a Pulumi secret as a whole.
    mirror_endpoint -- with `mirror: true` only (else None): the registry path that stands for
                       Docker official images (`docker pull <mirror_endpoint>/nginx:<tag>`).

    Only when ciRepository is set (None otherwise, and then not exported):
    ci              -- what a GitHub Actions workflow logs in with; nothing secret;
    ci_workflow     -- that workflow, as YAML for .github/workflows/push-image.yml.
    """

    registry_server: pulumi.Output[str]
    repo_endpoint: pulumi.Output[str]
    image_name: pulumi.Output[str]
    repo_digest: pulumi.Output[str]
    credentials: pulumi.Output[dict[str, str]]
    mirror_endpoint: pulumi.Output[str] | None = None
    ci: pulumi.Output[dict[str, str]] | None = None
    ci_workflow: pulumi.Output[str] | None = None

    def _publish(
        self,
        name: str,
        settings: Settings,
        *,
        registry_server: pulumi.Input[str],
        repo_endpoint: pulumi.Input[str],
        login: RegistryLogin,
        depends_on: Sequence[pulumi.Resource] = (),
        build_args: Mapping[str, pulumi.Input[str]] | None = None,
        mirror_endpoint: pulumi.Input[str] | None = None,
        ci_access: CiAccess | None = None,
    ) -> None:
        """Push the app image, set the shared outputs and register them; call it last."""
        image = push_image(
            name,
            parent=self,
            settings=settings,
            repo_endpoint=repo_endpoint,
            login=login,
            depends_on=depends_on,
            build_args=build_args,
        )
        self.registry_server = pulumi.Output.from_input(registry_server)
        self.repo_endpoint = pulumi.Output.from_input(repo_endpoint)
        self.image_name = image.image_name
        self.repo_digest = image.repo_digest
        self.credentials = pulumi.Output.secret(
            pulumi.Output.all(login.server, login.username, login.password).apply(
                lambda values: {"server": values[0], "username": values[1], "password": values[2]}
            )
        )
        outputs: dict[str, pulumi.Output[object]] = {
            "registryServer": self.registry_server,
            "repoEndpoint": self.repo_endpoint,
            "imageName": self.image_name,
            "repoDigest": self.repo_digest,
            "credentials": self.credentials,
        }
        if mirror_endpoint is not None:
            self.mirror_endpoint = pulumi.Output.from_input(mirror_endpoint)
            outputs["mirrorEndpoint"] = self.mirror_endpoint
        if ci_access is not None:
            self.ci, self.ci_workflow = ci_access.values, ci_access.workflow
            outputs |= {"ci": self.ci, "ciWorkflow": self.ci_workflow}
        self.register_outputs(outputs)
