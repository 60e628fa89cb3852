"""Amazon ECR: a scanned, encrypted repository with tag immutability, a lifecycle policy and a
repository policy that grants only what pushing and pulling need."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from container_registry.aws.access import ci_push_access
from container_registry.aws.mirror import (
    ecr_mirror,
    mirror_endpoint,
    mirror_prefixes,
)
from container_registry.aws.policies import (
    lifecycle_policy,
    repository_policy,
)
from container_registry.options import RegistryOptions
from container_registry.target import Built, RegistryLogin


def build(name: str, options: RegistryOptions, parent: pulumi.Resource) -> Built:
    """The repository, its lifecycle and repository policies, the mirror and CI push when asked,
    and a fresh login token; children of `parent` named `<name>-...`."""
    child = pulumi.ResourceOptions(parent=parent)
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    kms_key = options.aws.kms_key_arn

    repo = aws.ecr.Repository(
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

    aws.ecr.LifecyclePolicy(
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
    policy = aws.ecr.RepositoryPolicy(
        f"{name}-policy",
        aws.ecr.RepositoryPolicyArgs(
            repository=repo.name,
            policy=account_root.apply(
                lambda root: json.dumps(repository_policy(root, options.aws.pull_principals))
            ),
        ),
        opts=child,
    )

    registry_server = repo.repository_url.apply(lambda url: url.split("/", 1)[0])
    mirror = ecr_mirror(name, options, parent) if options.mirror.enabled else []
    endpoint = (
        registry_server.apply(lambda server: mirror_endpoint(server, options)) if mirror else None
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
