"""The pull-through mirror (`mirror: true`), on every target: what it creates, what it exports,
and that the app is built from it. With the mirror off nothing of it exists."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from dockerfile_parse import DockerfileParser
from policyuniverse.policy import Policy as IamPolicy

from conftest import (
    ACCOUNT,
    AWS_REGION,
    CREDENTIAL_SET_PRINCIPAL,
    PROJECT,
    ROOT,
    SECRET_VALUES,
    TARGET_CONFIG,
    Harness,
    Registered,
    deploy,
    is_secret,
    on_its_cloud,
    options_of,
    resolve,
    run_target,
    service_component,
    stub_engine,
)
from container_registry import AcrOptions, ArtifactOptions, EcrOptions, LocalOptions, Registry
from container_registry.aws import mirror as aws_target
from container_registry.aws.policies import lifecycle_policy
from container_registry.azure.options import AcrMirrorOptions
from container_registry.errors import ArgumentError
from container_registry.image import content_tag
from stack.config import load_settings
from stack.config.base_image import (
    DOCKERFILE,
    IMAGE_ARG,
    TAG_ARG,
    BaseImage,
    BaseImageError,
    base_image,
)
from stack.config.errors import SettingsError
from stack.config.keys import (
    PLAINTEXT_SET,
    PROJECT_KEYS,
    SECRET_KEYS,
    SECRET_SET,
    read_config,
    read_secrets,
)
from stack.config.parse import parse_settings

APP_DIR = ROOT / "app"
CLOUDS = ("aws", "azure", "gcp", "local")
IMAGE = "docker:index/image:Image"
CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
PTC_RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
ECR_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
ACR_CACHE_RULE = "azure-native:containerregistry:CacheRule"
ACR_CREDENTIAL_SET = "azure-native:containerregistry:CredentialSet"
GAR_REPOSITORY = "gcp:artifactregistry/repository:Repository"
# The resource types that exist only for the mirror, per target.
MIRROR_TYPES: dict[str, tuple[str, ...]] = {
    "aws": (PTC_RULE, ECR_TEMPLATE),
    "azure": (ACR_CACHE_RULE, ACR_CREDENTIAL_SET),
    "gcp": (),
    "local": (),
}
ECR_HOST = f"{ACCOUNT}.dkr.ecr.{AWS_REGION}.amazonaws.com"
# The cache prefixes of the test stack: the upstream, then 8 hex digits of project and stack.
STACK_SUFFIX = hashlib.sha256(f"{PROJECT}\0dev".encode()).hexdigest()[:8]
ECR_PUBLIC_PREFIX = f"ecr-public-{STACK_SUFFIX}"
DOCKER_HUB_PREFIX = f"docker-hub-{STACK_SUFFIX}"
EXPECTED_ENDPOINT = {
    "aws": f"{ECR_HOST}/{ECR_PUBLIC_PREFIX}/docker/library",
    "gcp": "europe-west4-docker.pkg.dev/my-project-123/app-mirror/library",
    "local": "localhost:5001/library",
}
DOCKER_HUB_TOKEN = "dckr_pat_mock-docker-hub-token-5e2d"
SECRET_ARN = (
    f"arn:aws:secretsmanager:{AWS_REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
)
USERNAME_URI = "https://my-vault.vault.azure.net/secrets/dockerhub-user"
PASSWORD_URI = "https://my-vault.vault.azure.net/secrets/dockerhub-token"
# The vault of both secrets, in a subscription other than the registry's (conftest.AZURE_CLIENT).
VAULT_SUBSCRIPTION = "7d1e2c3b-4a5f-4e6d-9c8b-1a2b3c4d5e6f"
VAULT_ID = (
    f"/subscriptions/{VAULT_SUBSCRIPTION}/resourceGroups/secrets-rg"
    "/providers/Microsoft.KeyVault/vaults/my-vault"
)
ACR_CREDENTIALS = {
    "acrDockerHubUsernameSecretUri": USERNAME_URI,
    "acrDockerHubPasswordSecretUri": PASSWORD_URI,
    "acrDockerHubKeyVaultId": VAULT_ID,
}
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
SECRET_VERSION = "projects/my-project-123/secrets/dockerhub-token/versions/3"


@pytest.fixture
def secret_token(harness: Harness) -> Iterator[None]:
    """dockerHubToken set as `pulumi config set --secret` does: the engine names it secret."""
    harness.configure(dockerHubUser="someone", dockerHubToken=DOCKER_HUB_TOKEN)
    pulumi.runtime.set_all_config(dict(harness.config), [f"{PROJECT}:dockerHubToken"])
    yield
    pulumi.runtime.set_all_config({}, [])


def mirror_endpoint_of(harness: Harness, cloud: str, outputs: dict[str, Any]) -> str:
    endpoint = resolve(outputs["mirrorEndpoint"])
    if cloud == "azure":
        registry = harness.one("azure-native:containerregistry:Registry")
        assert endpoint == f"{registry.inputs['registryName']}.azurecr.io/library"
    else:
        assert endpoint == EXPECTED_ENDPOINT[cloud]
    return endpoint


def mirror_resources(harness: Harness, cloud: str) -> list[Registered]:
    """Everything the mirror added: its own types plus the mirror repository / container."""
    return [
        r
        for r in harness.resources
        if r.typ in MIRROR_TYPES[cloud] or (r.custom and r.name.startswith("registry-mirror"))
    ]


# --------------------------------------------------------------------------- on and off


@pytest.mark.parametrize("cloud", CLOUDS)
def test_mirror_off_creates_nothing_new(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    outputs = run_target(harness, monkeypatch, cloud)
    assert "mirrorEndpoint" not in outputs
    assert mirror_resources(harness, cloud) == []
    image = harness.one(IMAGE)
    assert "args" not in image.inputs["build"], "a build argument without the mirror"
    tag = content_tag(APP_DIR, "linux/amd64")
    assert image.inputs["imageName"].endswith(f":{tag}"), "the mirror-off tag must not change"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_mirror_on_exports_its_endpoint_and_builds_from_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    outputs = run_target(harness, monkeypatch, cloud, mirror="true")
    endpoint = mirror_endpoint_of(harness, cloud, outputs)
    assert not is_secret(outputs["mirrorEndpoint"]), "users must be able to read mirrorEndpoint"

    image = harness.one(IMAGE)
    args = image.inputs["build"]["args"]
    assert args == {IMAGE_ARG: f"{endpoint}/nginx"}, args
    # The content tag covers the build arguments: another base image is another tag.
    tag = content_tag(APP_DIR, "linux/amd64", args)
    assert image.inputs["imageName"].endswith(f":{tag}")
    assert tag != content_tag(APP_DIR, "linux/amd64")
    assert resolve(outputs["imageName"]).endswith(f":{tag}")

    # The build waits for the mirror to exist.
    added = mirror_resources(harness, cloud)
    assert added, f"{cloud}: mirror on, but nothing was added"
    # (The volume and the credential set come in through the container and the cache rules.)
    mirror_urns = {r.urn for r in added if r.typ not in (ACR_CREDENTIAL_SET, VOLUME)}
    assert mirror_urns <= set(image.dependencies), (
        f"{cloud}: the image build does not wait for {mirror_urns - set(image.dependencies)}"
    )
    component = harness.one("container-registry:index:Registry")
    service = service_component(harness, cloud)
    assert all(r.parent == service.urn for r in added), "mirror resources must be children"
    assert "mirrorEndpoint" in harness.monitor.registered_outputs[component.urn]
    assert "mirrorEndpoint" in harness.monitor.registered_outputs[service.urn]


def test_mirror_endpoint_attribute_is_none_without_the_mirror(harness: Harness) -> None:
    registry = deploy({"cloud": "aws"})
    assert resolve(registry.mirror_endpoint) is None
    assert resolve(registry.image_name)


# --------------------------------------------------------------------------- aws


def test_aws_caches_ecr_public_with_an_encrypted_expiring_template(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "aws", mirror="true", untaggedExpiryDays="3")
    rule = harness.one(PTC_RULE)
    assert rule.inputs["ecrRepositoryPrefix"] == ECR_PUBLIC_PREFIX
    assert rule.inputs["upstreamRegistryUrl"] == "public.ecr.aws"
    assert "credentialArn" not in rule.inputs, "ECR Public needs no credentials"
    template = harness.one(ECR_TEMPLATE)
    assert template.inputs["prefix"] == ECR_PUBLIC_PREFIX
    assert template.inputs["appliedFors"] == ["PULL_THROUGH_CACHE"]
    assert template.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert template.inputs["imageTagMutability"] == "MUTABLE", "the cache follows upstream tags"
    lifecycle = json.loads(template.inputs["lifecyclePolicy"])
    assert lifecycle == lifecycle_policy(EcrOptions(untagged_expiry_days=3))
    assert "repositoryPolicy" not in template.inputs


def test_aws_docker_hub_rule_only_with_the_secret(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "aws", mirror="true", dockerHubCredentialsSecretArn=SECRET_ARN)
    rules = {r.inputs["ecrRepositoryPrefix"]: r.inputs for r in harness.of_type(PTC_RULE)}
    assert set(rules) == {ECR_PUBLIC_PREFIX, DOCKER_HUB_PREFIX}
    assert rules[DOCKER_HUB_PREFIX]["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert rules[DOCKER_HUB_PREFIX]["credentialArn"] == SECRET_ARN
    templates = {r.inputs["prefix"] for r in harness.of_type(ECR_TEMPLATE)}
    assert templates == {ECR_PUBLIC_PREFIX, DOCKER_HUB_PREFIX}


@pytest.mark.parametrize("stack", ["dev", "aws", "prod-eu", "A_Very.Long-stack_name" * 4])
def test_aws_cache_prefixes_are_the_stacks_own_and_valid(stack: str) -> None:
    """Cache rules and templates are one per prefix in an account and region: two stacks must
    never ask for the same one. ECR takes 2 to 30 of [a-z0-9] joined by '-', '_' or '.'."""
    settings = EcrOptions(pulumi_stack=stack)
    prefixes = {aws_target.cache_prefix(settings, u) for u in ("ecr-public", "docker-hub")}
    for prefix in prefixes:
        assert re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", prefix) and len(prefix) <= 30
    other = EcrOptions(pulumi_stack=stack + "2")
    assert aws_target.cache_prefix(other, "ecr-public") not in prefixes
    assert aws_target.cache_prefix(settings, "ecr-public") == aws_target.cache_prefix(
        EcrOptions(pulumi_stack=stack), "ecr-public"
    ), "stable for one stack"


def test_aws_first_pull_policy_grants_only_the_cache_prefixes() -> None:
    prefixes = ("ecr-public", "docker-hub")
    document = aws_target.pull_through_identity_policy("aws", AWS_REGION, ACCOUNT, prefixes)
    policy = IamPolicy(document)
    assert not policy.is_internet_accessible()
    assert policy.action_summary() == {"ecr": {"Read", "Write"}}, policy.action_summary()
    (statement,) = document["Statement"]
    # A pull through the cache is a pull (the ECR user guide's pull actions) plus, the first
    # time, importing the image and creating its repository ("IAM permissions required to sync
    # an upstream registry with an Amazon ECR private registry").
    assert sorted(statement["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:BatchImportUpstreamImage",
        "ecr:CreateRepository",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert statement["Resource"] == [
        f"arn:aws:ecr:{AWS_REGION}:{ACCOUNT}:repository/{prefix}/*" for prefix in prefixes
    ]


# --------------------------------------------------------------------------- azure


def test_azure_caches_the_base_image_anonymously_by_default(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "azure", mirror="true")
    rule = harness.one(ACR_CACHE_RULE)
    assert rule.inputs["sourceRepository"] == "docker.io/library/nginx"
    assert rule.inputs["targetRepository"] == "library/nginx"
    assert rule.inputs["cacheRuleName"] == "dockerhub-library-nginx"
    assert "credentialSetResourceId" not in rule.inputs
    assert harness.of_type(ACR_CREDENTIAL_SET) == []
    registry = harness.one("azure-native:containerregistry:Registry")
    assert rule.inputs["registryName"] == registry.inputs["registryName"]
    assert registry.urn in rule.dependencies


@pytest.mark.parametrize(
    ("repositories", "sources"),
    [
        ('["*"]', ["docker.io/library/*"]),
        ('["nginx", "python", "nginx"]', ["docker.io/library/nginx", "docker.io/library/python"]),
        ("[]", ["docker.io/library/nginx"]),
    ],
    ids=["wildcard", "listed", "empty-means-base-image"],
)
def test_azure_cache_rules_follow_mirror_repositories(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, repositories: str, sources: list[str]
) -> None:
    run_target(harness, monkeypatch, "azure", mirror="true", mirrorRepositories=repositories)
    rules = harness.of_type(ACR_CACHE_RULE)
    # Registered concurrently once the registry's name resolves: the order is not the program's.
    assert sorted(r.inputs["sourceRepository"] for r in rules) == sorted(sources)
    for r in rules:
        assert r.inputs["targetRepository"] == r.inputs["sourceRepository"].removeprefix(
            "docker.io/"
        )
        assert 5 <= len(r.inputs["cacheRuleName"]) <= 50


def test_azure_credential_set_only_with_both_key_vault_secrets(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "azure", mirror="true", **ACR_CREDENTIALS)
    credential_set = harness.one(ACR_CREDENTIAL_SET)
    assert credential_set.inputs["loginServer"] == "docker.io"
    assert credential_set.inputs["authCredentials"] == [
        {
            "name": "Credential1",
            "usernameSecretIdentifier": USERNAME_URI,
            "passwordSecretIdentifier": PASSWORD_URI,
        }
    ]
    assert credential_set.inputs["identity"] == {"type": "SystemAssigned"}
    rule = harness.one(ACR_CACHE_RULE)
    assert rule.inputs["credentialSetResourceId"] == "registry-mirror-credentials-id"


def test_azure_credential_set_may_read_its_vault_before_any_pull(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first `up` with Docker Hub credentials needs no manual `az role assignment`: the
    credential set's own identity gets Key Vault Secrets User on the vault of both secrets, and
    the cache rules and the build wait for that grant."""
    run_target(
        harness,
        monkeypatch,
        "azure",
        mirror="true",
        mirrorRepositories='["nginx", "python"]',
        **ACR_CREDENTIALS,
    )
    credential_set = harness.one(ACR_CREDENTIAL_SET)
    grants = [r for r in harness.of_type(ROLE_ASSIGNMENT) if r.inputs["scope"] == VAULT_ID]
    assert len(grants) == 1, [r.name for r in harness.of_type(ROLE_ASSIGNMENT)]
    (grant,) = grants
    # "Key Vault Secrets User" is 4633458b-17de-408a-b874-0445c86b69e6 in every tenant:
    # https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security
    # #key-vault-secrets-user (Microsoft's built-in roles page, "Key Vault Secrets User", id).
    # A role definition is named in the subscription of the scope it is assigned on: the vault's.
    assert grant.inputs["roleDefinitionId"] == (
        f"/subscriptions/{VAULT_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
        "4633458b-17de-408a-b874-0445c86b69e6"
    )
    assert grant.inputs["scope"] == VAULT_ID, "the grant must be on the one vault, no wider"
    # The credential set's system-assigned identity, as ACR reports it, and nobody else.
    assert grant.inputs["principalId"] == CREDENTIAL_SET_PRINCIPAL
    assert grant.inputs["principalType"] == "ServicePrincipal"
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        grant.inputs["roleAssignmentName"],
    )
    assert credential_set.urn in grant.dependencies
    rules = harness.of_type(ACR_CACHE_RULE)
    assert len(rules) == 2
    for rule in rules:
        assert grant.urn in rule.dependencies, f"{rule.name} may use the set before the grant"
    image = harness.one(IMAGE)
    assert grant.urn in image.dependencies, "the build may pull before the grant exists"


