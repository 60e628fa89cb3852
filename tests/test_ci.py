"""Keyless push from GitHub Actions and least-privilege pull, on aws, azure and gcp, under the
mocks: every identity, grant and policy document, the ci and ciWorkflow outputs, and the
workflow judged by GitHub's workflow schema (check-jsonschema) and shellcheck."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from policyuniverse.policy import Policy as IamPolicy
from test_hostile_config import fresh_stack

from conftest import (
    ACCOUNT,
    AWS_REGION,
    AZURE_SUBSCRIPTION,
    AZURE_TENANT,
    SECRET_VALUES,
    TARGET_CONFIG,
    Harness,
    Registered,
    assert_only_credentials_secret,
    resolve,
    run_target,
    stub_engine,
)
from registries import ci
from registries.aws import PULL_ACTIONS, PUSH_ACTIONS
from registries.aws import cache_prefix as aws_cache_prefix
from registries.azure_access import (
    ACR_PULL_ROLE,
    ACR_PUSH_ROLE,
    registry_scope,
    role_assignment_name,
)
from registries.gcp_access import READER_ROLE, WRITER_ROLE
from registries.settings import CiSettings, Settings

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
REPO = "acme/app"
MAIN = "repo:acme/app:ref:refs/heads/main"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
POOL = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool"
POOL_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
GAR_MEMBER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
RANDOM_ID = "random:index/randomId:RandomId"
# What ciRepository adds to each target, and nothing else.
CI_TYPES: dict[str, dict[str, int]] = {
    "aws": {OIDC_PROVIDER: 1, ROLE: 1, ROLE_POLICY: 1},
    "azure": {IDENTITY: 1, FEDERATED: 1, ROLE_ASSIGNMENT: 1},
    "gcp": {
        RANDOM_ID: 1,
        POOL: 1,
        POOL_PROVIDER: 1,
        GAR_MEMBER: 1,
        "gcp:projects/service:Service": 2,
    },
}
CI_CLOUDS = tuple(CI_TYPES)
AZURE_PULLERS = [
    "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f",
    "Group:11111111-2222-3333-4444-555555555555",
]
GCP_PULLERS = [
    "serviceAccount:gke-nodes@my-project-123.iam.gserviceaccount.com",
    "group:pullers@example.com",
]


def counts(resources: list[Registered]) -> dict[str, int]:
    found: dict[str, int] = {}
    for r in resources:
        if r.custom:
            found[r.typ] = found.get(r.typ, 0) + 1
    return found


def deploy(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str, **config: str
) -> dict[str, Any]:
    outputs = run_target(harness, monkeypatch, cloud, ciRepository=REPO, **config)
    return {name: resolve(output) for name, output in outputs.items()}


# --------------------------------------------------------------------------- the subject


@pytest.mark.parametrize(
    ("settings", "subject"),
    [
        (CiSettings(REPO), MAIN),
        (CiSettings(REPO, "refs/tags/v1.0"), "repo:acme/app:ref:refs/tags/v1.0"),
        (CiSettings(REPO, None, "production"), "repo:acme/app:environment:production"),
    ],
)
def test_oidc_subject_for_ref_and_environment(settings: CiSettings, subject: str) -> None:
    assert ci.oidc_subject(settings) == subject


# --------------------------------------------------------------------------- every cloud


def _custom_counts(monkeypatch: pytest.MonkeyPatch, cloud: str, **config: str) -> dict[str, int]:
    """Run the program on fresh mocks and count what it registered, by type."""
    stub_engine(monkeypatch)
    with fresh_stack({**_qualified(TARGET_CONFIG[cloud]), **config}) as stack:
        for output in stack.run_program().values():
            resolve(output)
        return counts(stack.resources)


def _qualified(config: dict[str, str]) -> dict[str, str]:
    return {key.replace("__", ":"): value for key, value in config.items()}


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_ci_adds_exactly_its_identity_and_grants(
    monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    """The same stack with and without ciRepository: the difference is exactly CI_TYPES."""
    without = _custom_counts(monkeypatch, cloud)
    with_ci = _custom_counts(monkeypatch, cloud, ciRepository=REPO)
    added = {typ: with_ci[typ] - without.get(typ, 0) for typ in with_ci}
    assert {typ: n for typ, n in added.items() if n} == CI_TYPES[cloud]
    assert all(n >= 0 for n in added.values())


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_ci_resources_and_outputs(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    outputs = run_target(harness, monkeypatch, cloud, ciRepository=REPO)
    assert {"ci", "ciWorkflow"} <= set(outputs)
    assert_only_credentials_secret(outputs)
    component = next(r for r in harness.resources if not r.custom)
    assert {"ci", "ciWorkflow"} <= harness.monitor.registered_outputs[component.urn]
    values = resolve(outputs["ci"])
    assert values["subject"] == MAIN
    for r in harness.resources:
        if r.typ in CI_TYPES[cloud]:
            assert r.parent == component.urn, f"{r.name} must be a child of the component"


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_no_ci_outputs_without_a_repository(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    outputs = run_target(harness, monkeypatch, cloud)
    assert not {"ci", "ciWorkflow"} & set(outputs)
    component = next(r for r in harness.resources if not r.custom)
    assert not {"ci", "ciWorkflow"} & harness.monitor.registered_outputs[component.urn]


# --------------------------------------------------------------------------- AWS


def test_aws_trust_policy_pins_audience_and_subject(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = deploy(harness, monkeypatch, "aws")
    provider = harness.one(OIDC_PROVIDER)
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    trust = json.loads(harness.one(ROLE).inputs["assumeRolePolicy"])
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    assert trust["Statement"] == [
        {
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": MAIN,
                }
            },
        }
    ]
    judged = IamPolicy(trust)
    assert not judged.is_internet_accessible(), "the trust policy lets anyone in"
    assert {p.value for p in judged.whos_allowed()} == {provider_arn}
    assert values["ci"]["region"] == AWS_REGION
    assert values["ci"]["roleArn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")


def test_aws_role_policy_pushes_this_repository_only(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(harness, monkeypatch, "aws")
    role_policy = harness.one(ROLE_POLICY)
    assert role_policy.inputs["role"] == f"{harness.one(ROLE).name}-id"
    document = json.loads(role_policy.inputs["policy"])
    repository_arn = f"arn:aws:ecr:{AWS_REGION}:{ACCOUNT}:repository/app"
    judged = IamPolicy(document)
    by_resource: dict[str, set[str]] = {}
    for statement in judged.statements:
        assert statement.effect == "Allow"
        for action in statement.actions:
            assert "*" not in action, f"wildcard action {action}"
        for resource in statement.resources:
            by_resource.setdefault(resource, set()).update(statement.actions_expanded)
    assert by_resource == {
        "*": {"ecr:getauthorizationtoken"},
        repository_arn: {a.lower() for a in PULL_ACTIONS + PUSH_ACTIONS},
    }
    assert set(judged.action_summary()["ecr"]) <= {"Read", "Write"}
    assert not any("delete" in a or "policy" in a for a in by_resource[repository_arn])


def test_aws_reuses_a_named_oidc_provider(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com"
    deploy(harness, monkeypatch, "aws", awsOidcProviderArn=existing)
    assert harness.of_type(OIDC_PROVIDER) == []
    trust = json.loads(harness.one(ROLE).inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Federated": existing}


def test_aws_environment_subject(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(harness, monkeypatch, "aws", ciEnvironment="production")
    trust = json.loads(harness.one(ROLE).inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:sub"] == (
        "repo:acme/app:environment:production"
    )


# --------------------------------------------------------------------------- Azure


def test_azure_identity_federation_and_acr_push(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = deploy(harness, monkeypatch, "azure")
    identity = harness.one(IDENTITY)
    credential = harness.one(FEDERATED)
    assert credential.inputs["issuer"] == "https://token.actions.githubusercontent.com"
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert credential.inputs["subject"] == MAIN
    assert credential.inputs["resourceName"] == identity.inputs.get(
        "resourceName", "registry-ci-identity-mock01"
    )
    assert credential.inputs["resourceGroupName"] == identity.inputs["resourceGroupName"]

    registry = harness.one("azure-native:containerregistry:Registry")
    scope = registry_scope(
        AZURE_SUBSCRIPTION, identity.inputs["resourceGroupName"], registry.inputs["registryName"]
    )
    push = harness.one(ROLE_ASSIGNMENT)
    assert push.inputs["scope"] == scope, "AcrPush must be scoped to the registry alone"
    assert push.inputs["roleDefinitionId"] == (
        f"/subscriptions/{AZURE_SUBSCRIPTION}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{ACR_PUSH_ROLE}"
    )
    assert push.inputs["principalType"] == "ServicePrincipal"
    principal = push.inputs["principalId"]
    assert push.inputs["roleAssignmentName"] == role_assignment_name(
        scope, principal, ACR_PUSH_ROLE
    )
    assert values["ci"] == {
        "clientId": values["ci"]["clientId"],
        "tenantId": AZURE_TENANT,
        "subscriptionId": AZURE_SUBSCRIPTION,
        "registryName": registry.inputs["registryName"],
        "subject": MAIN,
    }
    assert re.fullmatch(r"[0-9a-f-]{36}", values["ci"]["clientId"])


def test_azure_role_assignment_names_are_deterministic_guids() -> None:
    scope = registry_scope(AZURE_SUBSCRIPTION, "rg", "appdev1234abcd")
    first = role_assignment_name(scope, "0C5A9D1E-2F3B-4C6D-8E7F-9A0B1C2D3E4F", ACR_PULL_ROLE)
    assert first == role_assignment_name(
        scope.upper(), "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f", ACR_PULL_ROLE
    )
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first
    )
    assert first != role_assignment_name(scope, "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f", "x")
    assert first != role_assignment_name(scope + "x", "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f", "y")


def test_azure_pull_principals_get_acr_pull_on_the_registry(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ciRepository: only the pull grants, each with its principal type."""
    run_target(harness, monkeypatch, "azure", pullPrincipals=json.dumps(AZURE_PULLERS))
    assert harness.of_type(IDENTITY) == []
    assignments = {r.inputs["principalId"]: r.inputs for r in harness.of_type(ROLE_ASSIGNMENT)}
    assert set(assignments) == {
        "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f",
        "11111111-2222-3333-4444-555555555555",
    }
    types = {p: a["principalType"] for p, a in assignments.items()}
    assert types == {
        "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f": "ServicePrincipal",
        "11111111-2222-3333-4444-555555555555": "Group",
    }
    for principal, inputs in assignments.items():
        assert inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{ACR_PULL_ROLE}")
        assert re.fullmatch(
            r"/subscriptions/[0-9a-f-]{36}/resourceGroups/[^/]+/providers/"
            r"Microsoft\.ContainerRegistry/registries/[a-z0-9]+",
            inputs["scope"],
        ), inputs["scope"]
        assert inputs["roleAssignmentName"] == role_assignment_name(
            inputs["scope"], principal, ACR_PULL_ROLE
        )


