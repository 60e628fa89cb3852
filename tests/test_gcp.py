"""Tests for the Google Artifact Registry target (`cloud: gcp`), against the mocks in conftest."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from conftest import (
    GCP_TOKEN,
    ROOT,
    Deployed,
    Harness,
    Registered,
    args_of,
    assert_only_credentials_secret,
    cloud_sdks_loaded,
    deploy,
    is_secret,
    resolve,
    service_component,
)
from container_registry.errors import ArgumentError
from container_registry.gcp.options import ArtifactOptions as Settings
from container_registry.gcp.policies import cleanup_policies
from container_registry.gcp.registry import label_value
from container_registry.image import content_tag
from container_registry.options import CiOptions
from stack.config.errors import SettingsError
from stack.config.parse import parse_settings

# The service component Registry builds as its one child; the resources are its children.
COMPONENT = "container-registry:index:ArtifactRegistry"
APP_TAG = content_tag(ROOT / "app", "linux/amd64")
REPOSITORY = "gcp:artifactregistry/repository:Repository"
SERVICE = "gcp:projects/service:Service"
IMAGE = "docker:index/image:Image"
CLIENT_CONFIG = "gcp:organizations/getClientConfig:getClientConfig"

PROJECT_ID = "my-project-123"
REGION = "europe-west4"
HOST = f"{REGION}-docker.pkg.dev"
# <host>/<project>/<repository>/<image>: Artifact Registry refuses a push without the image name.
ENDPOINT = f"{HOST}/{PROJECT_ID}/app/app"
DAY = 86_400


def gcp_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"project": PROJECT_ID, "location": REGION, **overrides}
    return Settings(**values)


def build(settings: Settings, name: str = "registry") -> Deployed:
    """The Registry and the app pushed to it, once every child is registered: the push waits
    for all of them."""
    registry = deploy(args_of(settings), name=name)
    resolve(registry.repo_digest)
    return registry


def policies_by_id(repo: Registered) -> dict[str, dict[str, Any]]:
    policies: list[dict[str, Any]] = repo.inputs["cleanupPolicies"]
    by_id = {policy["id"]: policy for policy in policies}
    assert len(by_id) == len(policies), f"Repository cleanupPolicies: duplicate ids in {policies}"
    return by_id


# --------------------------------------------------------------------------- the component


def test_repository_inputs(harness: Harness) -> None:
    build(gcp_settings())
    repo = harness.one(REPOSITORY)
    inputs = repo.inputs
    assert inputs["format"] == "DOCKER", "Repository format"
    assert inputs["repositoryId"] == "app", "Repository repositoryId"
    assert inputs["project"] == PROJECT_ID, "Repository project must be set explicitly"
    assert inputs["location"] == REGION, "Repository location must be set explicitly"
    assert inputs["description"], "Repository description"
    assert inputs["labels"] == {"project": "container-registry", "stack": "dev"}, "labels"
    assert inputs["dockerConfig"] == {"immutableTags": True}, "Repository dockerConfig"
    assert inputs["cleanupPolicyDryRun"] is False, "Repository cleanupPolicyDryRun must be off"
    assert inputs["vulnerabilityScanningConfig"] == {"enablementConfig": "INHERITED"}, (
        "Repository vulnerabilityScanningConfig must leave scanning to the project"
    )
    assert "kmsKeyName" not in inputs and "mode" not in inputs, f"unexpected inputs {inputs}"
    assert repo.name == "registry-repo", "Repository name derives from the component's name"


def test_service_enables_the_api_and_never_disables_it(harness: Harness) -> None:
    build(gcp_settings())
    service = harness.one(SERVICE)
    assert service.inputs["service"] == "artifactregistry.googleapis.com", "Service service"
    assert service.inputs["project"] == PROJECT_ID, "Service project"
    assert service.inputs["disableOnDestroy"] is False, "Service disableOnDestroy must be false"
    assert "disableDependentServices" not in service.inputs, (
        "Service disableDependentServices must be left off"
    )
    assert service.name == "registry-api"


def test_repository_depends_on_the_service(harness: Harness) -> None:
    build(gcp_settings())
    service, repo = harness.one(SERVICE), harness.one(REPOSITORY)
    assert service.urn in repo.dependencies, (
        f"Repository must depend on the Service; dependencies {repo.dependencies}"
    )


def test_every_child_is_parented_to_the_component(harness: Harness) -> None:
    build(gcp_settings())
    component = service_component(harness, "gcp")
    children = [r for r in harness.resources if r.parent == component.urn]
    assert {r.typ for r in children} == {SERVICE, REPOSITORY}, [r.typ for r in children]
    pushed = harness.one("container-registry:index:RegistryImage")
    assert harness.one(IMAGE).parent == pushed.urn
    for child in [*children, harness.one(IMAGE)]:
        assert child.name.startswith("registry-"), f"{child.typ}: name {child.name}"


def test_child_names_follow_the_component_name(harness: Harness) -> None:
    build(gcp_settings(), "mirror")
    names = {r.typ: r.name for r in harness.resources}
    assert names[SERVICE] == "mirror-api"
    assert names[REPOSITORY] == "mirror-repo"
    assert names[IMAGE] == "mirror-image"


def test_component_outputs(harness: Harness) -> None:
    registry = build(gcp_settings())
    tag = APP_TAG
    assert resolve(registry.registry.registry_server) == HOST
    assert resolve(registry.repo_endpoint) == ENDPOINT
    assert resolve(registry.image_name) == f"{ENDPOINT}:{tag}"
    assert re.fullmatch(
        rf"{re.escape(ENDPOINT)}@sha256:[0-9a-f]{{64}}", resolve(registry.repo_digest)
    )
    assert is_secret(registry.credentials), "credentials must be a secret"
    assert resolve(registry.credentials) == {
        "server": HOST,
        "username": "oauth2accesstoken",
        "password": GCP_TOKEN,
    }


def test_repo_endpoint_waits_for_the_repository(harness: Harness) -> None:
    registry = build(gcp_settings())
    repo = harness.one(REPOSITORY)
    depends_on = {resolve(r.urn) for r in _sync_await(registry.repo_endpoint.resources())}
    assert repo.urn in depends_on, "repo_endpoint must come from the repository's outputs"


def test_push_uses_a_secret_access_token_from_the_provider(harness: Harness) -> None:
    build(gcp_settings())
    assert [token for token, _ in harness.monitor.registry_mocks.calls] == [CLIENT_CONFIG]
    image = harness.one(IMAGE)
    assert image.inputs["imageName"].startswith(f"{ENDPOINT}:"), "Image imageName"
    registry = image.inputs["registry"]
    assert registry["server"] == HOST, "Image registry.server"
    assert registry["username"] == "oauth2accesstoken", "Image registry.username"
    assert registry["password"] == GCP_TOKEN, "Image registry.password"
    assert {"registry", "registry.password"} & set(image.secret_paths), (
        f"Image registry.password must reach the provider as a secret; secret: {image.secret_paths}"
    )
    repo = harness.one(REPOSITORY)
    assert repo.urn in image.dependencies, "the push must wait for the repository"


def test_domain_scoped_project_path(harness: Harness) -> None:
    settings = gcp_settings(project="example.com:my-proj", location="us")
    registry = build(settings)
    assert resolve(registry.registry.registry_server) == "us-docker.pkg.dev"
    assert resolve(registry.repo_endpoint) == "us-docker.pkg.dev/example.com/my-proj/app/app"
    assert harness.one(REPOSITORY).inputs["project"] == "example.com:my-proj"


def test_image_is_named_after_the_repository(harness: Harness) -> None:
    registry = build(gcp_settings(repository_name="web"))
    assert harness.one(REPOSITORY).inputs["repositoryId"] == "web"
    endpoint = resolve(registry.repo_endpoint)
    assert endpoint == f"{HOST}/{PROJECT_ID}/web/web"
    host, project, repository, image = endpoint.split("/")
    assert (host, project, repository, image) == (HOST, PROJECT_ID, "web", "web"), (
        "an Artifact Registry image path is <host>/<project>/<repository>/<image>"
    )
    assert resolve(registry.image_name).startswith(f"{endpoint}:")


def test_labels_are_sanitized(harness: Harness) -> None:
    # The labels come from the running program's project and stack.
    stack = "Prod_EU" + "x" * 80
    mocks, monitor = harness.monitor.registry_mocks, harness.monitor
    pulumi.runtime.set_mocks(
        mocks, project="My.Project", stack=stack, preview=False, monitor=monitor
    )
    build(gcp_settings())
    labels: dict[str, str] = harness.one(REPOSITORY).inputs["labels"]
    assert labels["project"] == "my-project"
    assert labels["stack"] == ("prod_eu" + "x" * 80)[:63]
    for value in labels.values():
        assert re.fullmatch(r"[a-z0-9_-]{0,63}", value), f"Repository label value {value!r}"


@pytest.mark.parametrize(
    ("text", "expected"), [("dev", "dev"), ("A.b c", "a-b-c"), ("x" * 70, "x" * 63), ("", "")]
)
def test_label_value(text: str, expected: str) -> None:
    assert label_value(text) == expected


def test_defensive_error_without_gcp_settings(harness: Harness) -> None:
    with pytest.raises(ArgumentError) as error:
        deploy({"cloud": "gcp"})
    assert error.value.property_path == "gcp.project"
    assert harness.resources == []


# --------------------------------------------------------------------------- cleanup policies


def test_default_cleanup_policies(harness: Harness) -> None:
    build(gcp_settings())
    repo = harness.one(REPOSITORY)
    assert repo.inputs["cleanupPolicyDryRun"] is False, "cleanup must really delete"
    policies = policies_by_id(repo)
    assert set(policies) == {"delete-untagged", "delete-tagged", "keep-newest"}
    assert policies["delete-untagged"] == {
        "id": "delete-untagged",
        "action": "DELETE",
        "condition": {"tagState": "UNTAGGED", "olderThan": f"{14 * DAY}s"},
    }
    assert policies["delete-untagged"]["condition"]["olderThan"] == "1209600s"
    assert policies["delete-tagged"] == {
        "id": "delete-tagged",
        "action": "DELETE",
        "condition": {"tagState": "TAGGED"},
    }, "tagged versions beyond the newest N can be deleted only if a DELETE policy matches them"
    assert policies["keep-newest"] == {
        "id": "keep-newest",
        "action": "KEEP",
        # 30 images: nothing signs without ci (docs/supply-chain.md)
        "mostRecentVersions": {"keepCount": 30},
    }


@pytest.mark.parametrize(("days", "keep"), [(1, 1), (7, 5), (90, 250), (3650, 10000)])
def test_cleanup_policies_follow_settings(harness: Harness, days: int, keep: int) -> None:
    build(gcp_settings(untagged_expiry_days=days, keep_tagged_images=keep))
    policies = policies_by_id(harness.one(REPOSITORY))
    untagged = policies["delete-untagged"]["condition"]
    assert untagged == {"tagState": "UNTAGGED", "olderThan": f"{days * DAY}s"}
    assert policies["keep-newest"]["mostRecentVersions"] == {"keepCount": keep}
    assert policies["delete-tagged"]["condition"] == {"tagState": "TAGGED"}


@pytest.mark.parametrize("keep", [1, 30])
def test_signed_repositories_keep_each_image_with_its_signatures(keep: int) -> None:
    """With ci, the workflow signs and attests each image: most_recent_versions counts the
    `.sig` and `.att` versions too, plus one older digest signed again (docs/supply-chain.md)."""
    settings = gcp_settings(keep_tagged_images=keep, ci=CiOptions("acme/app"))
    keep_newest = next(p for p in cleanup_policies(settings) if p.id == "keep-newest")
    recent: Any = keep_newest.most_recent_versions
    assert recent.keep_count == 3 * keep + 2


def test_cleanup_policies_from_config(harness: Harness) -> None:
    harness.configure(
        cloud="gcp",
        gcp__project=PROJECT_ID,
        gcp__region=REGION,
        untaggedExpiryDays="3",
        keepTaggedImages="12",
    )
    resolve(harness.run_program()["repoDigest"])
    policies = policies_by_id(harness.one(REPOSITORY))
    assert policies["delete-untagged"]["condition"]["olderThan"] == "259200s"
    assert policies["keep-newest"]["mostRecentVersions"]["keepCount"] == 12


# --------------------------------------------------------------------------- protection, tags


def test_repository_protected_by_default(harness: Harness) -> None:
    build(gcp_settings())
    assert harness.one(REPOSITORY).protect is True, "Repository must be protected by default"
    assert harness.one(SERVICE).protect is False


def test_force_delete_unprotects_the_repository(harness: Harness) -> None:
    build(gcp_settings(force_delete=True))
    assert harness.one(REPOSITORY).protect is False, "forceDelete true must lift protect"


@pytest.mark.parametrize("immutable", [True, False])
def test_immutable_tags_follow_settings(harness: Harness, immutable: bool) -> None:
    build(gcp_settings(immutable_tags=immutable))
    assert harness.one(REPOSITORY).inputs["dockerConfig"] == {"immutableTags": immutable}


# --------------------------------------------------------------------------- __main__.py


def test_program_exports(harness: Harness) -> None:
    harness.configure(cloud="gcp", gcp__project=PROJECT_ID, gcp__region=REGION)
    outputs = harness.run_program()
    tag = APP_TAG
    assert resolve(outputs["cloud"]) == "gcp"
    assert resolve(outputs["registryServer"]) == HOST
    assert resolve(outputs["repoEndpoint"]) == ENDPOINT
    assert resolve(outputs["imageName"]) == f"{ENDPOINT}:{tag}"
    assert re.fullmatch(
        rf"{re.escape(ENDPOINT)}@sha256:[0-9a-f]{{64}}", resolve(outputs["repoDigest"])
    )
    assert is_secret(outputs["credentials"]), "credentials export must be a secret"
    assert resolve(outputs["credentials"]) == {
        "server": HOST,
        "username": "oauth2accesstoken",
        "password": GCP_TOKEN,
    }
    assert_only_credentials_secret(outputs)
    assert harness.one(COMPONENT).name == "registry"


def test_gcp_location_overrides_region(harness: Harness) -> None:
    harness.configure(cloud="gcp", gcp__project=PROJECT_ID, gcp__region=REGION, gcpLocation="us")
    outputs = harness.run_program()
    assert resolve(outputs["repoDigest"]).startswith(f"us-docker.pkg.dev/{PROJECT_ID}/app/app@")
    assert resolve(outputs["repoEndpoint"]) == f"us-docker.pkg.dev/{PROJECT_ID}/app/app"
    assert resolve(outputs["registryServer"]) == "us-docker.pkg.dev"
    assert harness.one(REPOSITORY).inputs["location"] == "us"


def test_region_from_environment(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_PROJECT", PROJECT_ID)
    monkeypatch.setenv("GOOGLE_REGION", "us-east1")
    harness.configure(cloud="gcp")
    outputs = harness.run_program()
    assert resolve(outputs["repoEndpoint"]) == f"us-east1-docker.pkg.dev/{PROJECT_ID}/app/app"


def test_missing_project_is_refused(harness: Harness) -> None:
    harness.configure(cloud="gcp", gcp__region=REGION)
    with pytest.raises(SettingsError) as error:
        harness.run_program()
    assert error.value.key == "gcp:project"
    assert "gcp:project" in str(error.value)
    assert harness.resources == [], "nothing may be registered before settings are valid"


def test_missing_location_is_refused(harness: Harness) -> None:
    harness.configure(cloud="gcp", gcp__project=PROJECT_ID)
    with pytest.raises(SettingsError) as error:
        harness.run_program()
    message = str(error.value)
    assert "gcpLocation" in message and "gcp:region" in message, message
    assert harness.resources == []


@pytest.mark.parametrize("name", ["1app", "App", "a_b", "a" * 64, "app-", "a/b", "a.b"])
def test_bad_repository_name_is_refused(harness: Harness, name: str) -> None:
    harness.configure(cloud="gcp", gcp__project=PROJECT_ID, gcp__region=REGION, repositoryName=name)
    with pytest.raises(SettingsError) as error:
        harness.run_program()
    assert error.value.key == "repositoryName"
    assert "repositoryName" in str(error.value)
    assert harness.resources == []


@pytest.mark.parametrize("name", ["a", "app", "my-app-2", "a" * 63])
def test_good_repository_names(name: str) -> None:
    raw = {"cloud": "gcp", "gcp:project": PROJECT_ID, "gcp:region": REGION, "repositoryName": name}
    assert parse_settings(raw).repository_name == name


def test_settings_for_gcp() -> None:
    raw = {"cloud": "gcp", "gcp:project": PROJECT_ID, "gcp:region": REGION}
    options = parse_settings(raw).options
    assert isinstance(options, Settings)
    assert (options.project, options.location) == (PROJECT_ID, REGION)
    raw["gcpLocation"] = "europe"
    options = parse_settings(raw).options
    assert isinstance(options, Settings)
    assert (options.project, options.location) == (PROJECT_ID, "europe")
    assert not isinstance(parse_settings({"cloud": "aws"}).options, Settings)


# --------------------------------------------------------------------------- imports


def test_only_the_gcp_sdk_is_imported() -> None:
    """A gcp stack, run in a fresh interpreter, imports pulumi_gcp and no other cloud's SDK."""
    assert cloud_sdks_loaded("gcp") == ["pulumi_gcp"]
