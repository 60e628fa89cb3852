"""Keyless push from GitHub Actions and least-privilege pull, on aws, azure and gcp, under the
mocks: every identity, grant and policy document, the ci and ciWorkflow outputs, the trust
evaluated as each cloud evaluates it (IAM condition operators, Entra's exact subject match, and
Google's attribute mapping and condition in a real CEL implementation), and the workflow judged
by GitHub's workflow schema (check-jsonschema), zizmor and shellcheck."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from celpy.adapter import json_to_cel
from celpy.celtypes import BoolType
from celpy.evaluation import CELEvalError
from policyuniverse.policy import Policy as IamPolicy
from test_hostile_config import fresh_stack

from conftest import (
    ACCOUNT,
    AWS_REGION,
    AZURE_SUBSCRIPTION,
    AZURE_TENANT,
    PROJECT,
    SECRET_VALUES,
    STACK,
    TARGET_CONFIG,
    Harness,
    ProgramRun,
    Registered,
    assert_only_credentials_secret,
    program_run,
    resolve,
    run_target,
    service_component,
    stub_engine,
)
from container_registry import github as ci
from container_registry import github_pins
from container_registry.azure.access import registry_scope, role_assignment_name
from container_registry.options import CiOptions as CiSettings
from stack.config.errors import SettingsError

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
ZIZMOR = Path(sys.executable).with_name("zizmor")
REPO = "acme/app"
MAIN = "repo:acme/app:ref:refs/heads/main"
WORKFLOW_IDENTITY = "https://github.com/acme/app/.github/workflows/push-image.yml@refs/heads/main"
# GitHub's `job_workflow_ref` of the generated workflow's job: OWNER/REPO/<workflow path>@REF
# (GitHub docs, "OpenID Connect reference", the example token:
# "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main"), by name in either form.
JOB_WORKFLOW_REF = "acme/app/.github/workflows/push-image.yml@refs/heads/main"
# GitHub's immutable form of the same repository (owner ID 1001, repository ID 2002).
IMMUTABLE = "acme@1001/app@2002"
IMMUTABLE_MAIN = "repo:acme@1001/app@2002:ref:refs/heads/main"
# The user's word that the repository's OIDC subject template adds the ref (required with an
# environment on aws and azure).
TEMPLATE = {"ciSubjectIncludesRef": "true"}
# Built-in role IDs, the same in every tenant (Microsoft Learn, "Azure built-in roles for
# Containers": AcrPush, AcrPull).
ACR_PUSH_ROLE = "8311e382-0749-4cb8-b61a-304f252e45ec"
ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
# Google Cloud, "Artifact Registry roles and permissions" (predefined roles): Writer, Reader.
WRITER_ROLE = "roles/artifactregistry.writer"
READER_ROLE = "roles/artifactregistry.reader"
# Amazon ECR User Guide, "Required IAM permissions for pushing an image" (image-push-iam.html):
# the layer check and upload actions and PutImage; pulling is BatchGetImage and
# GetDownloadUrlForLayer, with BatchCheckLayerAvailability ("Private repository policy examples").
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
ECR_PUSH = (
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
# ECR User Guide, "IAM permissions required to sync an upstream registry" (pull-through-cache-
# iam.html): the first pull through a cache rule imports the image into a new repository.
ECR_PULL_THROUGH = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
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
    outputs = run_target(harness, monkeypatch, cloud, **{"ciRepository": REPO, **config})
    return {name: resolve(output) for name, output in outputs.items()}


# --------------------------------------------------------------------------- the subject


@pytest.mark.parametrize(
    ("settings", "subject"),
    [
        (CiSettings(REPO), MAIN),
        (CiSettings(REPO, "refs/tags/v1.0"), "repo:acme/app:ref:refs/tags/v1.0"),
        (CiSettings(REPO, environment="production"), "repo:acme/app:environment:production"),
        # GitHub docs, "OpenID Connect reference", "Immutable subject claims".
        (CiSettings(REPO, owner_id="1001", repository_id="2002"), IMMUTABLE_MAIN),
        (
            CiSettings(REPO, "refs/tags/v1.0", "production", "1001", "2002"),
            "repo:acme@1001/app@2002:environment:production",
        ),
        # GitHub docs, "Customizing the subject claims": include_claim_keys [repo, context,
        # ref, job_workflow_ref] writes each as <key>:<value>, `context` being the default
        # suffix (the example "repo:octo-org/octo-repo:environment:prod:job_workflow_ref:
        # octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main").
        (
            CiSettings(REPO, "refs/tags/v1.0", "production", "1001", "2002", True),
            "repo:acme@1001/app@2002:environment:production:ref:refs/tags/v1.0"
            ":job_workflow_ref:acme/app/.github/workflows/push-image.yml@refs/tags/v1.0",
        ),
        (
            CiSettings(REPO, subject_includes_ref=True),
            f"{MAIN}:ref:refs/heads/main:job_workflow_ref:{JOB_WORKFLOW_REF}",
        ),
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
    component = harness.one("container-registry:index:Registry")
    assert {"ci", "ciWorkflow"} <= harness.monitor.registered_outputs[component.urn]
    values = resolve(outputs["ci"])
    assert values["subject"] == MAIN
    assert values["subjectForm"] == "name-only"
    # What the cloud admits, in words: AWS binds the workflow file (job_workflow_ref) but not
    # the trigger; Entra, with the default template, only the ref; Google both.
    assert (
        values["trusts"]
        == {
            "aws": "only .github/workflows/push-image.yml at refs/heads/main of acme/app, "
            "on any trigger",
            "azure": "any workflow on this ref: every workflow file at refs/heads/main of "
            "acme/app, on any trigger",
            "gcp": "only .github/workflows/push-image.yml at refs/heads/main of acme/app, "
            "triggered by push or workflow_dispatch",
        }[cloud]
    )
    assert values["checkTokenSubject"] == (
        "gh api repos/acme/app/actions/oidc/customization/sub --jq .sub_claim_prefix"
    )
    service = service_component(harness, cloud)
    assert {"ci", "ciWorkflow"} <= harness.monitor.registered_outputs[service.urn]
    for r in harness.resources:
        if r.typ in CI_TYPES[cloud]:
            assert r.parent == service.urn, f"{r.name} must be a child of the component"


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_no_ci_outputs_without_a_repository(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    outputs = run_target(harness, monkeypatch, cloud)
    assert not {"ci", "ciWorkflow"} & set(outputs)
    component = harness.one("container-registry:index:Registry")
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
                    # IAM User Guide, "Available keys for AWS OIDC federation", GitHub.
                    "token.actions.githubusercontent.com:job_workflow_ref": JOB_WORKFLOW_REF,
                }
            },
        }
    ]
    judged = IamPolicy(trust)
    assert not judged.is_internet_accessible(), "the trust policy lets anyone in"
    assert {p.value for p in judged.whos_allowed()} == {provider_arn}
    # IAM's default, and what configure-aws-credentials asks for by default: one hour
    # (AWS IAM API Reference, CreateRole, MaxSessionDuration: 3600 to 43200, default 3600;
    # aws-actions/configure-aws-credentials README, role-duration-seconds default 3600).
    assert harness.one(ROLE).inputs["maxSessionDuration"] == 3600
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
        repository_arn: {a.lower() for a in ECR_PULL + ECR_PUSH},
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
    deploy(harness, monkeypatch, "aws", ciEnvironment="production", **TEMPLATE)
    trust = json.loads(harness.one(ROLE).inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:sub"] == (
        f"repo:acme/app:environment:production:ref:refs/heads/main:job_workflow_ref:"
        f"{JOB_WORKFLOW_REF}"
    )
    assert condition["token.actions.githubusercontent.com:job_workflow_ref"] == JOB_WORKFLOW_REF


# --------------------------------------------------------------------------- Azure


SIGNER_CHECK = (
    f"python3 -m container_registry.signer --identity {WORKFLOW_IDENTITY}"
    " --issuer https://token.actions.githubusercontent.com --repository acme/app"
    " --ref refs/heads/main --trigger push --trigger workflow_dispatch"
)


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
        "subjectForm": "name-only",
        "subjectTemplate": "default",
        "trusts": "any workflow on this ref: every workflow file at refs/heads/main of acme/app, "
        "on any trigger",
        "checkTokenSubject": (
            "gh api repos/acme/app/actions/oidc/customization/sub --jq .sub_claim_prefix"
        ),
        # How to verify what the workflow signs (docs/supply-chain.md): GitHub's issuer, and the
        # workflow file at the trusted ref as the certificate's identity, exactly.
        "certificateIdentity": WORKFLOW_IDENTITY,
        "certificateOidcIssuer": "https://token.actions.githubusercontent.com",
        # cosign checks names; container_registry.signer the workflow and the trigger (and the
        # IDs, which this name-only ciRepository has none of: tests/test_signer.py).
        "verifySignature": (
            f"cosign verify --certificate-identity {WORKFLOW_IDENTITY} --certificate-oidc-issuer"
            " https://token.actions.githubusercontent.com"
            " --certificate-github-workflow-repository acme/app"
            " --certificate-github-workflow-ref refs/heads/main --output json"
            f" {values['repoEndpoint']}@DIGEST | {SIGNER_CHECK}"
        ),
        "verifySbom": (
            "cosign verify-attestation --type spdxjson --certificate-identity "
            f"{WORKFLOW_IDENTITY} --certificate-oidc-issuer"
            " https://token.actions.githubusercontent.com"
            " --certificate-github-workflow-repository acme/app"
            " --certificate-github-workflow-ref refs/heads/main --output json"
            f" {values['repoEndpoint']}@DIGEST | {SIGNER_CHECK}"
        ),
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
    calls = [token for token, _ in harness.monitor.registry_mocks.calls]
    # The grants reuse the registry's getClientConfig read: still one call.
    assert calls.count("azure-native:authorization:getClientConfig") == 1, calls


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
    # The generated workflow's own triggers are push and workflow_dispatch (its `on:`).
    assert provider.inputs["attributeCondition"] == (
        f'assertion.repository == "{REPO}" && assertion.ref == "refs/heads/main" && '
        f'assertion.job_workflow_ref == "{JOB_WORKFLOW_REF}" && '
        'assertion.event_name in ["push", "workflow_dispatch"] && '
        f'assertion.sub == "{MAIN}"'
    )
    mapping = provider.inputs["attributeMapping"]
    assert mapping["google.subject"] == "assertion.job_workflow_ref"
    assert mapping["attribute.repository"] == "assertion.repository"
    assert mapping["attribute.repository_id"] == "assertion.repository_id"

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


def schema_errors_of(texts: Mapping[str, str], folder: Path) -> dict[str, str]:
    """check-jsonschema's verdict on each workflow ('' when valid), all in one run: a run costs a
    third of a second of CPU, nearly all of it the tool's start."""
    paths = {name: folder / f"workflow-{index}.yml" for index, name in enumerate(texts)}
    for name, path in paths.items():
        path.write_text(texts[name], encoding="utf-8")
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows"]
        + ["--output-format", "JSON", *map(str, paths.values())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(result.stdout)
    found: dict[str, list[str]] = {str(path): [] for path in paths.values()}
    for error in [*report.get("errors", []), *report.get("parse_errors", [])]:
        found[error["filename"]].append(json.dumps(error))
    assert (result.returncode == 0) == (not any(found.values())), result.stdout + result.stderr
    return {name: "\n".join(found[str(path)]) for name, path in paths.items()}


def schema_errors(text: str, tmp_path: Path) -> str:
    """check-jsonschema's verdict against GitHub's workflow schema ('' when valid)."""
    return schema_errors_of({"push-image": text}, tmp_path)["push-image"]


def zizmor_findings_of(
    texts: Mapping[str, str], folder: Path, *extra: str
) -> dict[str, list[dict[str, Any]]]:
    """zizmor's findings on each workflow, offline and with no configuration file, all in one
    run; a finding belongs to the file of its primary location."""
    paths = {name: folder / f"workflow-{index}.yml" for index, name in enumerate(texts)}
    for name, path in paths.items():
        path.write_text(texts[name], encoding="utf-8")
    result = subprocess.run(
        [str(ZIZMOR), "--offline", "--no-config", "--format=json", *extra]
        + [str(path) for path in paths.values()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Exit codes: 0 clean, 1 error, 10 and up findings (zizmor docs, "Exit codes").
    assert result.returncode == 0 or result.returncode >= 10, result.stderr
    found: dict[str, list[dict[str, Any]]] = {str(path): [] for path in paths.values()}
    for finding in json.loads(result.stdout):
        (where,) = {
            location["symbolic"]["key"]["Local"]["verbatim_path"]
            for location in finding["locations"]
            if location["symbolic"]["kind"] == "Primary"
        }
        found[where].append(finding)
    assert (result.returncode == 0) == (not any(found.values())), result.stdout[-2000:]
    return {name: found[str(path)] for name, path in paths.items()}


def zizmor_findings(text: str, tmp_path: Path, *extra: str) -> list[dict[str, Any]]:
    """zizmor's findings on the workflow, offline and with no configuration file."""
    return zizmor_findings_of({"push-image": text}, tmp_path, *extra)["push-image"]


WORKFLOW_CASES = [
    ("aws", {}),
    ("azure", {"ciRef": "refs/tags/v1.0"}),
    ("gcp", {"ciEnvironment": "production", "platform": "linux/arm64"}),
    ("aws", {"ciRepository": IMMUTABLE, "ciEnvironment": "production", **TEMPLATE}),
    ("azure", {"ciEnvironment": "production", "ciRef": "refs/heads/release", **TEMPLATE}),
    ("gcp", {"ciRepository": IMMUTABLE}),
]
# The modes zizmor judges: the ones above, and each cloud with the mirror (its build arguments in
# the build step), once in an environment.
ZIZMOR_CASES = [
    *WORKFLOW_CASES,
    ("aws", {"mirror": "true"}),
    ("azure", {"mirror": "true", "ciRepository": IMMUTABLE}),
    ("gcp", {"mirror": "true", "ciEnvironment": "production"}),
]
# The mirror's build step, on each cloud (test_ci_build_takes_its_base_image_from_the_mirror).
MIRROR_CASES = [(cloud, {"mirror": "true"}) for cloud in CI_CLOUDS]


def ci_run(cloud: str, config: Mapping[str, str]) -> ProgramRun:
    """The stack with CI for `cloud` (ciRepository acme/app unless `config` names another), run
    once per session and shared (conftest.program_run)."""
    return program_run(cloud, **{"ciRepository": REPO, **config})


def case_name(cloud: str, config: Mapping[str, str]) -> str:
    return "-".join([cloud, *(f"{key}={value}" for key, value in sorted(config.items()))])


@functools.cache
def _schema_verdicts() -> dict[str, tuple[str, str]]:
    """Each WORKFLOW_CASES and MIRROR_CASES workflow and check-jsonschema's verdict on it, from
    one run of the tool for all of them, made once per session."""
    texts = {
        case_name(cloud, config): ci_run(cloud, config).outputs["ciWorkflow"]
        for cloud, config in [*WORKFLOW_CASES, *MIRROR_CASES]
    }
    with tempfile.TemporaryDirectory() as folder:
        verdicts = schema_errors_of(texts, Path(folder))
    return {name: (texts[name], verdicts[name]) for name in texts}


def schema_verdict(cloud: str, config: Mapping[str, str], text: str) -> str:
    """check-jsonschema's verdict on this case's workflow, which must be `text`."""
    judged, verdict = _schema_verdicts()[case_name(cloud, config)]
    assert judged == text, "the shared run judged another workflow"
    return verdict


@functools.cache
def _zizmor_verdicts() -> dict[str, tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """Each ZIZMOR_CASES workflow with zizmor's findings on it under the default persona and
    under the pedantic one: two runs of zizmor for all of them, made once per session."""
    texts = {
        case_name(cloud, config): ci_run(cloud, config).outputs["ciWorkflow"]
        for cloud, config in ZIZMOR_CASES
    }
    with tempfile.TemporaryDirectory() as folder:
        default = zizmor_findings_of(texts, Path(folder))
        pedantic = zizmor_findings_of(texts, Path(folder), "--persona=pedantic")
    return {name: (texts[name], default[name], pedantic[name]) for name in texts}


@pytest.mark.parametrize(("cloud", "config"), WORKFLOW_CASES)
def test_workflow_validates_and_holds_what_a_push_needs(cloud: str, config: dict[str, str]) -> None:
    run = ci_run(cloud, config)
    text = run.outputs["ciWorkflow"]
    assert schema_verdict(cloud, config, text) == ""
    document = yaml.safe_load(text)
    # Nothing at workflow level; the OIDC token and a read-only checkout for the job alone.
    assert document["permissions"] == {}
    job = document["jobs"]["push"]
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    # Whatever the mode, only the configured ref starts the job, and only it triggers a push run.
    ref = config.get("ciRef", "refs/heads/main")
    assert job["if"] == f"github.ref == '{ref}'"
    kind, name = (
        ("tags", ref.removeprefix("refs/tags/"))
        if "/tags/" in ref
        else (
            "branches",
            ref.removeprefix("refs/heads/"),
        )
    )
    assert document["on"] == {"push": {kind: [name]}, "workflow_dispatch": None}
    steps = job["steps"]
    # actions/checkout README: persist-credentials (default true) leaves the token in the
    # local git config; the workflow turns it off.
    checkout = steps[0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"] == {"persist-credentials": "false"}
    pinned = {action.uses for action in github_pins.ACTIONS}
    for step in steps:
        if "uses" in step:
            assert step["uses"] in pinned, step["uses"]
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    build = next(s for s in steps if s.get("id") == "build")
    (image,) = [r for r in run.resources if r.typ == "docker:index/image:Image"]
    endpoint = image.inputs["imageName"].rsplit(":", 1)[0]
    platform = config.get("platform", "linux/amd64")
    assert build["with"] == {
        "context": "app",
        "file": "app/Dockerfile",
        "platforms": platform,
        "push": "true",
        "provenance": "false",
        "tags": f"{endpoint}:${{{{ github.sha }}}}",
    }
    # The last step prints the digest and how to verify it (tests/test_supply_chain_workflow.py).
    digest = steps[-1]
    assert {k: digest["env"][k] for k in ("IMAGE", "DIGEST")} == {
        "IMAGE": endpoint,
        "DIGEST": "${{ steps.build.outputs.digest }}",
    }
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert ("docker/setup-qemu-action" in uses) == (platform != "linux/amd64")
    assert "secrets." not in text
    assert not any(secret in text for secret in SECRET_VALUES)
    if "ciEnvironment" in config:
        assert job["environment"] == config["ciEnvironment"]
    else:
        assert "environment" not in job


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
    """The schema check can fail: a bad permission value and a job without runs-on. Judged in
    one run, as the shared verdicts are: a broken file's errors stay with it."""
    document = ci.workflow(
        CiSettings(REPO),
        cloud_name="x",
        login_steps=[],
        repo_endpoint="r/app",
        platform="linux/amd64",
    )
    broken = {**document, "permissions": {"id-token": "everything"}}
    job = {k: v for k, v in document["jobs"]["push"].items() if k != "runs-on"}
    verdicts = schema_errors_of(
        {
            "valid": ci.dump_workflow(document),
            "bad-permission": ci.dump_workflow(broken),
            "no-runs-on": ci.dump_workflow({**document, "jobs": {"push": job}}),
        },
        tmp_path,
    )
    assert verdicts["valid"] == ""
    assert "id-token" in verdicts["bad-permission"], verdicts
    assert "runs-on" in verdicts["no-runs-on"], verdicts
    # And one file alone, as schema_errors judges it.
    assert schema_errors(ci.dump_workflow(broken), tmp_path) != ""


@pytest.mark.parametrize(("cloud", "config"), ZIZMOR_CASES)
def test_workflow_passes_zizmor(cloud: str, config: dict[str, str]) -> None:
    """No finding on zizmor's default persona; on the pedantic one, no excessive-permissions
    (undocumented-permissions asks for YAML comments, which a dumped document cannot carry)."""
    text = ci_run(cloud, config).outputs["ciWorkflow"]
    # The mirror's cases judge the build step with its build arguments, as the mirror writes it.
    assert ("build-args" in _build_step(text)["with"]) == ("mirror" in config)
    judged, findings, pedantic_findings = _zizmor_verdicts()[case_name(cloud, config)]
    assert judged == text, "the shared run judged another workflow"
    assert findings == []
    pedantic = {f["ident"] for f in pedantic_findings}
    assert "excessive-permissions" not in pedantic, pedantic


def test_zizmor_can_fail(tmp_path: Path) -> None:
    """The zizmor checks bite: permissions at workflow level, and a checkout that keeps its
    credentials."""
    document = ci.workflow(
        CiSettings(REPO),
        cloud_name="x",
        login_steps=[],
        repo_endpoint="r/app",
        platform="linux/amd64",
    )
    job = dict(document["jobs"]["push"])
    workflow_level = {**document, "permissions": job.pop("permissions"), "jobs": {"push": job}}
    pedantic = zizmor_findings(ci.dump_workflow(workflow_level), tmp_path, "--persona=pedantic")
    assert "excessive-permissions" in {f["ident"] for f in pedantic}
    steps = [dict(step) for step in document["jobs"]["push"]["steps"]]
    steps[0]["with"] = {}
    kept = {**document, "jobs": {"push": {**document["jobs"]["push"], "steps": steps}}}
    # In one run, as the shared verdicts are: the clean file gets none of the other's findings.
    findings = zizmor_findings_of(
        {"clean": ci.dump_workflow(document), "kept": ci.dump_workflow(kept)}, tmp_path
    )
    assert findings["clean"] == []
    assert "artipacked" in {f["ident"] for f in findings["kept"]}


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
def test_ci_build_takes_its_base_image_from_the_mirror(cloud: str) -> None:
    """With the mirror on, the CI build does what the stack's own build does: no Docker Hub."""
    run = ci_run(cloud, {"mirror": "true"})
    outputs = run.outputs
    workflow = outputs["ciWorkflow"]
    assert schema_verdict(cloud, {"mirror": "true"}, workflow) == ""
    build_args = _build_step(workflow)["with"].get("build-args")
    assert build_args == f"BASE_IMAGE={outputs['mirrorEndpoint']}/nginx", build_args
    (image,) = [r for r in run.resources if r.typ == "docker:index/image:Image"]
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
    # The stack's cache prefix, `ecr-public-<stack suffix>` (docs/mirror.md): 8 hex digits of a
    # SHA-256 over project and stack, written out as test_aws's STACK_SUFFIX is.
    suffix = hashlib.sha256(f"{PROJECT}\0{STACK}".encode()).hexdigest()[:8]
    cache = f"arn:aws:ecr:{AWS_REGION}:{ACCOUNT}:repository/ecr-public-{suffix}/*"
    assert by_resource[cache] == {a.lower() for a in (*ECR_PULL, *ECR_PULL_THROUGH)}
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


# --------------------------------------------------------------------------- trust, evaluated
# Each cloud's trust is evaluated the way that cloud evaluates it, against the claims of tokens
# GitHub would issue: one that must pass and several that must not.

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# The audience azure/login asks GitHub for (Microsoft Learn, "Use GitHub Actions to connect to
# Azure": api://AzureADTokenExchange).
AZURE_AUDIENCE = "api://AzureADTokenExchange"


def github_token(
    *,
    owner_id: str = "1001",
    repository_id: str = "2002",
    ref: str = "refs/heads/main",
    environment: str | None = None,
    immutable: bool = True,
    aud: str = "sts.amazonaws.com",
    includes_ref: bool = False,
    workflow_file: str = "push-image.yml",
    event_name: str = "push",
) -> dict[str, str]:
    """The claims of a token for a job of acme/app (GitHub docs, "OpenID Connect reference":
    `sub` in the default template, the ID claims as strings; `environment` replaces the ref in
    `sub` for a job in an environment; `job_workflow_ref` is OWNER/REPO/<path>@REF). With
    `includes_ref`, `sub` in the repository template [repo, context, ref, job_workflow_ref]:
    the default `sub` followed by `:ref:<ref>:job_workflow_ref:<job_workflow_ref>`."""
    repository = f"acme@{owner_id}/app@{repository_id}" if immutable else "acme/app"
    context = f"environment:{environment}" if environment else f"ref:{ref}"
    job_workflow_ref = f"acme/app/.github/workflows/{workflow_file}@{ref}"
    custom = f":ref:{ref}:job_workflow_ref:{job_workflow_ref}" if includes_ref else ""
    claims = {
        "iss": GITHUB_ISSUER,
        "aud": aud,
        "sub": f"repo:{repository}:{context}{custom}",
        "repository": "acme/app",
        "repository_owner": "acme",
        "repository_id": repository_id,
        "repository_owner_id": owner_id,
        "ref": ref,
        "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
        "event_name": event_name,
        "job_workflow_ref": job_workflow_ref,
    }
    if environment:
        claims["environment"] = environment
    return claims


# What must be refused, whatever the cloud: another repository (a new one under the old name has
# another ID), another ref, the name-only form of the same repository.
REFUSED_TOKENS: dict[str, dict[str, Any]] = {
    "other repository ID": {"repository_id": "2003"},
    "other owner ID": {"owner_id": "1002"},
    "other ref": {"ref": "refs/heads/dev"},
    "a tag": {"ref": "refs/tags/v1"},
    "name-only form": {"immutable": False},
    "in an environment": {"environment": "production"},
}
REFUSED_IN_ENVIRONMENT: dict[str, dict[str, Any]] = {
    "other repository ID": {"repository_id": "2003", "environment": "production"},
    "name-only form": {"immutable": False, "environment": "production"},
    "other environment": {"environment": "staging"},
    "no environment": {},
    "other ref": {"environment": "production", "ref": "refs/heads/dev"},
    "default template": {"environment": "production", "includes_ref": False},
    "another workflow file": {"environment": "production", "workflow_file": "release.yml"},
}


def _glob(pattern: str, value: str) -> bool:
    """IAM's StringLike: '*' any run of characters, '?' one; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _iam_condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Every operator and key must hold; a key the request lacks fails (no ...IfExists here).
    Condition keys are case-insensitive, values case-sensitive (IAM User Guide, "IAM JSON
    policy elements: Condition operators", string condition operators)."""
    lowered = {key.lower(): value for key, value in context.items()}
    for operator, entries in condition.items():
        for key, expected in entries.items():
            values = expected if isinstance(expected, list) else [expected]
            actual = lowered.get(key.lower())
            if actual is None:
                return False
            if operator == "StringEquals":
                held = actual in values
            elif operator == "StringLike":
                held = any(_glob(v, actual) for v in values)
            else:
                raise AssertionError(f"the test's evaluator does not know {operator}")
            if not held:
                return False
    return True


# The GitHub claims IAM evaluates as `token.actions.githubusercontent.com:<claim>` condition keys
# besides `aud` and `sub` (IAM User Guide, "IAM and AWS STS condition context keys", "Available
# keys for AWS OIDC federation", GitHub; AWS What's New 2026-01, "AWS STS now supports validation
# of select identity provider specific claims from Google, GitHub, CircleCI and OCI"). Not
# `event_name`, and no claim outside this list.
AWS_GITHUB_KEYS = (
    "actor",
    "actor_id",
    "job_workflow_ref",
    "repository",
    "repository_id",
    "workflow",
    "ref",
    "environment",
    "enterprise_id",
)


def iam_admits(trust: Mapping[str, Any], provider_arn: str, claims: Mapping[str, str]) -> bool:
    """Would STS let this token assume the role? AWS exposes `<provider>:aud`, `<provider>:sub`
    and the claims of AWS_GITHUB_KEYS the token carries as condition keys, no other claim; a
    key the request lacks fails StringEquals; an explicit Deny wins."""
    context = {
        f"token.actions.githubusercontent.com:{key}": claims[key]
        for key in ("aud", "sub", *AWS_GITHUB_KEYS)
        if key in claims
    }
    allowed = False
    for statement in trust["Statement"]:
        actions = statement["Action"]
        actions = actions if isinstance(actions, list) else [actions]
        federated = statement.get("Principal", {}).get("Federated", [])
        federated = federated if isinstance(federated, list) else [federated]
        if "sts:AssumeRoleWithWebIdentity" not in actions or provider_arn not in federated:
            continue
        if not _iam_condition_holds(statement.get("Condition", {}), context):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def entra_admits(credential: Mapping[str, Any], claims: Mapping[str, str]) -> bool:
    """A federated identity credential matches issuer, audience and subject exactly,
    case-sensitively (Microsoft Learn, "Workload identity federation: considerations",
    and "workload-identities-github-immutable-subjects")."""
    return (
        credential["issuer"] == claims["iss"]
        and claims["aud"] in credential["audiences"]
        and credential["subject"] == claims["sub"]
    )


_PRINCIPAL_SET = re.compile(
    r"principalSet://iam\.googleapis\.com/projects/(?P<number>[0-9]+)/locations/global/"
    r"workloadIdentityPools/(?P<pool>[a-z0-9-]+)/attribute\.(?P<attribute>[a-z_]+)/(?P<value>.+)"
)


@functools.cache
def _cel_environment() -> celpy.Environment:
    """Made on first use, not on import: it builds CEL's parser, a quarter of a second."""
    return celpy.Environment()


@functools.cache
def _cel_program(expression: str) -> celpy.Runner:
    """One parse per expression: a test evaluates the same few against dozens of tokens, and the
    parse (lark) costs more than the evaluation. The runner keeps only the syntax tree; each
    evaluation gets a fresh evaluator."""
    return _cel_environment().program(_cel_environment().compile(expression))


def _cel(expression: str, activation: Mapping[str, Any]) -> Any:
    return _cel_program(expression).evaluate(dict(activation))


@functools.cache
def _mapped(
    mapping: tuple[tuple[str, str], ...], claims: tuple[tuple[str, str], ...]
) -> dict[str, str] | None:
    """The attribute mapping applied to a token's claims (None if it fails), once per mapping
    and token: every mode's provider maps alike, and each test asks it of the same tokens."""
    assertion = {"assertion": json_to_cel(dict(claims))}
    try:
        return {target: str(_cel(source, assertion)) for target, source in mapping}
    except CELEvalError:
        return None


def google_admits(
    provider: Mapping[str, Any], pool_id: str, member: str, claims: Mapping[str, str]
) -> bool:
    """Would Google's STS exchange this token, and is the result a member of the principal set
    the repository grants to? The attribute mapping is applied first; google.subject must not
    exceed 127 bytes; the attribute condition must evaluate to true (an error refuses); the
    principal set names a mapped attribute's value (Google Cloud, "Workload Identity
    Federation": attribute mappings, attribute conditions, principal identifiers)."""
    assertion = {"assertion": json_to_cel(dict(claims))}
    mapped = _mapped(
        tuple(provider["attributeMapping"].items()), tuple(sorted(dict(claims).items()))
    )
    if mapped is None:
        return False
    if len(mapped["google.subject"].encode()) > 127:
        return False
    attributes = {k.removeprefix("attribute."): v for k, v in mapped.items() if "attribute." in k}
    activation = {
        **assertion,
        "google": json_to_cel({"subject": mapped["google.subject"]}),
        "attribute": json_to_cel(attributes),
    }
    try:
        verdict = _cel(provider["attributeCondition"], activation)
        if not (isinstance(verdict, BoolType) and bool(verdict)):
            return False
    except CELEvalError:
        return False
    if claims["iss"] != provider["oidc"]["issuerUri"]:
        return False
    found = _PRINCIPAL_SET.fullmatch(member)
    assert found is not None, member
    return found["pool"] == pool_id and attributes.get(found["attribute"]) == found["value"]


def _admits(harness: Harness, cloud: str, claims: Mapping[str, str]) -> bool:
    """What the cloud the stack was deployed to says about a token."""
    if cloud == "aws":
        trust = json.loads(harness.one(ROLE).inputs["assumeRolePolicy"])
        provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
        return iam_admits(trust, provider_arn, claims)
    if cloud == "azure":
        return entra_admits(harness.one(FEDERATED).inputs, {**claims, "aud": AZURE_AUDIENCE})
    # The audience is the provider's own name by default (no allowedAudiences), which
    # google-github-actions/auth asks for; test_gcp_pool_provider_and_repository_grant checks
    # that none is set, so the evaluation here is about the repository, ref and subject.
    provider = harness.one(POOL_PROVIDER).inputs
    writer = next(r for r in harness.of_type(GAR_MEMBER) if r.inputs["role"] == WRITER_ROLE)
    pool_id = harness.one(POOL).inputs["workloadIdentityPoolId"]
    return google_admits(provider, pool_id, writer.inputs["member"], claims)


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_immutable_repository_is_trusted_for_its_ref_alone(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    values = deploy(harness, monkeypatch, cloud, ciRepository=IMMUTABLE)["ci"]
    assert values["subject"] == IMMUTABLE_MAIN
    assert values["subjectForm"] == "immutable"
    assert _admits(harness, cloud, github_token()), "the repository's own token is refused"
    for why, change in REFUSED_TOKENS.items():
        assert not _admits(harness, cloud, github_token(**change)), f"{cloud} admits {why}"


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_immutable_repository_is_trusted_in_its_environment_alone(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    deploy(
        harness, monkeypatch, cloud, ciRepository=IMMUTABLE, ciEnvironment="production", **TEMPLATE
    )
    assert _admits(harness, cloud, github_token(environment="production", includes_ref=True))
    for why, change in REFUSED_IN_ENVIRONMENT.items():
        token = github_token(**{"includes_ref": True, **change})
        assert not _admits(harness, cloud, token), f"{cloud} admits {why}"


def renamed_token(owner: str, name: str) -> dict[str, str]:
    """A push to main after a rename (or transfer): the same IDs, the new names, in `sub` too
    (GitHub docs, "OpenID Connect reference", "Immutable subject claims":
    `repo:OWNER@OWNER-ID/REPO@REPO-ID:...`, the names as they are when the token is issued)."""
    workflow = f"{owner}/{name}/.github/workflows/push-image.yml@refs/heads/main"
    return {
        **github_token(),
        "sub": f"repo:{owner}@1001/{name}@2002:ref:refs/heads/main",
        "repository": f"{owner}/{name}",
        "repository_owner": owner,
        # The workflow's own path carries the names too ("job_workflow_ref" in the same docs).
        "job_workflow_ref": workflow,
        "workflow_ref": workflow,
    }


RENAMES = {"repository renamed": ("acme", "web"), "owner renamed": ("acme-corp", "app")}


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_a_rename_locks_ci_out_on_every_cloud(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    """The IDs do not carry the trust across a rename: every cloud compares `sub`, which holds
    the names. On Google Cloud the writer grant's principal set names the repository by ID and
    would still match; the provider's condition, which pins `sub`, is what refuses."""
    deploy(harness, monkeypatch, cloud, ciRepository=IMMUTABLE)
    for why, (owner, name) in RENAMES.items():
        token = renamed_token(owner, name)
        assert not _admits(harness, cloud, token), f"{cloud} admits the token after: {why}"
        if cloud == "gcp":
            provider = harness.one(POOL_PROVIDER).inputs
            writer = next(r for r in harness.of_type(GAR_MEMBER) if r.inputs["role"] == WRITER_ROLE)
            pool_id = harness.one(POOL).inputs["workloadIdentityPoolId"]
            unconditioned = {**provider, "attributeCondition": "true"}
            assert google_admits(unconditioned, pool_id, writer.inputs["member"], token), why


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_after_a_rename_ci_repository_with_the_new_name_lets_ci_in_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    deploy(harness, monkeypatch, cloud, ciRepository="acme@1001/web@2002")
    assert _admits(harness, cloud, renamed_token("acme", "web"))
    assert not _admits(harness, cloud, github_token())  # the old name's token


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_name_only_repository_works_as_before(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    """acme/app: its name-only token passes as before, nothing wider; the immutable token of
    the same repository does not (what the warning is about)."""
    deploy(harness, monkeypatch, cloud)
    assert _admits(harness, cloud, github_token(immutable=False))
    assert not _admits(harness, cloud, github_token(immutable=False, ref="refs/heads/dev"))
    assert not _admits(harness, cloud, github_token())


# Every token below is written the way GitHub's docs write it ("OpenID Connect reference"):
# `sub` in the default template ("Example subject claims": `repo:ORG-NAME/REPO-NAME:ref:
# refs/heads/BRANCH`, `...:ref:refs/tags/TAG`, `...:environment:ENVIRONMENT-NAME`,
# `...:pull_request` for a pull request job without an environment, the environment's form for
# one with it; "Immutable subject claims": `repo:OWNER@OWNER-ID/REPO@REPO-ID:...`), and in the
# template include_claim_keys [repo, context, ref, job_workflow_ref] ("Customizing the subject
# claims": each key as `<key>:<value>`, `context` being the default suffix, the IDs kept in the
# `repo` segment); the older template [repo, context, ref] too, which the stack no longer trusts.
# `job_workflow_ref` is OWNER/REPO/.github/workflows/FILE@REF and `event_name` the event that
# started the run (the example token: "event_name": "workflow_dispatch"). A `pull_request_target`
# job runs for the base branch, so its `ref` is refs/heads/main (GitHub docs, "Events that
# trigger workflows", pull_request_target: GITHUB_REF is the default branch). The immutable form
# throughout; `_literal_token` derives the name-only one.
# name -> (sub, ref, environment, event_name, job_workflow_ref)
PUSH_IMAGE = "acme/app/.github/workflows/push-image.yml"
RELEASE = "acme/app/.github/workflows/release.yml"
PR_TARGET = "acme/app/.github/workflows/pr-target.yml"
LITERAL_TOKENS: dict[str, tuple[str, str, str | None, str, str]] = {
    "push main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main",
        "refs/heads/main",
        None,
        "push",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "push dev": (
        "repo:acme@1001/app@2002:ref:refs/heads/dev",
        "refs/heads/dev",
        None,
        "push",
        f"{PUSH_IMAGE}@refs/heads/dev",
    ),
    "push tag": (
        "repo:acme@1001/app@2002:ref:refs/tags/v1",
        "refs/tags/v1",
        None,
        "push",
        f"{PUSH_IMAGE}@refs/tags/v1",
    ),
    "pull request": (
        "repo:acme@1001/app@2002:pull_request",
        "refs/pull/7/merge",
        None,
        "pull_request",
        f"{PUSH_IMAGE}@refs/pull/7/merge",
    ),
    "pull request in production": (
        "repo:acme@1001/app@2002:environment:production",
        "refs/pull/7/merge",
        "production",
        "pull_request",
        f"{PUSH_IMAGE}@refs/pull/7/merge",
    ),
    "production on main": (
        "repo:acme@1001/app@2002:environment:production",
        "refs/heads/main",
        "production",
        "push",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "production on dev": (
        "repo:acme@1001/app@2002:environment:production",
        "refs/heads/dev",
        "production",
        "push",
        f"{PUSH_IMAGE}@refs/heads/dev",
    ),
    "staging on main": (
        "repo:acme@1001/app@2002:environment:staging",
        "refs/heads/main",
        "staging",
        "push",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    # Another workflow file of the repository on the trusted ref, and the same file started by
    # another event: what issue 27 found every cloud admitted.
    "another workflow on main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main",
        "refs/heads/main",
        None,
        "push",
        f"{RELEASE}@refs/heads/main",
    ),
    "another workflow on the tag": (
        "repo:acme@1001/app@2002:ref:refs/tags/v1",
        "refs/tags/v1",
        None,
        "push",
        f"{RELEASE}@refs/tags/v1",
    ),
    "schedule on main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main",
        "refs/heads/main",
        None,
        "schedule",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "workflow_run on main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main",
        "refs/heads/main",
        None,
        "workflow_run",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "issue_comment on main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main",
        "refs/heads/main",
        None,
        "issue_comment",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "another workflow in production on main": (
        "repo:acme@1001/app@2002:environment:production",
        "refs/heads/main",
        "production",
        "push",
        f"{RELEASE}@refs/heads/main",
    ),
    "schedule in production on main": (
        "repo:acme@1001/app@2002:environment:production",
        "refs/heads/main",
        "production",
        "schedule",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "pull_request_target in production": (
        "repo:acme@1001/app@2002:environment:production",
        "refs/heads/main",
        "production",
        "pull_request_target",
        f"{PR_TARGET}@refs/heads/main",
    ),
    "pull_request_target of push-image.yml in production": (
        "repo:acme@1001/app@2002:environment:production",
        "refs/heads/main",
        "production",
        "pull_request_target",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "template: push main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main:ref:refs/heads/main"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/main",
        "refs/heads/main",
        None,
        "push",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "template: push dev": (
        "repo:acme@1001/app@2002:ref:refs/heads/dev:ref:refs/heads/dev"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/dev",
        "refs/heads/dev",
        None,
        "push",
        f"{PUSH_IMAGE}@refs/heads/dev",
    ),
    "template: push tag": (
        "repo:acme@1001/app@2002:ref:refs/tags/v1:ref:refs/tags/v1"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/tags/v1",
        "refs/tags/v1",
        None,
        "push",
        f"{PUSH_IMAGE}@refs/tags/v1",
    ),
    "template: pull request": (
        "repo:acme@1001/app@2002:pull_request:ref:refs/pull/7/merge"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/pull/7/merge",
        "refs/pull/7/merge",
        None,
        "pull_request",
        f"{PUSH_IMAGE}@refs/pull/7/merge",
    ),
    "template: pull request in production": (
        "repo:acme@1001/app@2002:environment:production:ref:refs/pull/7/merge"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/pull/7/merge",
        "refs/pull/7/merge",
        "production",
        "pull_request",
        f"{PUSH_IMAGE}@refs/pull/7/merge",
    ),
    "template: production on main": (
        "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/main",
        "refs/heads/main",
        "production",
        "push",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "template: production on dev": (
        "repo:acme@1001/app@2002:environment:production:ref:refs/heads/dev"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/dev",
        "refs/heads/dev",
        "production",
        "push",
        f"{PUSH_IMAGE}@refs/heads/dev",
    ),
    "template: production on tag": (
        "repo:acme@1001/app@2002:environment:production:ref:refs/tags/v1"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/tags/v1",
        "refs/tags/v1",
        "production",
        "push",
        f"{PUSH_IMAGE}@refs/tags/v1",
    ),
    "template: staging on main": (
        "repo:acme@1001/app@2002:environment:staging:ref:refs/heads/main"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/main",
        "refs/heads/main",
        "staging",
        "push",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "template: another workflow on main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main:ref:refs/heads/main"
        f":job_workflow_ref:{RELEASE}@refs/heads/main",
        "refs/heads/main",
        None,
        "push",
        f"{RELEASE}@refs/heads/main",
    ),
    "template: another workflow on the tag": (
        "repo:acme@1001/app@2002:ref:refs/tags/v1:ref:refs/tags/v1"
        f":job_workflow_ref:{RELEASE}@refs/tags/v1",
        "refs/tags/v1",
        None,
        "push",
        f"{RELEASE}@refs/tags/v1",
    ),
    "template: schedule on main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main:ref:refs/heads/main"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/main",
        "refs/heads/main",
        None,
        "schedule",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "template: workflow_run on main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main:ref:refs/heads/main"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/main",
        "refs/heads/main",
        None,
        "workflow_run",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "template: issue_comment on main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main:ref:refs/heads/main"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/main",
        "refs/heads/main",
        None,
        "issue_comment",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "template: another workflow in production on main": (
        "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main"
        f":job_workflow_ref:{RELEASE}@refs/heads/main",
        "refs/heads/main",
        "production",
        "push",
        f"{RELEASE}@refs/heads/main",
    ),
    "template: schedule in production on main": (
        "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/main",
        "refs/heads/main",
        "production",
        "schedule",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "template: pull_request_target in production": (
        "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main"
        f":job_workflow_ref:{PR_TARGET}@refs/heads/main",
        "refs/heads/main",
        "production",
        "pull_request_target",
        f"{PR_TARGET}@refs/heads/main",
    ),
    "template: pull_request_target of push-image.yml in production": (
        "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main"
        f":job_workflow_ref:{PUSH_IMAGE}@refs/heads/main",
        "refs/heads/main",
        "production",
        "pull_request_target",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    # The template of issue 11, [repo, context, ref]: a repository still on it is refused.
    "old template: push main": (
        "repo:acme@1001/app@2002:ref:refs/heads/main:ref:refs/heads/main",
        "refs/heads/main",
        None,
        "push",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
    "old template: production on main": (
        "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main",
        "refs/heads/main",
        "production",
        "push",
        f"{PUSH_IMAGE}@refs/heads/main",
    ),
}
WORKFLOW_NAMES = {PUSH_IMAGE: "Push image", RELEASE: "Release", PR_TARGET: "Label pull requests"}


def _literal_token(name: str, *, name_only: bool = False) -> dict[str, str]:
    """The claims of LITERAL_TOKENS[name]; `name_only` rewrites the `repo` segment the way a
    repository without immutable subjects gets it (`repo:ORG-NAME/REPO-NAME`)."""
    sub, ref, environment, event, job_workflow_ref = LITERAL_TOKENS[name]
    if name_only:
        sub = sub.replace("repo:acme@1001/app@2002:", "repo:acme/app:")
    claims = {
        "iss": GITHUB_ISSUER,
        "aud": "sts.amazonaws.com",
        "sub": sub,
        "repository": "acme/app",
        "repository_owner": "acme",
        "repository_id": "2002",
        "repository_owner_id": "1001",
        "actor": "octocat",
        "actor_id": "12",
        "ref": ref,
        "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
        "event_name": event,
        "job_workflow_ref": job_workflow_ref,
        "workflow": WORKFLOW_NAMES[job_workflow_ref.split("@")[0]],
    }
    if environment is not None:
        claims["environment"] = environment
    return claims


ALL_LITERAL_TOKENS = [(n, no) for n in LITERAL_TOKENS for no in (False, True)]
# (cloud or "all", stack config, the one token of the generated workflow it trusts, as (name,
# name-only form)).
TRUST_MODES: list[tuple[str, dict[str, str], tuple[str, bool]]] = [
    ("all", {"ciRepository": IMMUTABLE}, ("push main", False)),
    ("all", {"ciRepository": REPO}, ("push main", True)),
    ("all", {"ciRepository": IMMUTABLE, "ciRef": "refs/tags/v1"}, ("push tag", False)),
    ("all", {"ciRepository": IMMUTABLE, **TEMPLATE}, ("template: push main", False)),
    (
        "all",
        {"ciRepository": IMMUTABLE, "ciRef": "refs/tags/v1", **TEMPLATE},
        ("template: push tag", False),
    ),
    (
        "all",
        {"ciRepository": IMMUTABLE, "ciEnvironment": "production", **TEMPLATE},
        ("template: production on main", False),
    ),
    (
        "all",
        {"ciRepository": REPO, "ciEnvironment": "production", **TEMPLATE},
        ("template: production on main", True),
    ),
    (
        "all",
        {
            "ciRepository": IMMUTABLE,
            "ciEnvironment": "production",
            "ciRef": "refs/tags/v1",
            **TEMPLATE,
        },
        ("template: production on tag", False),
    ),
    # Google Cloud checks `assertion.ref` itself, so it takes the default template too.
    (
        "gcp",
        {"ciRepository": IMMUTABLE, "ciEnvironment": "production"},
        ("production on main", False),
    ),
]
TRUST_CASES = [
    pytest.param(cloud, config, trusted, id=f"{cloud}-{'-'.join(config.values())}")
    for where, config, trusted in TRUST_MODES
    for cloud in (CI_CLOUDS if where == "all" else (where,))
]


def _seen_alike(cloud: str, one: Mapping[str, str], other: Mapping[str, str]) -> bool:
    """Whether the cloud sees the two tokens as the same: every claim it can evaluate is equal.
    IAM sees `aud`, `sub` and AWS_GITHUB_KEYS; Entra ID the issuer, the audience and `sub`
    alone (Microsoft Learn, "Workload identity federation: considerations"); Google's CEL
    condition every claim of the token."""
    keys = {
        "aws": ("iss", "aud", "sub", *AWS_GITHUB_KEYS),
        "azure": ("iss", "aud", "sub"),
        "gcp": tuple(one.keys() | other.keys()),
    }[cloud]
    return all(one.get(key) == other.get(key) for key in keys)


@pytest.mark.parametrize(("cloud", "config", "trusted"), TRUST_CASES)
def test_each_mode_trusts_the_workflow_and_refuses_every_other_token(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    cloud: str,
    config: dict[str, str],
    trusted: tuple[str, bool],
) -> None:
    """Branch, tag and environment modes, each repository form and template, evaluated as the
    cloud evaluates them: the generated workflow's own token passes; so does every token the
    cloud cannot tell from it (it sees the same value of every claim it can evaluate), and no
    other: another branch, a tag, a pull request with or without the environment, another
    branch naming the same environment, the other repository form, the old template, another
    workflow file on the same ref, a pull_request_target job naming the environment, and, on
    Google Cloud, the same workflow under schedule, workflow_run or issue_comment."""
    deploy(harness, monkeypatch, cloud, **config)
    name, name_only = trusted
    own = _literal_token(name, name_only=name_only)
    assert _admits(harness, cloud, own), f"{trusted}"
    admitted = {
        token
        for token in ALL_LITERAL_TOKENS
        if _admits(harness, cloud, _literal_token(token[0], name_only=token[1]))
    }
    alike = {
        token
        for token in ALL_LITERAL_TOKENS
        if _seen_alike(cloud, own, _literal_token(token[0], name_only=token[1]))
    }
    assert admitted == alike, f"{cloud} with {config}: admits {admitted - alike}, not {alike}"
    # What issue 27 asks, by name: exactly the workflow's own token where the cloud can tell.
    others = {t for t in admitted if t != trusted}
    if cloud == "gcp":
        assert others == set(), others
    for token, _ in others:
        claims = _literal_token(token)
        assert claims["job_workflow_ref"] == own["job_workflow_ref"] or (
            cloud == "azure" and "ciSubjectIncludesRef" not in config
        ), f"{cloud} admits another workflow file: {token}"
        assert claims["event_name"] != "pull_request_target" or (
            claims["job_workflow_ref"] == own["job_workflow_ref"]
        ), token


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_an_environment_without_the_ref_template_is_refused_before_anything_exists(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    """AWS and Azure compare `sub` alone: the default environment subject would admit a job on
    any branch naming the environment, so the stack stops, names the key and prints the
    command that sets the template (GitHub REST API, "Set the customization template for an
    OIDC subject claim for a repository")."""
    with pytest.raises(SettingsError) as caught:
        deploy(harness, monkeypatch, cloud, ciRepository=IMMUTABLE, ciEnvironment="production")
    assert caught.value.key == "ciSubjectIncludesRef"
    message = str(caught.value)
    assert (
        "gh api --method PUT repos/acme/app/actions/oidc/customization/sub -F use_default=false "
        "-f 'include_claim_keys[]=repo' -f 'include_claim_keys[]=context' "
        "-f 'include_claim_keys[]=ref' -f 'include_claim_keys[]=job_workflow_ref'"
    ) in message
    assert (
        "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main:job_workflow_ref:"
        f"{JOB_WORKFLOW_REF}"
    ) in message
    assert harness.resources == []


def test_gcp_with_ids_grants_the_repository_by_id(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(harness, monkeypatch, "gcp", ciRepository=IMMUTABLE)
    provider = harness.one(POOL_PROVIDER).inputs
    assert provider["attributeCondition"] == (
        'assertion.repository_owner_id == "1001" && assertion.repository_id == "2002" && '
        f'assertion.ref == "refs/heads/main" && assertion.job_workflow_ref == "{JOB_WORKFLOW_REF}"'
        ' && assertion.event_name in ["push", "workflow_dispatch"] && '
        f'assertion.sub == "{IMMUTABLE_MAIN}"'
    )
    members = {m.inputs["member"] for m in harness.of_type(GAR_MEMBER)}
    pool_id = harness.one(POOL).inputs["workloadIdentityPoolId"]
    assert members == {
        "principalSet://iam.googleapis.com/projects/123456789012/locations/global/"
        f"workloadIdentityPools/{pool_id}/attribute.repository_id/2002"
    }


@pytest.mark.parametrize("ref", ["refs/heads/main", "refs/tags/v1"])
def test_gcp_admits_exactly_the_events_the_generated_workflow_runs_on(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, ref: str
) -> None:
    """The events Google's condition allows are the `on:` keys of the workflow the same stack
    exports: a run of each of them passes, a run of any other event GitHub documents as able
    to start this file does not ("Events that trigger workflows")."""
    text = _workflow(harness, monkeypatch, "gcp", ciRepository=IMMUTABLE, ciRef=ref)
    events = set(yaml.safe_load(text)["on"])
    assert events == {"push", "workflow_dispatch"}
    others = {
        "schedule",
        "workflow_run",
        "issue_comment",
        "pull_request_target",
        "repository_dispatch",
    }
    for event in sorted(events | others):
        token = github_token(ref=ref, event_name=event)
        assert _admits(harness, "gcp", token) == (event in events), event


def test_the_evaluators_can_refuse() -> None:
    """Each evaluator refuses what its cloud refuses: a wildcard the trust does not hold, a
    condition that errs on a missing claim, a subject over 127 bytes."""
    arn = "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}},
    }
    trust = {"Statement": [statement]}
    assert iam_admits(trust, arn, github_token(immutable=False))
    assert not iam_admits(trust, arn, github_token())
    assert not iam_admits(trust, arn.replace("::1:", "::2:"), github_token(immutable=False))
    denied = {"Statement": [statement, {**statement, "Effect": "Deny"}]}
    assert not iam_admits(denied, arn, github_token(immutable=False))
    provider = {
        "attributeMapping": {"google.subject": "assertion.sub"},
        "attributeCondition": 'assertion.environment == "production"',
        "oidc": {"issuerUri": GITHUB_ISSUER},
    }
    member = (
        "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/"
        "p/attribute.repository/acme/app"
    )
    provider["attributeMapping"]["attribute.repository"] = "assertion.repository"
    assert google_admits(provider, "p", member, github_token(environment="production"))
    assert not google_admits(provider, "p", member, github_token())  # no environment claim
    assert not google_admits(provider, "q", member, github_token(environment="production"))
    long_ref = github_token(environment="e" * 100)
    assert not google_admits({**provider, "attributeCondition": "true"}, "p", member, long_ref)


def test_azure_ci_in_a_region_without_federation_creates_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Microsoft Learn, "Important considerations and restrictions for federated identity
    credentials": New Zealand North cannot federate a user-assigned identity (405)."""
    with pytest.raises(SettingsError) as caught:
        deploy(harness, monkeypatch, "azure", **{"azure-native__location": "newzealandnorth"})
    assert caught.value.key == "azure-native:location"
    assert harness.resources == []


@pytest.mark.parametrize("cloud", CI_CLOUDS)
def test_workflow_says_which_subject_and_template_the_cloud_trusts(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str
) -> None:
    text = _workflow(
        harness, monkeypatch, cloud, ciRepository=IMMUTABLE, ciEnvironment="production", **TEMPLATE
    )
    header = text.split("\nname:", 1)[0]
    assert (
        "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main:job_workflow_ref:"
        f"{JOB_WORKFLOW_REF}"
    ) in header
    assert 'include_claim_keys ["repo", "context", "ref", "job_workflow_ref"]' in header
    assert f"job_workflow_ref is {JOB_WORKFLOW_REF}" in header
    # The harness keeps config between runs: unset the environment and the template.
    default = _workflow(harness, monkeypatch, cloud, ciEnvironment="", ciSubjectIncludesRef="false")
    assert "GitHub's default OIDC subject template" in default.split("\nname:", 1)[0]
