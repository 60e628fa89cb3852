"""The four service components used directly (issue 28, item 1): EcrRegistry, AcrRegistry,
ArtifactRegistry and LocalRegistry take flat Args of their own, hold their resources as typed
attributes a program can attach more to, give one shape of outputs (the login a secret), refuse
bad input under their own property paths before anything exists, and build what `Registry` builds
for the same options (the target tests, tests/test_<target>.py, run through `Registry`)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
import pulumi_gcp as gcp
import pytest
from pulumi_azure_native import containerregistry

from conftest import ACR_PASSWORDS, ECR_PASSWORD, GCP_TOKEN, Harness, is_secret, resolve
from container_registry import (
    AcrRegistry,
    AcrSku,
    ArtifactRegistry,
    EcrRegistry,
    LocalRegistry,
    Registry,
)

LOCATION = "westeurope"
GCP_PLACE = {"project": "my-project-123", "location": "europe-west4"}
# Per service: its own Args, and the same options as RegistryArgs for the `cloud` switch.
SAME_OPTIONS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "aws": (
        {
            "repository_name": "web",
            "pull_principals": ["arn:aws:iam::210987654321:root"],
            "mirror": {"enabled": True},
            "ci": {"repository": "acme@1001/app@2002"},
            "archive_unpulled_days": 30,
        },
        {
            "cloud": "aws",
            "repository_name": "web",
            "pull_principals": ["arn:aws:iam::210987654321:root"],
            "mirror": {"enabled": True},
            "ci": {"repository": "acme@1001/app@2002"},
            "aws": {"archive_unpulled_days": 30},
        },
    ),
    "azure": (
        {
            "location": LOCATION,
            "sku": AcrSku.PREMIUM,
            "mirror": {"enabled": True, "repositories": ["nginx"]},
            "pull_principals": ["Group:0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"],
        },
        {
            "cloud": "azure",
            "azure": {"location": LOCATION, "sku": "Premium"},
            "mirror": {"enabled": True, "repositories": ["nginx"]},
            "pull_principals": ["Group:0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"],
        },
    ),
    "gcp": (
        {**GCP_PLACE, "mirror": {"enabled": True}, "ci": {"repository": "acme@1001/app@2002"}},
        {
            "cloud": "gcp",
            "gcp": GCP_PLACE,
            "mirror": {"enabled": True},
            "ci": {"repository": "acme@1001/app@2002"},
        },
    ),
    "local": (
        {"port": 5050, "mirror": {"enabled": True, "port": 5060}},
        {
            "cloud": "local",
            "local": {"port": 5050, "mirror_port": 5060},
            "mirror": {"enabled": True},
        },
    ),
}
SERVICES: dict[str, Any] = {
    "aws": EcrRegistry,
    "azure": AcrRegistry,
    "gcp": ArtifactRegistry,
    "local": LocalRegistry,
}


def children_of(harness: Harness, component: pulumi.Resource, name: str) -> set[tuple[str, str]]:
    """(type, name less the component's name) of every resource under the component's URN."""
    urn = resolve(component.urn)
    parents = {urn}
    found: set[tuple[str, str]] = set()
    for resource in harness.resources:  # registration order: a parent comes before its children
        if resource.parent in parents:
            parents.add(resource.urn)
            found.add((resource.typ, resource.name.removeprefix(name)))
    return found


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp", "local"])
def test_a_service_builds_what_the_registry_switch_builds(harness: Harness, cloud: str) -> None:
    own, switched = SAME_OPTIONS[cloud]
    direct = SERVICES[cloud]("direct", own)
    registry = Registry("switch", switched)  # type: ignore[arg-type]
    resolve(direct.repository_url)
    resolve(registry.repository_url)
    direct_children = children_of(harness, direct, "direct")
    switch_children = children_of(harness, registry.service, "switch")
    assert len(direct_children) >= 4, direct_children
    assert direct_children == switch_children
    assert isinstance(registry.service, SERVICES[cloud])
    # The same outputs, less the names each was given.
    assert resolve(direct.registry_server) == resolve(registry.registry_server)
    assert resolve(direct.mirror_endpoint) == resolve(registry.mirror_endpoint)


def assert_login_is_a_secret(component: Any, password: str) -> None:
    assert is_secret(component.login)
    login = resolve(component.login)
    assert set(login) == {"server", "username", "password"}
    assert login["password"] == password
    assert login["server"] == resolve(component.registry_server)
    assert resolve(component.repository_url).startswith(login["server"] + "/")


def test_ecr_registry_holds_its_repository_and_policies(harness: Harness) -> None:
    registry = EcrRegistry("team", {})
    assert isinstance(registry.repository, aws.ecr.Repository)
    assert isinstance(registry.lifecycle_policy, aws.ecr.LifecyclePolicy)
    assert isinstance(registry.repository_policy, aws.ecr.RepositoryPolicy)
    # A program attaches more to the repository, as to awsx's ecr.Repository.
    aws.ecr.RegistryScanningConfiguration(
        "scan", scan_type="ENHANCED", opts=pulumi.ResourceOptions(depends_on=[registry.repository])
    )
    assert_login_is_a_secret(registry, ECR_PASSWORD)
    repo = harness.one("aws:ecr/repository:Repository")
    assert repo.parent == harness.one("container-registry:index:EcrRegistry").urn
    assert resolve(registry.repository_name) == "app"
    assert resolve(registry.repository_arn) == resolve(registry.repository.arn)
    assert resolve(registry.ci) is None


def test_acr_registry_holds_its_registry_group_and_task(harness: Harness) -> None:
    registry = AcrRegistry("team", {"location": LOCATION, "sku": AcrSku.STANDARD})
    assert isinstance(registry.registry, containerregistry.Registry)
    assert registry.resource_group is not None
    assert isinstance(registry.purge_task, containerregistry.Task)
    assert_login_is_a_secret(registry, ACR_PASSWORDS[0])
    assert harness.one("azure-native:containerregistry:Registry").inputs["sku"] == {
        "name": "Standard"
    }
    assert resolve(registry.registry_id) == resolve(registry.registry.id)


def test_acr_registry_in_a_named_group_makes_none(harness: Harness) -> None:
    registry = AcrRegistry("team", {"resource_group": "shared-rg"})
    assert registry.resource_group is None
    resolve(registry.repository_url)
    assert harness.of_type("azure-native:resources:ResourceGroup") == []


def test_artifact_registry_holds_its_repository(harness: Harness) -> None:
    registry = ArtifactRegistry("team", GCP_PLACE)  # type: ignore[arg-type]
    assert isinstance(registry.repository, gcp.artifactregistry.Repository)
    assert isinstance(registry.api, gcp.projects.Service)
    assert_login_is_a_secret(registry, GCP_TOKEN)
    assert resolve(registry.repository_id) == resolve(registry.repository.id)


def test_local_registry_holds_its_container_volume_and_password(harness: Harness) -> None:
    registry = LocalRegistry("team", {"port": 5070})
    assert isinstance(registry.container, docker.Container)
    assert isinstance(registry.volume, docker.Volume)
    assert resolve(registry.registry_server) == "localhost:5070"
    assert is_secret(registry.login)
    assert resolve(registry.login)["password"] == resolve(registry.password.result)
    assert resolve(registry.volume_name) == resolve(registry.volume.name)
    assert not hasattr(registry, "ci"), "a local registry has no CI push"


@pytest.mark.parametrize(
    ("cloud", "args", "path"),
    [
        ("aws", {"kms_key_arn": "alias/mine"}, "kms_key_arn"),
        ("aws", {"mirror": {"docker_hub_secret_arn": "x"}}, "mirror.docker_hub_secret_arn"),
        ("aws", {"aws": {}}, "aws"),
        ("azure", {"location": LOCATION, "sku": "Free"}, "sku"),
        ("azure", {}, "location"),
        ("azure", {"location": LOCATION, "immutable_tags": True}, "immutable_tags"),
        ("gcp", {"location": "us"}, "project"),
        ("gcp", {**GCP_PLACE, "pull_principals": ["allUsers"]}, "pull_principals[0]"),
        ("local", {"port": 0}, "port"),
        ("local", {"mirror": {"enabled": True, "port": 5000}}, "mirror.port"),
        ("local", {"ci": {"repository": "acme/app"}}, "ci"),
        ("local", {"pull_principals": []}, "pull_principals"),
    ],
)
def test_bad_input_names_the_services_own_path_and_creates_nothing(
    harness: Harness, cloud: str, args: dict[str, Any], path: str
) -> None:
    with pytest.raises(pulumi.InputPropertyError) as caught:
        SERVICES[cloud]("team", args)
    assert caught.value.property_path == path
    assert harness.resources == []