def test_azure_no_vault_grant_without_credentials(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "azure", mirror="true")
    assert harness.of_type(ROLE_ASSIGNMENT) == []


def test_azure_credential_set_without_its_vault_is_refused_before_anything_exists(
    harness: Harness,
) -> None:
    """Args given directly, without the stack's config: the component checks it too."""
    args = {
        "cloud": "azure",
        "azure": {
            "location": "westeurope",
            "docker_hub_username_secret_uri": USERNAME_URI,
            "docker_hub_password_secret_uri": PASSWORD_URI,
        },
        "mirror": {"enabled": True},
    }
    with pytest.raises(ArgumentError) as caught:
        Registry("registry", args)  # type: ignore[arg-type]
    assert caught.value.property_path == "azure.docker_hub_key_vault_id"
    assert harness.resources == []


# --------------------------------------------------------------------------- gcp


def main_and_mirror(harness: Harness, typ: str, main: str) -> tuple[Registered, Registered]:
    """The target's two resources of `typ`: the main one (named `main`) and `registry-mirror`."""
    found = {r.name: r for r in harness.of_type(typ)}
    assert set(found) == {main, "registry-mirror"}, set(found)
    return found[main], found["registry-mirror"]


def gar_repositories(harness: Harness) -> tuple[Registered, Registered]:
    return main_and_mirror(harness, GAR_REPOSITORY, "registry-repo")


