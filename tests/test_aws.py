"""Amazon ECR: the component built directly, its policies checked against ECR's rules and
policyuniverse, and the program run with `cloud: aws`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policyuniverse.policy import Policy

from conftest import (
    ACCOUNT,
    ECR_PASSWORD,
    INVOKES,
    Harness,
    assert_only_credentials_secret,
    is_secret,
    resolve,
)
from registries import component
from registries.aws import EcrRegistry, lifecycle_policy, repository_policy
from registries.image import APP_DIR, RegistryLogin, content_tag
from registries.settings import AwsSettings, Settings

REPO = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
IMAGE = "docker:index/image:Image"
SERVER = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
FORBIDDEN_ACTIONS = {
    "ecr:deleterepository",
    "ecr:batchdeleteimage",
    "ecr:setrepositorypolicy",
    "ecr:deleterepositorypolicy",
    "ecr:*",
    "*",
}
OTHER_ACCOUNT_ROLE = "arn:aws:iam::210987654321:role/deployer"


def ecr_lifecycle_errors(document: dict[str, Any]) -> list[str]:
    """ECR's lifecycle policy rules, as the ECR user guide states them."""
    errors: list[str] = []
    rules = document.get("rules")
    if not isinstance(rules, list) or not rules:
        return ["rules must be a non-empty list"]
    priorities = [rule.get("rulePriority") for rule in rules]
    if len(set(priorities)) != len(priorities):
        errors.append(f"rulePriority values are not unique: {priorities}")
    for rule in rules:
        name = f"rule {rule.get('rulePriority')}"
        if not isinstance(rule.get("rulePriority"), int) or rule["rulePriority"] < 1:
            errors.append(f"{name}: rulePriority must be a positive integer")
        selection = rule.get("selection", {})
        status = selection.get("tagStatus")
        count_type = selection.get("countType")
        if status not in ("tagged", "untagged", "any"):
            errors.append(f"{name}: tagStatus {status!r}")
        if count_type == "sinceImagePushed" and selection.get("countUnit") != "days":
            errors.append(f"{name}: sinceImagePushed needs countUnit days")
        if count_type == "imageCountMoreThan" and "countUnit" in selection:
            errors.append(f"{name}: imageCountMoreThan takes no countUnit")
        if count_type not in ("sinceImagePushed", "imageCountMoreThan"):
            errors.append(f"{name}: countType {count_type!r}")
        lists = [k for k in ("tagPrefixList", "tagPatternList") if k in selection]
        if status == "tagged" and not lists:
            errors.append(f"{name}: tagged needs tagPrefixList or tagPatternList")
        if status != "tagged" and lists:
            errors.append(f"{name}: {lists} only with tagStatus tagged")
        if not isinstance(selection.get("countNumber"), int) or selection["countNumber"] < 1:
            errors.append(f"{name}: countNumber must be a positive integer")
        if status == "any" and rule["rulePriority"] != max(priorities):
            errors.append(f"{name}: tagStatus any must have the highest rulePriority")
        if rule.get("action") != {"type": "expire"}:
            errors.append(f"{name}: action must be expire")
    return errors


def forbidden_grants(document: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for statement in document["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        found += [a for a in actions if a.lower() in FORBIDDEN_ACTIONS]
        principal = statement["Principal"]
        if principal == "*" or "*" in json.dumps(principal):
            found.append(f"Principal {principal}")
    return found


def test_the_lifecycle_validator_can_fail() -> None:
    broken = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": 3,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "untagged",
                    "tagPrefixList": ["v"],
                    "countType": "sinceImagePushed",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            },
        ]
    }
    assert len(ecr_lifecycle_errors(broken)) >= 3


@pytest.mark.parametrize(("days", "keep"), [(14, 30), (1, 1), (3650, 10000)])
def test_lifecycle_policy_is_valid_and_says_what_was_configured(days: int, keep: int) -> None:
    document = lifecycle_policy(Settings(untagged_expiry_days=days, keep_tagged_images=keep))
    assert ecr_lifecycle_errors(document) == []
    untagged, tagged = document["rules"]
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": days,
    }
    assert tagged["selection"]["tagStatus"] == "tagged"
    assert tagged["selection"]["countType"] == "imageCountMoreThan"
    assert tagged["selection"]["countNumber"] == keep


def test_tutorial_policy_is_caught_by_the_same_checks() -> None:
    """The policy the tutorial shipped: our checks (and policyuniverse) must reject it."""
    tutorial = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "new policy",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["ecr:BatchGetImage", "ecr:DeleteRepository", "ecr:SetRepositoryPolicy"],
            }
        ],
    }
    assert Policy(tutorial).is_internet_accessible()
    assert len(forbidden_grants(tutorial)) == 3


@pytest.mark.parametrize("pull", [(), (OTHER_ACCOUNT_ROLE, "arn:aws:iam::210987654321:root")])
def test_repository_policy_grants_only_push_and_pull(pull: tuple[str, ...]) -> None:
    root = f"arn:aws:iam::{ACCOUNT}:root"
    document = repository_policy(root, pull)
    assert not Policy(document).is_internet_accessible()
    assert forbidden_grants(document) == []
    own = document["Statement"][0]
    assert own["Effect"] == "Allow" and own["Principal"] == {"AWS": root}
    assert set(own["Action"]) == {
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:CompleteLayerUpload",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
    }
    if pull:
        extra = document["Statement"][1]
        assert extra["Principal"] == {"AWS": list(pull)}
        assert set(extra["Action"]) == {
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
        }
        assert Policy(document).principals == {root, *pull}
    else:
        assert len(document["Statement"]) == 1


