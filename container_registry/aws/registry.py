"""`EcrRegistry`: an Amazon ECR repository, scanned and encrypted, with tag immutability, a
lifecycle policy and a repository policy that grants only what pushing and pulling need."""

import json

import pulumi
import pulumi_aws as aws

from container_registry.args import RegistryCredentials
from container_registry.aws.access import ci_push_access
from container_registry.aws.args import EcrRegistryArgs
from container_registry.aws.mirror import (
    ecr_mirror,
    mirror_endpoint,
    mirror_prefixes,
)
from container_registry.aws.options import EcrOptions, resolve
from container_registry.aws.policies import (
    lifecycle_policy,
    repository_policy,
)
from container_registry.service import Built, CloudRegistry, RegistryLogin

TYPE = "container-registry:index:EcrRegistry"


class EcrRegistry(CloudRegistry):
    """A private Amazon ECR repository (awsx's `ecr.Repository` is the model): its resources
    are attributes a program can attach more to. `repository` is the `aws.ecr.Repository`,
    `lifecycle_policy` and `repository_policy` its policies. Through the component provider
    (other languages) they are outputs by name: `repository_name` and `repository_arn`."""

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

    repository_name: pulumi.Output[str]
    """The ECR repository's name (the `repository` attribute in Python)."""
    repository_arn: pulumi.Output[str]
    """The ECR repository's ARN."""

    def __init__(
        self, name: str, args: EcrRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Checked before anything is registered, so bad input creates nothing.
        self._build(name, resolve(args), opts)

    def _build(self, name: str, options: EcrOptions, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(TYPE, name, None, opts)
        built = self._children(name, options)
        self.repository_name = self.repository.name
        self.repository_arn = self.repository.arn
        self._finish_cloud(
            built,
            options.ci,
            {"repositoryName": self.repository_name, "repositoryArn": self.repository_arn},
        )

    def _children(self, name: str, options: EcrOptions) -> Built:
        """The repository, its lifecycle and repository policies, the mirror and CI push when
        asked, and a fresh login token; named `<name>-...`."""
        parent = self
        child = pulumi.ResourceOptions(parent=parent)
        invoke = pulumi.InvokeOutputOptions(parent=parent)
        kms_key = options.kms_key_arn

        self.repository = repo = aws.ecr.Repository(
            f"{name}-repo",
            aws.ecr.RepositoryArgs(
                name=options.repository_name,
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                image_tag_mutability="IMMUTABLE" if options.immutable_tags else "MUTABLE",
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(
                        encryption_type="KMS" if kms_key else "AES256",
                        kms_key=kms_key,
                    )
                ],
                force_delete=options.force_delete,
                tags=options.tags,
            ),
            opts=child,
        )

        self.lifecycle_policy = aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            aws.ecr.LifecyclePolicyArgs(
                repository=repo.name, policy=json.dumps(lifecycle_policy(options))
            ),
            opts=child,
        )

        identity = aws.get_caller_identity_output(opts=invoke)
        partition = aws.get_partition_output(opts=invoke)
        account_root = pulumi.Output.concat(
            "arn:", partition.partition, ":iam::", identity.account_id, ":root"
        )
        self.repository_policy = policy = aws.ecr.RepositoryPolicy(
            f"{name}-policy",
            aws.ecr.RepositoryPolicyArgs(
                repository=repo.name,
                policy=account_root.apply(
                    lambda root: json.dumps(repository_policy(root, options.pull_principals))
                ),
            ),
            opts=child,
        )

        registry_server = repo.repository_url.apply(lambda url: url.split("/", 1)[0])
        mirror = ecr_mirror(name, options, parent) if options.mirror.enabled else []
        endpoint = (
            registry_server.apply(lambda server: mirror_endpoint(server, options))
            if mirror
            else None
        )

        # Keyless push from GitHub Actions (issue 11): only with `ci`. With the mirror, its build
        # takes the base image through the cache, and may make the first pull.
        ci_access = ci_push_access(
            name,
            options,
            parent=parent,
            repository=repo,
            mirror_prefixes=mirror_prefixes(options) if mirror else (),
            mirror_endpoint=endpoint,
        )

        # A fresh 12-hour token on every run, for the push only; the provider stays untouched.
        token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id, opts=invoke)
        return Built(
            registry_server=registry_server,
            repository_url=repo.repository_url,
            login=RegistryLogin(
                server=registry_server,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            ready=[policy, *mirror],
            mirror_endpoint=endpoint,
            ci=ci_access,
        )