def test_gcp_remote_repository_of_docker_hub(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "gcp", mirror="true")
    main, mirror = gar_repositories(harness)
    assert mirror.inputs["mode"] == "REMOTE_REPOSITORY"
    assert mirror.inputs["format"] == "DOCKER"
    assert mirror.inputs["repositoryId"] == "app-mirror"
    config = mirror.inputs["remoteRepositoryConfig"]
    assert config["dockerRepository"] == {"publicRepository": "DOCKER_HUB"}
    assert "upstreamCredentials" not in config
    # Nothing to race without credentials: Google still checks the upstream at creation.
    assert "disableUpstreamValidation" not in config
    assert mirror.inputs["labels"] == main.inputs["labels"]
    assert mirror.inputs["cleanupPolicies"] == main.inputs["cleanupPolicies"]
    assert mirror.inputs["cleanupPolicyDryRun"] is False
    assert (
        mirror.inputs["vulnerabilityScanningConfig"] == main.inputs["vulnerabilityScanningConfig"]
    )
    assert mirror.protect, "the remote repository must be protected like the main one"
    assert "mode" not in main.inputs, "the main repository stays a standard one"


def test_gcp_upstream_credentials_only_when_given(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(
        harness,
        monkeypatch,
        "gcp",
        mirror="true",
        dockerHubUser="someone",
        gcpDockerHubPasswordSecretVersion=SECRET_VERSION,
    )
    _, mirror = gar_repositories(harness)
    assert mirror.inputs["remoteRepositoryConfig"]["upstreamCredentials"] == {
        "usernamePasswordCredentials": {
            "username": "someone",
            "passwordSecretVersion": SECRET_VERSION,
        }
    }


AR_SERVICE_AGENT = (
    "serviceAccount:service-123456789012@gcp-sa-artifactregistry.iam.gserviceaccount.com"
)


def test_gcp_service_agent_may_read_the_token_before_the_mirror_exists(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google checks the upstream credentials when it creates the remote repository, so the
    Artifact Registry service agent exists and may read that one secret first."""
    run_target(
        harness,
        monkeypatch,
        "gcp",
        mirror="true",
        dockerHubUser="someone",
        gcpDockerHubPasswordSecretVersion=SECRET_VERSION,
    )
    agent = harness.one("gcp:projects/serviceIdentity:ServiceIdentity")
    assert agent.inputs == {
        "project": "my-project-123",
        "service": "artifactregistry.googleapis.com",
    }
    grant = harness.one("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert grant.inputs == {
        "project": "my-project-123",
        "secretId": "dockerhub-token",
        "role": "roles/secretmanager.secretAccessor",
        "member": AR_SERVICE_AGENT,
    }
    _, mirror = gar_repositories(harness)
    assert grant.urn in mirror.dependencies, "the mirror must wait for the grant"
    assert agent.urn in grant.dependencies, "the grant must wait for the service agent"


def test_gcp_secret_in_another_project_is_granted_there(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret version of another project (a shared secrets project): IAM on a secret lives
    in the secret's own project, so the accessor grant names that project, while the service
    agent is the registry project's (Secret Manager, "Access control with IAM": a secret's
    policy is set on projects/<its project>/secrets/<id>)."""
    run_target(
        harness,
        monkeypatch,
        "gcp",
        mirror="true",
        dockerHubUser="someone",
        gcpDockerHubPasswordSecretVersion="projects/shared-secrets-77/secrets/hub/versions/latest",
    )
    agent = harness.one("gcp:projects/serviceIdentity:ServiceIdentity")
    assert agent.inputs["project"] == "my-project-123"
    grant = harness.one("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert grant.inputs == {
        "project": "shared-secrets-77",
        "secretId": "hub",
        "role": "roles/secretmanager.secretAccessor",
        "member": AR_SERVICE_AGENT,
    }


def test_gcp_first_up_with_credentials_cannot_race_the_grant(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google validates upstream credentials when it creates a remote repository, while the
    secretAccessor grant created just before may not have propagated yet (hashicorp/terraform-
    provider-google issue 17589, "Failed to validate remote upstream"); the provider sends the
    create once. So validation is off whenever there are credentials, the repository still comes
    after the grant, and the build (the first pull that reads the secret) after the repository."""
    run_target(
        harness,
        monkeypatch,
        "gcp",
        mirror="true",
        dockerHubUser="someone",
        gcpDockerHubPasswordSecretVersion=SECRET_VERSION,
    )
    _, mirror = gar_repositories(harness)
    config = mirror.inputs["remoteRepositoryConfig"]
    # The wire name pulumi-gcp sends for disable_upstream_validation.
    assert config["disableUpstreamValidation"] is True, config
    grant = harness.one("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert grant.urn in mirror.dependencies, "the remote repository must wait for the grant"
    image = harness.one(IMAGE)
    assert mirror.urn in image.dependencies, "the build must wait for the remote repository"


def test_gcp_no_secret_grant_without_credentials(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "gcp", mirror="true")
    assert harness.of_type("gcp:secretmanager/secretIamMember:SecretIamMember") == []
    assert harness.of_type("gcp:projects/serviceIdentity:ServiceIdentity") == []


def test_gcp_mirror_repository_id_fits_the_limit() -> None:
    from container_registry.gcp.policies import mirror_repository_id

    assert mirror_repository_id("app") == "app-mirror"
    long_id = mirror_repository_id("a" * 55 + "-bcdefgh")
    assert len(long_id) <= 63 and long_id.endswith("-mirror") and "--" not in long_id


# --------------------------------------------------------------------------- local


def local_containers(harness: Harness) -> tuple[Registered, Registered]:
    return main_and_mirror(harness, CONTAINER, "registry-container")


def test_local_mirror_is_a_proxy_registry_on_loopback(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "local", mirror="true")
    registry, mirror = local_containers(harness)
    assert mirror.inputs["ports"] == [{"internal": 5000, "external": 5001, "ip": "127.0.0.1"}]
    assert mirror.inputs["envs"] == ["REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io"]
    assert mirror.inputs["name"] == "container-registry-dev-registry-mirror"
    # The same image, health wait and restart policy as the registry.
    for key in ("image", "healthcheck", "wait", "waitTimeout", "restart"):
        assert mirror.inputs[key] == registry.inputs[key], key
    volumes = {r.name: r for r in harness.of_type(VOLUME)}
    assert volumes["registry-mirror-data"].inputs["name"] == (
        "container-registry-dev-registry-mirror-data"
    )
    assert mirror.inputs["volumes"] == [
        {
            "volumeName": "container-registry-dev-registry-mirror-data",
            "containerPath": "/var/lib/registry",
        }
    ]
    assert not volumes["registry-mirror-data"].protect, "a cache refills itself: no protection"


@pytest.mark.parametrize(
    ("config", "port"),
    [({"localMirrorPort": "6100"}, 6100), ({"localPort": "6000"}, 6001)],
    ids=["configured", "local-port-plus-one"],
)
def test_local_mirror_port(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, config: dict[str, str], port: int
) -> None:
    outputs = run_target(harness, monkeypatch, "local", mirror="true", **config)
    _, mirror = local_containers(harness)
    assert mirror.inputs["ports"][0]["external"] == port
    assert resolve(outputs["mirrorEndpoint"]) == f"localhost:{port}/library"


@pytest.mark.usefixtures("secret_token")
def test_local_upstream_credentials_stay_secret(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = run_target(harness, monkeypatch, "local", mirror="true")
    _, mirror = local_containers(harness)
    assert mirror.inputs["envs"] == [
        "REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io",
        "REGISTRY_PROXY_USERNAME=someone",
        f"REGISTRY_PROXY_PASSWORD={DOCKER_HUB_TOKEN}",
    ]
    assert "envs" in mirror.secret_paths, "the Docker Hub token reached the provider in clear"
    for name, output in outputs.items():
        if not is_secret(output):
            assert DOCKER_HUB_TOKEN not in json.dumps(resolve(output)), f"{name} leaks the token"
    for resource in harness.resources:
        if DOCKER_HUB_TOKEN in json.dumps(resource.inputs):
            assert resource.secret_paths, f"{resource.name} holds the token in clear"


def test_local_mirror_without_credentials_sends_none(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "local", mirror="true")
    _, mirror = local_containers(harness)
    assert not any("REGISTRY_PROXY_USERNAME" in e for e in mirror.inputs["envs"])
    assert "envs" not in mirror.secret_paths


# --------------------------------------------------------------------------- destroy


@pytest.mark.parametrize("cloud", CLOUDS)
def test_force_delete_leaves_nothing_of_the_mirror_protected(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    run_target(harness, monkeypatch, cloud, mirror="true", forceDelete="true")
    assert [r.name for r in harness.resources if r.protect] == []


# --------------------------------------------------------------------------- the base image


def test_base_image_is_read_from_the_dockerfile() -> None:
    found = base_image()
    assert found == BaseImage(repository="nginx", tag="1.28.1-alpine")
    # The same image Docker resolves from the ARG defaults (dockerfile-parse, as checkov uses).
    parsed = DockerfileParser(path=str(DOCKERFILE), env_replace=True)
    assert parsed.parent_images[0] == found.reference
    assert found.in_mirror("localhost:5001/library") == "localhost:5001/library/nginx"


@pytest.mark.parametrize(
    "text",
    [
        "FROM nginx:1.28.1-alpine\n",
        "ARG BASE_IMAGE=nginx\nFROM ${BASE_IMAGE}\n",
        "ARG BASE_IMAGE=bitnami/nginx\nARG BASE_TAG=1\nFROM ${BASE_IMAGE}:${BASE_TAG}\n",
        "ARG BASE_IMAGE=nginx\nARG BASE_TAG=latest\nFROM ${BASE_IMAGE}:${BASE_TAG}\n",
        "FROM scratch\nARG BASE_IMAGE=nginx\nARG BASE_TAG=1\n",
    ],
    ids=["no-args", "no-tag", "not-official", "latest", "args-after-from"],
)
def test_base_image_refuses_what_the_mirror_cannot_serve(tmp_path: Path, text: str) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text)
    with pytest.raises(BaseImageError):
        base_image(dockerfile)


def test_base_image_accepts_the_long_official_spelling(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"ARG {IMAGE_ARG}=docker.io/library/nginx\nARG {TAG_ARG}=1.2.3\nFROM x\n")
    assert base_image(dockerfile) == BaseImage(repository="nginx", tag="1.2.3")


def test_build_arguments_change_the_content_tag() -> None:
    plain = content_tag(APP_DIR, "linux/amd64")
    assert content_tag(APP_DIR, "linux/amd64", {}) == plain
    one = content_tag(APP_DIR, "linux/amd64", {IMAGE_ARG: "localhost:5001/library/nginx"})
    other = content_tag(APP_DIR, "linux/amd64", {IMAGE_ARG: "localhost:5002/library/nginx"})
    assert len({plain, one, other}) == 3
    assert SECRET_VALUES  # the mocks' credentials are never build arguments


# --------------------------------------------------------------------------- settings

SECRET_SET_RAW = {"dockerHubUser": "someone", "dockerHubToken": SECRET_SET}

BAD_MIRROR_VALUES: list[tuple[dict[str, str], str]] = [
    ({"mirror": "yes"}, "mirror"),
    ({"mirror": "1"}, "mirror"),
    ({"mirrorRepositories": "nginx"}, "mirrorRepositories"),
    ({"mirrorRepositories": '"nginx"'}, "mirrorRepositories"),
    ({"mirrorRepositories": '["library/nginx"]'}, "mirrorRepositories"),
    ({"mirrorRepositories": '["Nginx"]'}, "mirrorRepositories"),
    ({"mirrorRepositories": '["nginx", "*"]'}, "mirrorRepositories"),
    ({"mirrorRepositories": '["docker.io/library/*"]'}, "mirrorRepositories"),
    ({"mirrorRepositories": "[1]"}, "mirrorRepositories"),
    # The app is built from the mirror: a list without its base image would break that build.
    ({"mirrorRepositories": '["python"]'}, "mirrorRepositories"),
    ({"mirrorRepositories": json.dumps([f"r{i}" for i in range(51)])}, "mirrorRepositories"),
    ({"mirrorRepositories": "[" * 10_000}, "mirrorRepositories"),
    ({"dockerHubCredentialsSecretArn": "ecr-pullthroughcache/x"}, "dockerHubCredentialsSecretArn"),
    (
        {"dockerHubCredentialsSecretArn": SECRET_ARN.replace("ecr-pullthroughcache/", "dh/")},
        "dockerHubCredentialsSecretArn",
    ),
    (
        {"dockerHubCredentialsSecretArn": SECRET_ARN.replace(":secretsmanager:", ":kms:")},
        "dockerHubCredentialsSecretArn",
    ),
    (
        {"acrDockerHubUsernameSecretUri": "http://my-vault.vault.azure.net/secrets/u"},
        "acrDockerHubUsernameSecretUri",
    ),
    (
        {"acrDockerHubUsernameSecretUri": USERNAME_URI, "acrDockerHubPasswordSecretUri": "x"},
        "acrDockerHubPasswordSecretUri",
    ),
    (
        {"acrDockerHubUsernameSecretUri": "https://evil.example.com/secrets/u"},
        "acrDockerHubUsernameSecretUri",
    ),
    ({"acrDockerHubUsernameSecretUri": USERNAME_URI}, "acrDockerHubPasswordSecretUri"),
    ({"acrDockerHubPasswordSecretUri": PASSWORD_URI}, "acrDockerHubUsernameSecretUri"),
    # The vault of the credential set's secrets: required with them, refused without them, and
    # the vault they are in.
    (
        {
            "acrDockerHubUsernameSecretUri": USERNAME_URI,
            "acrDockerHubPasswordSecretUri": PASSWORD_URI,
        },
        "acrDockerHubKeyVaultId",
    ),
    ({"acrDockerHubKeyVaultId": VAULT_ID}, "acrDockerHubKeyVaultId"),
    ({**ACR_CREDENTIALS, "acrDockerHubKeyVaultId": "my-vault"}, "acrDockerHubKeyVaultId"),
    (
        {**ACR_CREDENTIALS, "acrDockerHubKeyVaultId": VAULT_ID.replace("my-vault", "other-vault")},
        "acrDockerHubKeyVaultId",
    ),
    (
        {
            **ACR_CREDENTIALS,
            "acrDockerHubKeyVaultId": VAULT_ID.replace(
                "Microsoft.KeyVault/vaults", "Microsoft.KeyVault/managedHSMs"
            ),
        },
        "acrDockerHubKeyVaultId",
    ),
    (
        {**ACR_CREDENTIALS, "acrDockerHubKeyVaultId": VAULT_ID.rsplit("/providers/", 1)[0]},
        "acrDockerHubKeyVaultId",
    ),
    (
        {**ACR_CREDENTIALS, "acrDockerHubKeyVaultId": VAULT_ID + "/secrets/dockerhub-user"},
        "acrDockerHubKeyVaultId",
    ),
    (
        {**ACR_CREDENTIALS, "acrDockerHubKeyVaultId": "https://my-vault.vault.azure.net"},
        "acrDockerHubKeyVaultId",
    ),
    (
        {
            **ACR_CREDENTIALS,
            "acrDockerHubPasswordSecretUri": PASSWORD_URI.replace("my-vault", "other-vault"),
        },
        "acrDockerHubPasswordSecretUri",
    ),
    (
        {"gcpDockerHubPasswordSecretVersion": "projects/p/secrets/s"},
        "gcpDockerHubPasswordSecretVersion",
    ),
    (
        {"gcpDockerHubPasswordSecretVersion": SECRET_VERSION + "/x"},
        "gcpDockerHubPasswordSecretVersion",
    ),
    ({"gcpDockerHubPasswordSecretVersion": SECRET_VERSION}, "dockerHubUser"),
    ({"dockerHubUser": "someone"}, "dockerHubToken"),
    ({"dockerHubUser": "Some One"}, "dockerHubUser"),
    ({"dockerHubUser": "abc"}, "dockerHubUser"),
    ({"dockerHubUser": "someone", "dockerHubToken": DOCKER_HUB_TOKEN}, "dockerHubToken"),
    ({"dockerHubToken": SECRET_SET}, "dockerHubUser"),
    ({"localMirrorPort": "65536"}, "localMirrorPort"),
    ({"localMirrorPort": "-1"}, "localMirrorPort"),
    ({"localMirrorPort": "http"}, "localMirrorPort"),
    ({"mirror": "true", "localMirrorPort": "5000"}, "localMirrorPort"),
    ({"mirror": "true", "localPort": "6000", "localMirrorPort": "6000"}, "localMirrorPort"),
    ({"mirror": "true", "localPort": "65535"}, "localMirrorPort"),
]


@pytest.mark.parametrize(
    ("raw", "key"), BAD_MIRROR_VALUES, ids=[f"{k}:{r}"[:60] for r, k in BAD_MIRROR_VALUES]
)
def test_bad_mirror_value_refused_naming_the_key(raw: dict[str, str], key: str) -> None:
    secrets = {"dockerHubToken": pulumi.Output.secret(DOCKER_HUB_TOKEN)}
    with pytest.raises(SettingsError) as caught:
        parse_settings(on_its_cloud(raw), secrets=secrets)
    assert caught.value.key == key
    # `<key>: <value> ...`, or `<key> is not set: ...` for a missing one (never a Python None).
    assert str(caught.value).startswith((f"{key}: ", f"{key} is ")), str(caught.value)
    assert "None" not in str(caught.value)
    assert DOCKER_HUB_TOKEN not in str(caught.value), "the token is echoed in an error"


def test_mirror_settings_converted() -> None:
    """Each target's mirror keys, on that target (a Registry ignores another target's)."""
    token = pulumi.Output.secret(DOCKER_HUB_TOKEN)
    azure = parse_settings(
        {
            "cloud": "azure",
            "azure-native:location": "westeurope",
            "mirror": "True",
            "mirrorRepositories": '["python", "nginx"]',
            "acrDockerHubUsernameSecretUri": USERNAME_URI,
            "acrDockerHubPasswordSecretUri": PASSWORD_URI + "/" + "0" * 32,
            # ARM compares resource IDs without regard to case, and vault names are DNS labels.
            "acrDockerHubKeyVaultId": VAULT_ID.replace("/resourceGroups/", "/resourcegroups/")
            .replace("Microsoft.KeyVault", "microsoft.keyvault")
            .replace("my-vault", "My-Vault"),
        }
    )
    azure = options_of(azure, AcrOptions).mirror
    assert azure.enabled and azure.repositories == ("python", "nginx")
    assert azure.docker_hub_password_secret_uri is not None
    vault_id = azure.docker_hub_key_vault_id
    assert vault_id is not None and vault_id.endswith("My-Vault")
    aws = parse_settings(
        {"cloud": "aws", "mirror": "true", "dockerHubCredentialsSecretArn": SECRET_ARN}
    )
    aws = options_of(aws, EcrOptions).mirror
    assert aws.enabled and aws.docker_hub_secret_arn == SECRET_ARN
    gcp = parse_settings(
        on_its_cloud(
            {
                "gcpDockerHubPasswordSecretVersion": SECRET_VERSION.replace("/3", "/latest"),
                "mirror": "true",
                "dockerHubUser": "someone",
            }
        )
    )
    gcp = options_of(gcp, ArtifactOptions).mirror
    assert gcp.docker_hub_password_secret_version is not None
    assert gcp.docker_hub_user == "someone"
    settings = parse_settings(
        {"mirror": "true", **SECRET_SET_RAW, "localMirrorPort": "6100"},
        secrets={"dockerHubToken": token},
    )
    mirror = options_of(settings, LocalOptions).mirror
    assert mirror.docker_hub_user == "someone" and mirror.port == 6100
    assert mirror.docker_hub_token is not None
    assert is_secret(mirror.docker_hub_token) and resolve(mirror.docker_hub_token) == (
        DOCKER_HUB_TOKEN
    )
    assert DOCKER_HUB_TOKEN not in repr(settings), "the token shows in the settings' repr"


def test_mirror_defaults() -> None:
    settings = parse_settings({"cloud": "azure", "azure-native:location": "westeurope"})
    mirror = options_of(settings, AcrOptions).mirror
    # The stack's default: the app's base image only (the component's own is "*").
    assert mirror == AcrMirrorOptions(repositories=("nginx",))
    assert (mirror.enabled, mirror.repositories) == (False, ("nginx",))
    local = options_of(parse_settings({}), LocalOptions).mirror
    assert (local.enabled, local.port, local.docker_hub_token) == (False, 5001, None)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"cloud": "local", "mirror": "on"}, "mirror"),
        ({"cloud": "aws", "mirror": "true", "dockerHubCredentialsSecretArn": "x"}, None),
        ({"cloud": "azure", "mirror": "true", "mirrorRepositories": '["*", "a"]'}, None),
        ({"cloud": "gcp", "mirror": "true", "gcpDockerHubPasswordSecretVersion": "v"}, None),
        ({"cloud": "local", "mirror": "true", "localMirrorPort": "5000"}, None),
        # Set without --secret: refused, and the value is not shown.
        ({"cloud": "local", "dockerHubUser": "someone", "dockerHubToken": "hunter22"}, None),
    ],
    ids=["mirror", "secret-arn", "repositories", "secret-version", "port", "plain-token"],
)
def test_program_refuses_bad_mirror_config_before_creating_anything(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, config: dict[str, str], key: str | None
) -> None:
    expected = key or next(k for k in reversed(config) if k != "mirror")
    stub_engine(monkeypatch)
    for provider_key, value in TARGET_CONFIG[config["cloud"]].items():
        config.setdefault(provider_key, value)
    harness.configure(**config)
    with pytest.raises(SettingsError) as caught:
        harness.run_program()
    assert caught.value.key == expected, str(caught.value)
    assert "hunter22" not in str(caught.value)
    assert harness.resources == [], "a resource was registered before the settings error"


def test_read_config_never_holds_the_token(harness: Harness) -> None:
    harness.configure(dockerHubUser="someone", dockerHubToken=DOCKER_HUB_TOKEN)
    assert read_config()["dockerHubToken"] == PLAINTEXT_SET
    pulumi.runtime.set_all_config(dict(harness.config), [f"{PROJECT}:dockerHubToken"])
    try:
        raw = read_config()
        assert raw["dockerHubToken"] == SECRET_SET
        assert DOCKER_HUB_TOKEN not in json.dumps(raw)
        secrets = read_secrets()
        assert is_secret(secrets["dockerHubToken"])
        token = options_of(load_settings(), LocalOptions).mirror.docker_hub_token
        assert token is not None
        assert is_secret(token)
    finally:
        pulumi.runtime.set_all_config({}, [])


def test_secret_keys_are_documented_as_secrets() -> None:
    import yaml

    from conftest import ROOT

    documented = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    for key in SECRET_KEYS:
        assert key in PROJECT_KEYS
        assert f"pulumi config set --secret {key}" in documented[key]["description"], key
        assert documented[key]["default"] == "", f"{key}: a secret never has a default value"


# --------------------------------------------------------------------------- docs/mirror.md

MIRROR_DOCS = Path(__file__).resolve().parent.parent / "docs" / "mirror.md"


def test_docs_set_only_keys_the_program_reads() -> None:
    text = MIRROR_DOCS.read_text(encoding="utf-8")
    keys = re.findall(r"pulumi config set (?:--secret |--path )*'?([A-Za-z][\w:-]*)", text)
    assert keys, "docs/mirror.md shows no `pulumi config set`"
    unknown = [k for k in keys if ":" not in k and k not in PROJECT_KEYS]
    assert unknown == [], f"docs/mirror.md sets keys Pulumi.yaml does not declare: {unknown}"
    for key in SECRET_KEYS:
        assert f"pulumi config set {key}" not in text, f"{key} shown without --secret"
    mirror_keys = PROJECT_KEYS[
        PROJECT_KEYS.index("mirror") : PROJECT_KEYS.index("localMirrorPort") + 1
    ]
    missing = [k for k in mirror_keys if f"`{k}`" not in text]
    assert missing == [], f"docs/mirror.md does not explain {missing}"


def test_docs_show_the_first_pull_policy_the_code_builds() -> None:
    text = MIRROR_DOCS.read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]
    expected = aws_target.pull_through_identity_policy(
        "aws",
        "<region>",
        "<account>",
        ("ecr-public-<stack suffix>", "docker-hub-<stack suffix>"),
    )
    assert blocks == [expected]


@pytest.mark.parametrize(
    ("raw", "key"), BAD_MIRROR_VALUES, ids=[f"{k}:{r}"[:60] for r, k in BAD_MIRROR_VALUES]
)
def test_every_bad_mirror_value_stops_the_program_before_anything_exists(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, raw: dict[str, str], key: str
) -> None:
    """The same bad values through `pulumi up`: the token, when the case has it set, arrives as
    a secret (as `pulumi config set --secret` leaves it) or in plain text."""
    stub_engine(monkeypatch)
    config = {k: (DOCKER_HUB_TOKEN if v == SECRET_SET else v) for k, v in raw.items()}
    harness.configure(**on_its_cloud({"mirror": "true", **config}, "__"))
    secret = [f"{PROJECT}:dockerHubToken"] if raw.get("dockerHubToken") == SECRET_SET else []
    pulumi.runtime.set_all_config(dict(harness.config), secret)
    try:
        with pytest.raises(SettingsError) as caught:
            harness.run_program()
    finally:
        pulumi.runtime.set_all_config(dict(harness.config), [])
    assert caught.value.key == key, str(caught.value)
    assert DOCKER_HUB_TOKEN not in str(caught.value)
    assert harness.resources == [], "a resource was registered before the settings error"


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp", "local"])
def test_a_build_from_the_mirror_uses_the_classic_builder(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    """pulumi-docker gives BuildKit the registry's credentials only through the Docker config
    file, which a credential store shadows (container_registry/image.py, builder_version): the base
    image in a private mirror is pulled by the classic builder, which gets them in the request."""
    run_target(harness, monkeypatch, cloud, mirror="true")
    assert harness.one(IMAGE).inputs["build"]["builderVersion"] == "BuilderV1"


@pytest.mark.parametrize("cloud", ["aws", "local"])
def test_without_the_mirror_the_build_uses_buildkit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    run_target(harness, monkeypatch, cloud)
    assert harness.one(IMAGE).inputs["build"]["builderVersion"] == "BuilderBuildKit"