def test_component_secure_defaults(harness: Harness) -> None:
    registry = EcrRegistry("registry", Settings(cloud="aws"))
    resolve(registry.repo_digest)
    repo = harness.one(REPO)
    assert repo.inputs["name"] == "app"
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}, "scan on push"
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE", "tags must be immutable"
    assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repo.inputs["forceDelete"] is False, "destroy must not delete stored images"
    assert repo.inputs["tags"] == {"project": "container-registry", "stack": "dev"}


def test_component_options_follow_settings(harness: Harness) -> None:
    kms = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    settings = Settings(
        cloud="aws",
        repository_name="team/web",
        immutable_tags=False,
        force_delete=True,
        aws=AwsSettings(kms_key_arn=kms),
    )
    registry = EcrRegistry("registry", settings)
    assert resolve(registry.repo_endpoint) == f"{SERVER}/team/web"
    repo = harness.one(REPO)
    assert repo.inputs["imageTagMutability"] == "MUTABLE"
    assert repo.inputs["forceDelete"] is True
    assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": kms}]


def test_policies_attached_to_the_repository(harness: Harness) -> None:
    settings = Settings(
        cloud="aws", untagged_expiry_days=3, aws=AwsSettings(pull_principals=(OTHER_ACCOUNT_ROLE,))
    )
    resolve(EcrRegistry("registry", settings).repo_digest)
    lifecycle = harness.one(LIFECYCLE)
    assert lifecycle.inputs["repository"] == "app"
    document = json.loads(lifecycle.inputs["policy"])
    assert ecr_lifecycle_errors(document) == []
    assert document["rules"][0]["selection"]["countNumber"] == 3

    repo = harness.one(REPO)
    assert repo.urn in lifecycle.dependencies, "the lifecycle policy must wait for the repository"
    policy = harness.one(POLICY)
    assert repo.urn in policy.dependencies, "the repository policy must wait for the repository"
    assert policy.inputs["repository"] == "app"
    document = json.loads(policy.inputs["policy"])
    assert not Policy(document).is_internet_accessible()
    assert forbidden_grants(document) == []
    assert document["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert document["Statement"][1]["Principal"] == {"AWS": [OTHER_ACCOUNT_ROLE]}


def test_account_root_follows_the_partition(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    china = {"partition": "aws-cn", "dnsSuffix": "amazonaws.com.cn", "id": "aws-cn"}
    monkeypatch.setitem(INVOKES, "aws:index/getPartition:getPartition", lambda _: china)
    resolve(EcrRegistry("registry", Settings(cloud="aws")).repo_digest)
    document = json.loads(harness.one(POLICY).inputs["policy"])
    assert document["Statement"][0]["Principal"] == {"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"}


def test_token_is_secret_from_the_moment_it_is_read(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ECR token is wrapped where it is read, not only by the shared code downstream."""
    seen: list[RegistryLogin] = []
    real = component.push_image

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["login"])
        return real(*args, **kwargs)

    monkeypatch.setattr(component, "push_image", spy)
    resolve(EcrRegistry("registry", Settings(cloud="aws")).repo_digest)
    assert len(seen) == 1 and is_secret(seen[0].password)


def test_every_child_is_parented_to_the_component(harness: Harness) -> None:
    resolve(EcrRegistry("registry", Settings(cloud="aws")).repo_digest)
    component = harness.one("container-registry:aws:EcrRegistry")
    children = [r for r in harness.resources if r is not component and r.typ != component.typ]
    assert {r.typ for r in children} == {REPO, LIFECYCLE, POLICY, IMAGE}
    for child in children:
        assert child.parent == component.urn, f"{child.typ} {child.name} is not a child"
        assert child.name.startswith("registry-"), f"{child.name} not derived from the name"


def test_push_uses_a_fresh_token_for_this_registry(harness: Harness) -> None:
    registry = EcrRegistry("registry", Settings(cloud="aws"))
    resolve(registry.repo_digest)
    credentials = resolve(registry.credentials)
    assert credentials == {"server": SERVER, "username": "AWS", "password": ECR_PASSWORD}
    assert is_secret(registry.credentials)
    tokens = [
        args for token, args in harness.monitor.registry_mocks.calls if "Authorization" in token
    ]
    assert tokens == [{"registryId": ACCOUNT}]
    image = harness.one(IMAGE)
    assert image.inputs["registry"] == credentials
    policy = harness.one(POLICY)
    assert policy.urn in image.dependencies, "the push must wait for the repository policy"


def test_program_with_cloud_aws(harness: Harness) -> None:
    harness.configure(cloud="aws")
    outputs = harness.run_program()
    tag = content_tag(APP_DIR, "linux/amd64")
    assert resolve(outputs["cloud"]) == "aws"
    assert resolve(outputs["registryServer"]) == SERVER
    assert resolve(outputs["repoEndpoint"]) == f"{SERVER}/app"
    assert resolve(outputs["imageName"]) == f"{SERVER}/app:{tag}"
    digest = resolve(outputs["repoDigest"])
    assert digest.startswith(f"{SERVER}/app@sha256:") and len(digest.split(":")[-1]) == 64
    assert resolve(outputs["credentials"])["password"] == ECR_PASSWORD
    assert_only_credentials_secret(outputs)