def test_azure_default_stack_makes_no_grant_and_no_extra_call(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "azure")
    assert harness.of_type(ROLE_ASSIGNMENT) == []
    calls = [token for token, _ in harness.monitor.registry_mocks.calls]
    # Once, for the registry name (which hashes the subscription); none for grants.
    assert calls.count("azure-native:authorization:getClientConfig") == 1, calls


# --------------------------------------------------------------------------- Google Cloud


def test_gcp_pool_provider_and_repository_grant(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = deploy(harness, monkeypatch, "gcp")
    suffix = harness.one(RANDOM_ID)
    assert suffix.inputs["byteLength"] == 3
    pool = harness.one(POOL)
    provider = harness.one(POOL_PROVIDER)
    pool_id = pool.inputs["workloadIdentityPoolId"]
    assert re.fullmatch(r"github-[0-9a-f]{6}", pool_id), pool_id
    assert provider.inputs["workloadIdentityPoolId"] == pool_id
    assert provider.inputs["workloadIdentityPoolProviderId"] == pool_id
    assert provider.inputs["oidc"] == {"issuerUri": "https://token.actions.githubusercontent.com"}
    assert provider.inputs["attributeCondition"] == (
        f'assertion.repository == "{REPO}" && assertion.sub == "{MAIN}"'
    )
    mapping = provider.inputs["attributeMapping"]
    assert mapping["google.subject"] == "assertion.sub"
    assert mapping["attribute.repository"] == "assertion.repository"

    writer = harness.one(GAR_MEMBER)
    assert writer.inputs["role"] == WRITER_ROLE
    assert writer.inputs["repository"] == "app"
    assert writer.inputs["member"] == (
        "principalSet://iam.googleapis.com/projects/123456789012/locations/global/"
        f"workloadIdentityPools/{pool_id}/attribute.repository/{REPO}"
    )
    assert not [r for r in harness.resources if r.typ.startswith("gcp:projects/iAM")]
    assert not [r for r in harness.resources if "serviceAccount" in r.typ]
    services = {r.inputs["service"] for r in harness.of_type("gcp:projects/service:Service")}
    assert {"iam.googleapis.com", "sts.googleapis.com"} <= services
    for service in harness.of_type("gcp:projects/service:Service"):
        assert service.inputs["disableOnDestroy"] is False
    assert values["ci"]["workloadIdentityProvider"] == (
        f"projects/123456789012/locations/global/workloadIdentityPools/{pool_id}/providers/{pool_id}"
    )
    assert values["ci"]["project"] == "my-project-123"


def test_gcp_pull_principals_get_reader_on_the_repository(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_target(harness, monkeypatch, "gcp", pullPrincipals=json.dumps(GCP_PULLERS))
    assert harness.of_type(POOL) == []
    grants = harness.of_type(GAR_MEMBER)
    assert sorted(r.inputs["member"] for r in grants) == sorted(GCP_PULLERS)
    for grant in grants:
        assert grant.inputs["role"] == READER_ROLE
        assert (grant.inputs["repository"], grant.inputs["location"]) == ("app", "europe-west4")
    assert len({r.name for r in grants}) == len(grants)


# --------------------------------------------------------------------------- the workflow


def _workflow(harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str, **config: str) -> str:
    text = deploy(harness, monkeypatch, cloud, **config)["ciWorkflow"]
    assert isinstance(text, str)
    return text


def schema_errors(text: str, tmp_path: Path) -> str:
    """check-jsonschema's verdict against GitHub's workflow schema ('' when valid)."""
    path = tmp_path / "push-image.yml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


WORKFLOW_CASES = [
    ("aws", {}),
    ("azure", {"ciRef": "refs/tags/v1.0"}),
    ("gcp", {"ciEnvironment": "production", "platform": "linux/arm64"}),
]


@pytest.mark.parametrize(("cloud", "config"), WORKFLOW_CASES)
def test_workflow_validates_and_holds_what_a_push_needs(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    cloud: str,
    config: dict[str, str],
) -> None:
    text = _workflow(harness, monkeypatch, cloud, **config)
    assert schema_errors(text, tmp_path) == ""
    document = yaml.safe_load(text)
    assert document["permissions"] == {"id-token": "write", "contents": "read"}
    job = document["jobs"]["push"]
    assert "permissions" not in job
    steps = job["steps"]
    pinned = {action.uses for action in ci.ACTIONS}
    for step in steps:
        if "uses" in step:
            assert step["uses"] in pinned, step["uses"]
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    build = next(s for s in steps if s.get("id") == "build")
    endpoint = deploy_endpoint(harness)
    platform = config.get("platform", "linux/amd64")
    assert build["with"] == {
        "context": "app",
        "file": "app/Dockerfile",
        "platforms": platform,
        "push": "true",
        "tags": f"{endpoint}:${{{{ github.sha }}}}",
    }
    digest = steps[-1]
    assert digest["env"] == {"IMAGE": endpoint, "DIGEST": "${{ steps.build.outputs.digest }}"}
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert ("docker/setup-qemu-action" in uses) == (platform != "linux/amd64")
    assert "secrets." not in text
    assert not any(secret in text for secret in SECRET_VALUES)
    if "ciEnvironment" in config:
        assert job["environment"] == config["ciEnvironment"]
    else:
        assert "environment" not in job
    if config.get("ciRef") == "refs/tags/v1.0":
        assert document["on"]["push"] == {"tags": ["v1.0"]}


def deploy_endpoint(harness: Harness) -> str:
    image = harness.one("docker:index/image:Image")
    return image.inputs["imageName"].rsplit(":", 1)[0]


@pytest.mark.parametrize(
    ("cloud", "login"),
    [
        ("aws", ["aws-actions/configure-aws-credentials", "aws-actions/amazon-ecr-login"]),
        ("azure", ["azure/login", "az acr login"]),
        ("gcp", ["google-github-actions/auth", "gcloud auth configure-docker"]),
    ],
)
def test_workflow_logs_in_with_the_clouds_own_action(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str, login: list[str]
) -> None:
    outputs = deploy(harness, monkeypatch, cloud)
    steps = yaml.safe_load(outputs["ciWorkflow"])["jobs"]["push"]["steps"]
    shown = [s.get("uses", "").split("@")[0] or s.get("run", "") for s in steps]
    for needed in login:
        assert any(needed in item for item in shown), f"{cloud}: no step with {needed}"
    login_with = next(s["with"] for s in steps if s.get("uses", "").startswith(login[0]))
    expected = {
        "aws": {"role-to-assume": outputs["ci"].get("roleArn"), "aws-region": AWS_REGION},
        "azure": {
            "client-id": outputs["ci"].get("clientId"),
            "tenant-id": AZURE_TENANT,
            "subscription-id": AZURE_SUBSCRIPTION,
        },
        "gcp": {
            "workload_identity_provider": outputs["ci"].get("workloadIdentityProvider"),
            "project_id": "my-project-123",
        },
    }[cloud]
    assert login_with == expected


def test_a_broken_workflow_fails_the_schema(tmp_path: Path) -> None:
    """The schema check can fail: a bad permission value and a job without runs-on."""
    document = ci.workflow(
        CiSettings(REPO),
        cloud_name="x",
        login_steps=[],
        repo_endpoint="r/app",
        platform="linux/amd64",
    )
    assert schema_errors(ci.dump_workflow(document), tmp_path) == ""
    broken = {**document, "permissions": {"id-token": "everything"}}
    assert schema_errors(ci.dump_workflow(broken), tmp_path) != ""
    job = {k: v for k, v in document["jobs"]["push"].items() if k != "runs-on"}
    assert schema_errors(ci.dump_workflow({**document, "jobs": {"push": job}}), tmp_path) != ""


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_workflow_shell_steps_pass_shellcheck(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cloud: str
) -> None:
    steps = yaml.safe_load(_workflow(harness, monkeypatch, cloud))["jobs"]["push"]["steps"]
    scripts = [s["run"] for s in steps if "run" in s]
    assert scripts
    for index, script in enumerate(scripts):
        # GitHub runs `run` with bash -e on ubuntu runners; env values arrive as variables.
        path = tmp_path / f"step{index}.sh"
        path.write_text("#!/usr/bin/env bash\nset -e\n" + script + "\n", encoding="utf-8")
        result = subprocess.run(
            ["shellcheck", "--severity=style", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout
        assert "${{" not in script, "an expression pasted into a script can inject shell"


# --------------------------------------------------------------------------- CI with the mirror


def _build_step(workflow: str) -> dict[str, Any]:
    steps = yaml.safe_load(workflow)["jobs"]["push"]["steps"]
    (build,) = [s for s in steps if s.get("id") == "build"]
    return build


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_ci_build_takes_its_base_image_from_the_mirror(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str, tmp_path: Path
) -> None:
    """With the mirror on, the CI build does what the stack's own build does: no Docker Hub."""
    outputs = deploy(harness, monkeypatch, cloud, mirror="true")
    workflow = outputs["ciWorkflow"]
    assert schema_errors(workflow, tmp_path) == ""
    build_args = _build_step(workflow)["with"].get("build-args")
    assert build_args == f"BASE_IMAGE={outputs['mirrorEndpoint']}/nginx", build_args
    image = harness.one("docker:index/image:Image")
    assert image.inputs["build"]["args"] == {"BASE_IMAGE": f"{outputs['mirrorEndpoint']}/nginx"}


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_ci_build_without_the_mirror_has_no_build_args(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    workflow = deploy(harness, monkeypatch, cloud)["ciWorkflow"]
    assert "build-args" not in _build_step(workflow)["with"]


def test_aws_ci_role_may_make_the_first_pull_through_the_cache_only(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(harness, monkeypatch, "aws", mirror="true")
    judged = IamPolicy(json.loads(harness.one(ROLE_POLICY).inputs["policy"]))
    by_resource: dict[str, set[str]] = {}
    for statement in judged.statements:
        assert statement.effect == "Allow"
        assert not any("*" in action for action in statement.actions), statement.actions
        for resource in statement.resources:
            by_resource.setdefault(resource, set()).update(statement.actions_expanded)
    prefix = aws_cache_prefix(Settings(cloud="aws"), "ecr-public")
    cache = f"arn:aws:ecr:{AWS_REGION}:{ACCOUNT}:repository/{prefix}/*"
    assert by_resource[cache] == {
        a.lower() for a in (*PULL_ACTIONS, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
    }
    assert set(by_resource) == {
        "*",
        f"arn:aws:ecr:{AWS_REGION}:{ACCOUNT}:repository/app",
        cache,
    }, "nothing wider than this repository and the cache prefix"


def test_gcp_ci_principal_reads_the_mirror_and_nothing_else_more(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(harness, monkeypatch, "gcp", mirror="true")
    grants = {
        (m.inputs["repository"], m.inputs["role"])
        for m in harness.of_type(GAR_MEMBER)
        if m.inputs["member"].startswith("principalSet://")
    }
    assert grants == {("app", WRITER_ROLE), ("app-mirror", READER_ROLE)}
