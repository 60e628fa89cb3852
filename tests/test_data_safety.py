"""What `pulumi destroy` may delete, on every target.

With forceDelete false (the default) nothing that holds images can go: ECR refuses to delete a
repository that still has images unless the provider's `forceDelete` is true, and the ACR
registry (with the resource group the stack created for it), the Artifact Registry repository
and the local registry's data volume are protected, so destroy stops before deleting them. With
forceDelete true nothing in the stack is protected and ECR deletes its images too, so destroy
can clean up completely.
"""

from __future__ import annotations

import pytest

from conftest import Harness, Registered, run_target

# The resources that hold the pushed images (or contain something that does), per target.
IMAGE_HOLDERS: dict[str, tuple[str, ...]] = {
    "aws": ("aws:ecr/repository:Repository",),
    "azure": (
        "azure-native:resources:ResourceGroup",
        "azure-native:containerregistry:Registry",
    ),
    "gcp": ("gcp:artifactregistry/repository:Repository",),
    "local": ("docker:index/volume:Volume",),
}
CLOUDS = tuple(IMAGE_HOLDERS)
LOCAL_DATA_PATH = "/var/lib/registry"


def holders(harness: Harness, cloud: str) -> list[Registered]:
    found = [r for r in harness.resources if r.typ in IMAGE_HOLDERS[cloud]]
    assert {r.typ for r in found} == set(IMAGE_HOLDERS[cloud]), (
        f"{cloud}: expected {IMAGE_HOLDERS[cloud]}, registered {[r.typ for r in found]}"
    )
    return found


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("force_delete", [None, "false", "False"])
def test_destroy_keeps_images_by_default(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str, force_delete: str | None
) -> None:
    config = {} if force_delete is None else {"forceDelete": force_delete}
    run_target(harness, monkeypatch, cloud, **config)
    for resource in holders(harness, cloud):
        if resource.typ == "aws:ecr/repository:Repository":
            # ECR's DeleteRepository fails on a repository with images unless force is set.
            assert resource.inputs.get("forceDelete") is False, (
                f"{resource.name}: forceDelete must be sent as false, got "
                f"{resource.inputs.get('forceDelete')!r}"
            )
        else:
            assert resource.protect, f"{resource.name} ({resource.typ}) must be protected"
        assert not resource.retain_on_delete, f"{resource.name}: retain would orphan it silently"


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("force_delete", ["true", "TRUE"])
def test_force_delete_lets_destroy_clean_up(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str, force_delete: str
) -> None:
    run_target(harness, monkeypatch, cloud, forceDelete=force_delete)
    holders(harness, cloud)
    protected = [r.name for r in harness.resources if r.protect]
    assert protected == [], f"forceDelete=true, but destroy would stop at {protected}"
    retained = [r.name for r in harness.resources if r.retain_on_delete]
    assert retained == [], f"forceDelete=true, but destroy would leave {retained} behind"
    if cloud == "aws":
        repository = harness.one("aws:ecr/repository:Repository")
        assert repository.inputs.get("forceDelete") is True, "ECR needs forceDelete to empty it"


@pytest.mark.parametrize("force_delete", ["false", "true"])
def test_azure_existing_resource_group_is_never_created_nor_deleted(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, force_delete: str
) -> None:
    """A named resource group belongs to someone else: the stack neither owns nor deletes it."""
    run_target(
        harness, monkeypatch, "azure", azureResourceGroup="shared-rg", forceDelete=force_delete
    )
    assert harness.of_type("azure-native:resources:ResourceGroup") == []
    registry = harness.one("azure-native:containerregistry:Registry")
    assert registry.protect is (force_delete == "false")


@pytest.mark.parametrize("force_delete", ["false", "true"])
def test_local_images_live_on_the_volume_not_in_the_container(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, force_delete: str
) -> None:
    """Replacing or deleting the registry container keeps the images: they are on the volume."""
    run_target(harness, monkeypatch, "local", forceDelete=force_delete)
    volume = harness.one("docker:index/volume:Volume")
    container = harness.one("docker:index/container:Container")
    mounts = [
        (v.get("volumeName"), v.get("containerPath")) for v in container.inputs.get("volumes", [])
    ]
    assert (volume.inputs["name"], LOCAL_DATA_PATH) in mounts, mounts
    assert volume.urn in container.dependencies
