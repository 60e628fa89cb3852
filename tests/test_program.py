"""The whole program through __main__.py, for every target: one output shape, secrets kept."""

from __future__ import annotations

import json
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import (
    ROOT,
    SECRET_VALUES,
    TARGET_CONFIG,
    Harness,
    assert_only_credentials_secret,
    cloud_sdks_loaded,
    fresh_program_command,
    resolve,
    run_target,
    stub_engine,
)
from container_registry.image import content_tag

OUTPUT_NAMES = {"cloud", "registryServer", "repoEndpoint", "imageName", "repoDigest", "credentials"}
CLOUD_SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp")
REGISTRY_TYPE = "container-registry:index:Registry"
IMAGE_TYPE = "container-registry:index:RegistryImage"


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

    # Names derive the children's names (`registry-repo`, `registry-image`): renaming a component
    # would replace every resource of existing stacks (tests/test_urns.py holds the URNs).
    component = harness.one(REGISTRY_TYPE)
    assert component.name == "registry"
    # mirrorEndpoint, ci and ciWorkflow are none without the mirror and CI, so not sent.
    assert harness.monitor.registered_outputs.get(component.urn) == {
        "registryServer",
        "repositoryUrl",
        "login",
    }
    pushed = harness.one(IMAGE_TYPE)
    assert pushed.name == "registry"
    assert harness.monitor.registered_outputs.get(pushed.urn) == {"tag", "imageName", "repoDigest"}
    image = harness.one("docker:index/image:Image")
    assert image.parent == pushed.urn, "the image must be a child of the RegistryImage"
    assert image.inputs["registry"]["password"] == credentials["password"]
    assert "registry" in image.secret_paths


APP_DIR = ROOT / "app"


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


# --------------------------------------------------------------------------- one SDK per stack

# The PyPI names of the cloud SDKs (https://pypi.org/project/pulumi-aws/, .../pulumi-azure-native/,
# .../pulumi-gcp/) and the modules they install.
CLOUD_DISTRIBUTIONS = {
    "pulumi-aws": "pulumi_aws",
    "pulumi-azure-native": "pulumi_azure_native",
    "pulumi-gcp": "pulumi_gcp",
}
CLOUD_REQUIREMENTS = {"aws": "pulumi-aws", "azure": "pulumi-azure-native", "gcp": "pulumi-gcp"}


def run_without(cloud: str, blocked: list[str]) -> dict[str, Any]:
    """The program for `cloud` in a fresh interpreter where the `blocked` modules cannot be
    imported; its report, with the loaded modules' top-level names."""
    done = subprocess.run(
        fresh_program_command(cloud, blocked),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {**report, "modules": sorted({m.split(".")[0] for m in report["modules"]})}


def requirement_closure(path: Path) -> set[str]:
    """The distributions pip would install for a requirements file: its lines (following `-r`),
    then each requirement's own requirements, as the installed distributions' metadata declares
    them (extras not asked for and markers that do not hold on this interpreter left out)."""
    wanted: list[Requirement] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            wanted.extend(Requirement(name) for name in requirement_closure(path.parent / line[3:]))
        elif line:
            wanted.append(Requirement(line))
    found: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found.add(name)
        for text in metadata.requires(name) or []:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or marker.evaluate({"extra": ""}):
                wanted.append(dependency)
    return found


def test_the_local_stacks_requirements_hold_no_cloud_sdk() -> None:
    closure = requirement_closure(ROOT / "requirements.txt")
    assert {"pulumi", "pulumi-docker", "pulumi-random", "docker", "pyyaml"} <= closure, closure
    clouds = closure & set(CLOUD_DISTRIBUTIONS)
    assert not clouds, f"requirements.txt (the local stack's install) pulls in {clouds}"
    # The closure is real: the program runs for a local stack with every cloud SDK unimportable.
    run = run_without("local", sorted(CLOUD_DISTRIBUTIONS.values()))
    assert run["error"] is None, run["error"]
    assert "docker:index/container:Container" in run["types"]
    assert not set(run["modules"]) & set(CLOUD_DISTRIBUTIONS.values())


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_a_cloud_stack_adds_only_its_own_sdk(cloud: str) -> None:
    closure = requirement_closure(ROOT / f"requirements-{cloud}.txt")
    base = requirement_closure(ROOT / "requirements.txt")
    assert closure & set(CLOUD_DISTRIBUTIONS) == {CLOUD_REQUIREMENTS[cloud]}, closure
    assert base < closure, f"requirements-{cloud}.txt must start from requirements.txt"


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_a_cloud_stack_without_its_sdk_says_the_command_before_creating_anything(
    cloud: str,
) -> None:
    module = CLOUD_DISTRIBUTIONS[CLOUD_REQUIREMENTS[cloud]]
    run = run_without(cloud, [module])
    assert run["types"] == [], "resources were registered before the missing SDK was reported"
    assert run["error"] == (
        f"SettingsError: cloud: '{cloud}' needs the {module} package, which venv/ lacks: install "
        f"it with `venv/bin/python -m pip install -r requirements-{cloud}.txt` "
        f"(./up.sh does this for every stack whose cloud is {cloud})"
    )
    assert (ROOT / f"requirements-{cloud}.txt").is_file(), "the command names a missing file"
