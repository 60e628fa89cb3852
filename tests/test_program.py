"""The whole program through __main__.py, for every target: one output shape, secrets kept."""

from __future__ import annotations

import re

import pytest

from conftest import (
    SECRET_VALUES,
    TARGET_CONFIG,
    Harness,
    assert_only_credentials_secret,
    cloud_sdks_loaded,
    resolve,
    run_target,
    stub_engine,
)
from registries.image import APP_DIR, content_tag

OUTPUT_NAMES = {"cloud", "registryServer", "repoEndpoint", "imageName", "repoDigest", "credentials"}
CLOUD_SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp")
COMPONENT_TYPES = {
    "aws": "container-registry:aws:EcrRegistry",
    "azure": "container-registry:azure:AcrRegistry",
    "gcp": "container-registry:gcp:ArtifactRegistry",
    "local": "container-registry:local:LocalRegistry",
}


@pytest.mark.parametrize("cloud", sorted(TARGET_CONFIG))
def test_every_target_exports_the_same_shape(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    outputs = run_target(harness, monkeypatch, cloud)
    assert set(outputs) == OUTPUT_NAMES
    values = {name: resolve(output) for name, output in outputs.items()}
    tag = content_tag(APP_DIR, "linux/amd64")

    assert values["cloud"] == cloud
    server, endpoint = values["registryServer"], values["repoEndpoint"]
    assert re.fullmatch(r"[a-z0-9.-]+(:[0-9]+)?", server), server
    assert endpoint.startswith(f"{server}/") and ":" not in endpoint[len(server) :], endpoint
    assert values["imageName"] == f"{endpoint}:{tag}"
    assert re.fullmatch(re.escape(endpoint) + r"@sha256:[0-9a-f]{64}", values["repoDigest"])

    credentials = values["credentials"]
    assert set(credentials) == {"server", "username", "password"}
    assert credentials["server"] == server
    assert credentials["password"] in SECRET_VALUES
    assert_only_credentials_secret(outputs)

    component = harness.one(COMPONENT_TYPES[cloud])
    # Renaming the component would replace every resource of existing stacks.
    assert component.name == "registry"
    assert harness.monitor.registered_outputs.get(component.urn) == OUTPUT_NAMES - {"cloud"}
    image = harness.one("docker:index/image:Image")
    assert image.parent == component.urn, "the image must be a child of the target component"
    assert image.inputs["registry"]["password"] == credentials["password"]
    assert "registry" in image.secret_paths


def test_default_cloud_is_local(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    stub_engine(monkeypatch)
    outputs = harness.run_program()
    assert resolve(outputs["cloud"]) == "local"
    assert resolve(outputs["registryServer"]) == "localhost:5000"


@pytest.mark.parametrize("cloud", sorted(TARGET_CONFIG))
def test_a_stack_loads_only_its_own_cloud_sdk(cloud: str) -> None:
    """Run the program in a fresh interpreter under mocks and list the cloud SDKs it imported."""
    expected = {"aws": ["pulumi_aws"], "azure": ["pulumi_azure_native"], "gcp": ["pulumi_gcp"]}
    assert cloud_sdks_loaded(cloud) == expected.get(cloud, [])
