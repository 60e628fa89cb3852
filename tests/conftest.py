"""The one Pulumi mocks fixture, plus helpers to resolve Outputs and to look at what was registered.

The mocks answer with the camelCase wire names a real provider returns (`repositoryUrl`,
`userName`, ...). An invoke the mocks do not know fails the test instead of returning nothing.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import functools
import gc
import hashlib
import json
import runpy
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

import bcrypt
import hypothesis
import pulumi
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.sync_await import _sync_await

from stack.config.keys import PROVIDER_KEYS, SECRET_KEYS
from tests.engine.ci_guard import EngineTestGuard

# Time limits measure the machine, not the code: CI shares two cores with a Docker engine and
# image builds, where hypothesis's 200 ms deadline and its "input generation is slow" check
# fail tests at random. The properties are checked on every example all the same.
hypothesis.settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("shared-machine")


# Tests that share one costly thing run in one worker of a parallel run (pytest-xdist), by the
# start of their node ID: the engine tests (session fixtures that build images, one Docker
# engine), the package tests (one wheel build, a module fixture), the tests that read the
# fresh-interpreter runs (_fresh_program_runs, made once per worker), and those that read the
# check-jsonschema and zizmor verdicts on the CI workflows (tests/test_ci.py, one run of each
# tool for all). Not `xdist_group` marks: with pytest 9.2, xdist 3.8's loadgroup drops them (it
# rewrites item._nodeid, which pytest no longer reads; pytest-dev/pytest-xdist#1386), and the
# tests are spread as if unmarked.
WORKER_GROUPS = {
    "tests/engine/": "engine",
    "tests/test_package.py::": "package",
    "tests/test_azure.py::test_azure_stack_loads_no_other_cloud_sdk": "fresh-program-runs",
    "tests/test_gcp.py::test_only_the_gcp_sdk_is_imported": "fresh-program-runs",
    "tests/test_local.py::test_no_cloud_sdk_is_loaded_for_the_local_target": "fresh-program-runs",
    "tests/test_program.py::test_a_stack_loads_only_its_own_cloud_sdk": "fresh-program-runs",
    "tests/test_ci.py::test_workflow_validates_and_holds_what_a_push_needs": "workflow-checks",
    "tests/test_ci.py::test_workflow_passes_zizmor": "workflow-checks",
    "tests/test_ci.py::test_ci_build_takes_its_base_image_from_the_mirror": "workflow-checks",
}


def worker_group(nodeid: str) -> str:
    """The unit of work a node ID belongs to: its group, or the test alone."""
    return next(
        (group for start, group in WORKER_GROUPS.items() if nodeid.startswith(start)), nodeid
    )


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's load-by-scope scheduler (xdist/scheduler/loadscope.py), its scope being
    worker_group: a group goes to one worker whole, every other test alone to whichever worker
    is free."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return GroupScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    """The engine tests' CI guard and count, in every run and every process, including the
    parallel run's controller, which never loads tests/engine/conftest.py."""
    config.pluginmanager.register(EngineTestGuard(), "engine-test-guard")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Python's cyclic garbage collector took a fifth of the suite's CPU: the cloud SDKs' modules
    are hundreds of thousands of objects, which each full collection walks again, and the mock
    program runs make young objects fast enough to start thousands of collections. The objects
    alive once the tests are collected (modules, mostly) are moved out of its reach, and it runs
    less often (the thresholds of gc.set_threshold; Python's default is 700, 10, 10). It still
    collects everything a test leaves behind."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


ROOT = Path(__file__).resolve().parent.parent
PROJECT = "container-registry"
STACK = "dev"

ACCOUNT = "123456789012"
AWS_REGION = "eu-west-1"
ECR_PASSWORD = "mock-ecr-token-Zm9vYmFy"
ACR_PASSWORDS = ("mock-acr-password-one", "mock-acr-password-two")
GCP_TOKEN = "ya29.mock-gcp-access-token"
# What azure-native's getClientConfig answers; a test may change it (monkeypatch.setitem).
AZURE_CLIENT: dict[str, str] = {
    "subscriptionId": "3f1c9a52-7d4e-4b8a-9c61-2e5d8f0a7b13",
    "tenantId": "9b2e4c71-0a5f-4d3e-8b16-7c4f2a9e1d05",
    "clientId": "5e8d1f3a-2b7c-4a90-b6e4-1d9c3f7a8e22",
    "objectId": "c4a7e2d9-8f1b-4e63-a5d0-6b3f9e2c1a78",
}
# The name the mocks give a resource group created without resourceGroupName.
AZURE_AUTO_GROUP = "registry-rg-mock0001"
# What azure-native's getClientToken answers: an ARM access token, a credential.
AZURE_ARM_TOKEN = "mock-arm-access-token-eyJ0eXAi"
# The registry's properties as ARM answers its GET (container_registry/azure/mode.py reads the
# role assignment mode there); a test may change them (monkeypatch.setitem). Classic RBAC is
# what Azure gives a registry created without the property.
AZURE_REGISTRY_PROPERTIES: dict[str, str] = {"roleAssignmentMode": "LegacyRegistryPermissions"}
# Every ARM GET over HTTP of the run: (url, token). Under the mocks the registry is read with the
# invoke azure-native:resources:getResource instead (INVOKES); a test that forces the HTTP read
# sets container_registry.azure.mode.answered_by_mocks to answer False.
ARM_GETS: list[tuple[str, str]] = []


def arm_get(url: str, token: str) -> dict[str, Any]:
    """Stands in for container_registry.azure.mode.get_registry: HTTP is not a Pulumi invoke, so
    the mocks cannot answer it."""
    ARM_GETS.append((url, token))
    return {"id": url.split("?")[0], "properties": dict(AZURE_REGISTRY_PROPERTIES)}


RANDOM_PASSWORD = "mock-random-password-3f9c2a7b1e"
# Every credential the mocks hand out: none may show up in a non-secret output.
SECRET_VALUES: tuple[str, ...] = (ECR_PASSWORD, *ACR_PASSWORDS, GCP_TOKEN, RANDOM_PASSWORD)

T = TypeVar("T")


def _digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _image(inputs: dict[str, Any]) -> dict[str, Any]:
    name: str = inputs["imageName"]
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    return {"repoDigest": f"{repository}@{_digest_of(name)}", "registryServer": name.split("/")[0]}


def _ecr_repository(inputs: dict[str, Any]) -> dict[str, Any]:
    name = inputs["name"]
    return {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{AWS_REGION}.amazonaws.com/{name}",
        "registryId": ACCOUNT,
        "arn": f"arn:aws:ecr:{AWS_REGION}:{ACCOUNT}:repository/{name}",
    }


def _acr_registry(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "loginServer": f"{inputs['registryName'].lower()}.azurecr.io",
        "name": inputs["registryName"],
    }


def _gar_repository(inputs: dict[str, Any]) -> dict[str, Any]:
    project = inputs.get("project", "mock-project")
    return {
        "name": f"projects/{project}/locations/{inputs['location']}/repositories/"
        f"{inputs['repositoryId']}",
        "project": project,
    }


# Keyless CI push (issue 11): the computed outputs of the identities and pools.
AZURE_SUBSCRIPTION = AZURE_CLIENT["subscriptionId"]
AZURE_TENANT = AZURE_CLIENT["tenantId"]
GCP_PROJECT_NUMBER = "123456789012"
# The principal of the ACR credential set's system-assigned identity (the mirror's login).
CREDENTIAL_SET_PRINCIPAL = "e1d2c3b4-a596-4877-8a9b-0c1d2e3f4a5b"


def _aws_iam_arn(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def outputs(inputs: dict[str, Any]) -> dict[str, Any]:
        name = inputs.get("name") or "mock-role-1a2b3c"
        if kind == "oidc-provider":
            name = inputs["url"].removeprefix("https://")
        return {"arn": f"arn:aws:iam::{ACCOUNT}:{kind}/{name}", "name": name}

    return outputs


def _user_assigned_identity(inputs: dict[str, Any]) -> dict[str, Any]:
    seed = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    guid = f"{seed[:8]}-{seed[8:12]}-{seed[12:16]}-{seed[16:20]}-{seed[20:32]}"
    return {
        "name": inputs.get("resourceName", "registry-ci-identity-mock01"),
        "principalId": guid,
        "clientId": f"c{guid[1:]}",
        "tenantId": AZURE_TENANT,
    }


def _workload_identity_pool(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
        f"{inputs['workloadIdentityPoolId']}",
        "state": "ACTIVE",
    }


def _workload_identity_pool_provider(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
        f"{inputs['workloadIdentityPoolId']}/providers/"
        f"{inputs['workloadIdentityPoolProviderId']}",
        "state": "ACTIVE",
    }


def _random_password(inputs: dict[str, Any]) -> dict[str, Any]:
    hashed = bcrypt.hashpw(RANDOM_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    return {"result": RANDOM_PASSWORD, "bcryptHash": hashed}


# Computed outputs per resource type, merged over the inputs the program sent.
RESOURCE_OUTPUTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "gcp:projects/serviceIdentity:ServiceIdentity": lambda inputs: {
        "email": f"service-{GCP_PROJECT_NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com",
        "member": f"serviceAccount:service-{GCP_PROJECT_NUMBER}"
        "@gcp-sa-artifactregistry.iam.gserviceaccount.com",
    },
    "aws:ecr/repository:Repository": _ecr_repository,
    "docker:index/image:Image": _image,
    "azure-native:containerregistry:Registry": _acr_registry,
    "gcp:artifactregistry/repository:Repository": _gar_repository,
    "random:index/randomPassword:RandomPassword": _random_password,
    "docker:index/remoteImage:RemoteImage": lambda inputs: {
        "imageId": _digest_of(inputs["name"]),
        "repoDigest": f"{inputs['name'].split(':')[0]}@{_digest_of(inputs['name'])}",
    },
    # azure-native auto-names a resource group created without resourceGroupName.
    "azure-native:resources:ResourceGroup": lambda inputs: {
        "name": inputs.get("resourceGroupName", AZURE_AUTO_GROUP)
    },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _aws_iam_arn("oidc-provider"),
    "aws:iam/role:Role": _aws_iam_arn("role"),
    "azure-native:managedidentity:UserAssignedIdentity": _user_assigned_identity,
    # ACR gives a credential set's system-assigned identity its principal on creation.
    "azure-native:containerregistry:CredentialSet": lambda inputs: {
        "identity": {
            **inputs.get("identity", {}),
            "principalId": CREDENTIAL_SET_PRINCIPAL,
            "tenantId": AZURE_TENANT,
        }
    },
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": _workload_identity_pool,
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": (
        _workload_identity_pool_provider
    ),
    "random:index/randomId:RandomId": lambda inputs: {
        "hex": "a1b2c3"[: 2 * int(inputs.get("byteLength", 3))].ljust(
            2 * int(inputs.get("byteLength", 3)), "0"
        ),
    },
}

INVOKES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
        "userId": "AIDAMOCK",
        "id": ACCOUNT,
    },
    "aws:index/getPartition:getPartition": lambda _: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda args: {
        "userName": "AWS",
        "password": ECR_PASSWORD,
        "authorizationToken": base64.b64encode(f"AWS:{ECR_PASSWORD}".encode()).decode(),
        "proxyEndpoint": f"https://{args.get('registryId', ACCOUNT)}.dkr.ecr.{AWS_REGION}"
        ".amazonaws.com",
        "expiresAt": "2026-11-27T16:00:00Z",
        "id": AWS_REGION,
    },
    "azure-native:containerregistry:listRegistryCredentials": lambda args: {
        "username": args["registryName"],
        "passwords": [
            {"name": "password", "value": ACR_PASSWORDS[0]},
            {"name": "password2", "value": ACR_PASSWORDS[1]},
        ],
    },
    "azure-native:authorization:getClientConfig": lambda _: dict(AZURE_CLIENT),
    "azure-native:authorization:getClientToken": lambda _: {"token": AZURE_ARM_TOKEN},
    # The registry read at the API version that has roleAssignmentMode: what ARM answers a GET of
    # the registry (container_registry/azure/mode.py asks the mocks with this invoke).
    "azure-native:resources:getResource": lambda args: {
        "id": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{args['resourceGroupName']}"
        f"/providers/Microsoft.ContainerRegistry/registries/{args['resourceName']}",
        "name": args["resourceName"],
        "type": "Microsoft.ContainerRegistry/registries",
        "location": "westeurope",
        "properties": dict(AZURE_REGISTRY_PROPERTIES),
    },
    "azure-native:resources:getResourceGroup": lambda args: {
        "name": args["resourceGroupName"],
        "location": "westeurope",
        "id": f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
        f"{args['resourceGroupName']}",
    },
    "aws:index/getRegion:getRegion": lambda _: {
        "region": AWS_REGION,
        "name": AWS_REGION,
        "endpoint": f"ec2.{AWS_REGION}.amazonaws.com",
        "description": "Europe (Ireland)",
        "id": AWS_REGION,
    },
    "gcp:organizations/getClientConfig:getClientConfig": lambda _: {
        "accessToken": GCP_TOKEN,
        "project": "mock-project",
        "region": "us-central1",
        "zone": "us-central1-a",
        "id": "mock",
    },
}


def unwrap_secrets(value: Any, path: str = "", found: list[str] | None = None) -> Any:
    """Inputs as the provider would read them, with the paths that arrived as secrets noted."""
    found = [] if found is None else found
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:  # noqa: SLF001
            found.append(path or ".")
            return unwrap_secrets(value["value"], path, found)
        return {k: unwrap_secrets(v, f"{path}.{k}" if path else k, found) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


@dataclass
class Registered:
    """One resource the program registered: what the provider got, and its resource options."""

    typ: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    custom: bool
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    secret_paths: list[str] = field(default_factory=list)
    provider: str = ""
    """The explicit provider reference (`<provider urn>::<id>`), empty for the default one."""
    ignore_changes: list[str] = field(default_factory=list)


class RegistryMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.secret_paths: dict[tuple[str, str], list[str]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        secret_paths: list[str] = []
        inputs = unwrap_secrets(dict(args.inputs), found=secret_paths)
        self.inputs[(args.typ, args.name)] = inputs
        self.secret_paths[(args.typ, args.name)] = secret_paths
        outputs = dict(inputs)
        computed = RESOURCE_OUTPUTS.get(args.typ)
        if computed is not None:
            outputs.update(computed(inputs))
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append((args.token, dict(args.args)))
        if args.token not in INVOKES:
            raise AssertionError(f"the mocks do not know the invoke {args.token}")
        return INVOKES[args.token](args.args), []


class RecordingMonitor(MockMonitor):
    """A MockMonitor that also keeps each registration's parent and resource options."""

    def __init__(self, mocks: RegistryMocks) -> None:
        super().__init__(mocks)
        self.registry_mocks = mocks
        self.requests: list[Any] = []
        self.registered_outputs: dict[str, set[str]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.requests.append((request, response.urn))
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        self.registered_outputs[request.urn] = set(request.outputs.fields)
        return super().RegisterResourceOutputs(request)

    def registered(self) -> list[Registered]:
        return [
            Registered(
                typ=request.type,
                name=request.name,
                urn=urn,
                parent=request.parent,
                inputs=self.registry_mocks.inputs.get((request.type, request.name), {}),
                custom=request.custom,
                protect=request.HasField("protect") and request.protect,
                retain_on_delete=request.HasField("retainOnDelete") and request.retainOnDelete,
                dependencies=list(request.dependencies),
                secret_paths=self.registry_mocks.secret_paths.get((request.type, request.name), []),
                provider=request.provider,
                ignore_changes=list(request.ignoreChanges),
            )
            for request, urn in self.requests
        ]


@dataclass
class Harness:
    """What a test drives: config in, registered resources and calls out."""

    monitor: RecordingMonitor
    config: dict[str, str] = field(default_factory=dict)

    def configure(self, **values: str) -> None:
        """Set config: project keys by bare name, provider keys as `gcp__project`."""
        for key, value in values.items():
            qualified = key.replace("__", ":") if "__" in key else f"{PROJECT}:{key}"
            self.config[qualified] = value
        pulumi.runtime.set_all_config(dict(self.config))

    @property
    def resources(self) -> list[Registered]:
        """Every registration so far. Registrations reach the mocks asynchronously, so the
        in-flight ones are awaited first: otherwise "nothing was registered" could not fail."""
        _sync_await(pulumi.runtime.stack.wait_for_rpcs())
        return self.monitor.registered()

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str) -> Registered:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]

    def run_program(self) -> dict[str, Any]:
        """Run __main__.py as `pulumi up` would and return the stack's exported Outputs."""
        sys.path.insert(0, str(ROOT))
        try:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(str(ROOT))
        root = pulumi.runtime.get_root_resource()
        assert root is not None
        return dict(root.outputs)  # type: ignore[attr-defined]


def resolve(output: pulumi.Input[T]) -> T:
    """The value of an Output, after every registration it depends on has finished."""
    return _sync_await(pulumi.Output.from_input(output).future())  # type: ignore[return-value]


def is_secret(output: pulumi.Input[Any]) -> bool:
    return _sync_await(pulumi.Output.from_input(output).is_secret())


def assert_only_credentials_secret(outputs: dict[str, Any]) -> None:
    """`credentials` is a secret; every other output is plain and holds no mock credential."""
    assert is_secret(outputs["credentials"]), "credentials must be a Pulumi secret"
    for name, output in outputs.items():
        if name == "credentials":
            continue
        assert not is_secret(output), f"{name} is secret, so users cannot read it"
        shown = json.dumps(resolve(output))
        assert not any(secret in shown for secret in SECRET_VALUES), f"{name} leaks a secret"


@pytest.fixture(autouse=True)
def harness(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Harness]:
    """Fresh mocks, config and root stack for every test; provider env vars cleared, and an empty
    Docker config folder, so the developer's own Docker contexts never decide a test."""
    for env_vars in PROVIDER_KEYS.values():
        for env_var in env_vars:
            monkeypatch.delenv(env_var, raising=False)
    for env_var in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(env_var, raising=False)
    # docker-py finds the context store beside config.json, and in the working folder without one.
    # The test's own folder from tempfile, removed after it; not tmp_path, which numbers its
    # folders by listing every earlier one (a millisecond a test, over 2,000 tests).
    docker_config = Path(tempfile.mkdtemp(prefix="docker-config-"))
    request.addfinalizer(lambda: shutil.rmtree(docker_config, ignore_errors=True))
    (docker_config / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    monkeypatch.chdir(ROOT)
    pulumi.runtime.set_all_config({})
    set_root_resource(None)  # type: ignore[arg-type]
    mocks = RegistryMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
    # No Docker engine here: every program run checks a stub (tests/test_engine.py runs the
    # real check against engines that cannot answer and a fake Engine API).
    stub_engine(monkeypatch)
    ARM_GETS.clear()
    monkeypatch.setattr("container_registry.azure.mode.get_registry", arm_get)
    yield Harness(monitor=monitor)
    # Surface any registration that failed after the test's last await.
    _sync_await(pulumi.runtime.stack.wait_for_rpcs())


@contextmanager
def fresh_stack(config: Mapping[str, str]) -> Iterator[Harness]:
    """What the harness fixture does per test, per hypothesis example: new mocks, no root
    stack, this config; registrations are awaited on the way out."""
    set_root_resource(None)  # type: ignore[arg-type]
    mocks = RegistryMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
    stack = Harness(monitor=monitor)
    stack.config.update(
        {key if ":" in key else f"{PROJECT}:{key}": value for key, value in config.items()}
    )
    # A credential key is set with `pulumi config set --secret`: the engine names it secret.
    secret_keys = [f"{PROJECT}:{key}" for key in SECRET_KEYS if f"{PROJECT}:{key}" in stack.config]
    pulumi.runtime.set_all_config(dict(stack.config), secret_keys)
    try:
        yield stack
    finally:
        _sync_await(pulumi.runtime.stack.wait_for_rpcs())


# The provider config each target needs to run with its defaults (keys as Harness.configure takes).
TARGET_CONFIG: dict[str, dict[str, str]] = {
    "aws": {"cloud": "aws"},
    "azure": {"cloud": "azure", "azure-native__location": "westeurope"},
    "gcp": {"cloud": "gcp", "gcp__project": "my-project-123", "gcp__region": "europe-west4"},
    "local": {"cloud": "local"},
}


# What the stubbed engine reports as its architecture (`docker info`), unless a test says otherwise.
ENGINE_ARCHITECTURE = "x86_64"
# For programs run in a fresh interpreter: the same stub, as a line of Python.
STUB_ENGINE_SOURCE = (
    "import stack.config.engine; "
    f"stack.config.engine.probe_engine = lambda engine: (engine, {ENGINE_ARCHITECTURE!r})"
)


def stub_engine(
    monkeypatch: pytest.MonkeyPatch, architecture: str | None = ENGINE_ARCHITECTURE
) -> list[Any]:
    """No Docker engine here: the engine check answers with `architecture` and records the
    engines it was asked about."""
    asked: list[Any] = []

    def probe(engine: Any) -> tuple[Any, str | None]:
        asked.append(engine)
        return engine, architecture

    monkeypatch.setattr("stack.config.engine.probe_engine", probe)
    return asked


def run_target(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str, **config: str
) -> dict[str, Any]:
    """Run __main__.py for one target (Docker engine ping stubbed), resolve every output and
    return them; harness.resources awaits the registrations still in flight."""
    stub_engine(monkeypatch)
    harness.configure(**{**TARGET_CONFIG[cloud], **config})
    outputs = harness.run_program()
    for output in outputs.values():
        resolve(output)
    return outputs


@dataclass(frozen=True)
class ProgramRun:
    """What one run of __main__.py registered and exported, as plain data."""

    outputs: dict[str, Any]
    resources: list[Registered]


# The mocks salt the RandomPassword's bcrypt hash at random; shared runs use one salt, so that two
# runs that differ in one setting differ in nothing else.
_SHARED_RUN_SALT = bcrypt.gensalt(rounds=4)


@functools.cache
def _program_run(cloud: str, config: tuple[tuple[str, str], ...]) -> ProgramRun:
    values = {**TARGET_CONFIG[cloud], **dict(config)}
    with pytest.MonkeyPatch.context() as patch:
        stub_engine(patch)
        patch.setattr(bcrypt, "gensalt", lambda *_, **__: _SHARED_RUN_SALT)
        with fresh_stack({key.replace("__", ":"): value for key, value in values.items()}) as run:
            outputs = {name: resolve(output) for name, output in run.run_program().items()}
            return ProgramRun(outputs=outputs, resources=run.resources)


def program_run(cloud: str, **config: str) -> ProgramRun:
    """__main__.py run for one target (TARGET_CONFIG plus `config`) under fresh mocks, with every
    output resolved. One run per (target, config) per session, shared by the tests that only read
    what was registered; each caller gets its own deep copy, so a test that edits it (to break a
    policy, say) cannot reach another. A test that needs the harness itself uses run_target."""
    return copy.deepcopy(_program_run(cloud, tuple(sorted(config.items()))))


# __main__.py under the mocks in a fresh interpreter. The modules named in argv[3], if given,
# cannot be imported there (None in sys.modules: Python's documented way to make an import fail
# with ModuleNotFoundError). Prints what was registered, the modules loaded and the program's
# error, if any, as JSON. Under the package's own mocks (container_registry.testing), not this
# file's: importing this conftest (pytest, hypothesis, bcrypt) costs each run half a second.
_FRESH_PROGRAM_RUN = (
    """
import json, runpy, sys
root, config = sys.argv[1], json.loads(sys.argv[2])
for name in json.loads(sys.argv[3]) if len(sys.argv) > 3 else []:
    sys.modules[name] = None
sys.path[:0] = [root]
import pulumi
from pulumi.runtime.sync_await import _sync_await
from container_registry import testing
"""
    + STUB_ENGINE_SOURCE
    + f"""
mocks = testing.RegistryMocks()
pulumi.runtime.set_all_config(config)
pulumi.runtime.set_mocks(mocks, project={PROJECT!r}, stack={STACK!r}, preview=False)
"""
    + """error = None
try:
    outputs = runpy.run_path(root + "/__main__.py", run_name="__main__")
    _sync_await(outputs["image"].repo_digest.future())
    _sync_await(pulumi.runtime.stack.wait_for_rpcs())
except Exception as err:
    error = f"{type(err).__name__}: {err}"
modules = sorted(name for name, module in sys.modules.items() if module is not None)
types = sorted(set(mocks.types()))
print(json.dumps({"types": types, "error": error, "modules": modules}))
"""
)


def fresh_program_command(cloud: str, blocked: Collection[str] = ()) -> list[str]:
    """The command that runs _FRESH_PROGRAM_RUN for one target (TARGET_CONFIG)."""
    config = {
        key.replace("__", ":") if "__" in key else f"{PROJECT}:{key}": value
        for key, value in TARGET_CONFIG[cloud].items()
    }
    script = [sys.executable, "-c", _FRESH_PROGRAM_RUN, str(ROOT), json.dumps(config)]
    return [*script, json.dumps(sorted(blocked))]


@functools.cache
def _fresh_program_runs() -> dict[str, dict[str, Any]]:
    """Every target's run of _FRESH_PROGRAM_RUN, started together (a run costs about half a
    second, mostly imports, and the machine has two cores) and made once per test session."""
    running = {
        cloud: subprocess.Popen(
            fresh_program_command(cloud),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cloud in TARGET_CONFIG
    }
    reports: dict[str, dict[str, Any]] = {}
    for cloud, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, f"{cloud}: {stderr}"
        reports[cloud] = json.loads(stdout.strip().splitlines()[-1])
        assert reports[cloud]["error"] is None, f"{cloud}: {reports[cloud]['error']}"
    return reports


def program_in_fresh_interpreter(cloud: str) -> dict[str, Any]:
    """Run __main__.py for `cloud` (TARGET_CONFIG) under the mocks in a new Python process, so
    sys.modules holds only what the program imported; return the resource types it registered
    and the modules it loaded. The runs are shared by every test that asks which SDKs a stack
    loads."""
    return _fresh_program_runs()[cloud]


def cloud_sdks_loaded(cloud: str) -> list[str]:
    """The cloud SDK packages (pulumi_aws, pulumi_azure_native, pulumi_gcp) a `cloud` stack
    imports, from its run in a fresh interpreter."""
    sdks = ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp")
    return sorted(
        {m.split(".")[0] for m in program_in_fresh_interpreter(cloud)["modules"]} & set(sdks)
    )


@dataclass
class Deployed:
    """A Registry and the app image pushed to it, as the stack program builds them (with the
    outputs under the names the stack exports them by)."""

    registry: Any
    image: Any

    @property
    def repo_endpoint(self) -> pulumi.Output[str]:
        return self.registry.repository_url

    @property
    def credentials(self) -> pulumi.Output[Any]:
        return self.registry.login

    @property
    def image_name(self) -> pulumi.Output[str]:
        return self.image.image_name

    @property
    def repo_digest(self) -> pulumi.Output[str]:
        return self.image.repo_digest

    @property
    def mirror_endpoint(self) -> pulumi.Output[Any]:
        return self.registry.mirror_endpoint

    @property
    def ci(self) -> pulumi.Output[Any]:
        return self.registry.ci

    @property
    def ci_workflow(self) -> pulumi.Output[Any]:
        return self.registry.ci_workflow


# Config keys that only one cloud's service reads beside its own block: a Registry ignores what
# the chosen service does not take (container_registry/switch.py), so a bad value of such a key
# is refused on that cloud.
_SHARED_KEY_CLOUDS = {
    "mirrorRepositories": "azure",
    "pullPrincipals": "aws",
    "dockerHubToken": "local",
    "immutableTags": "aws",
}


def on_its_cloud(raw: Mapping[str, str], separator: str = ":") -> dict[str, str]:
    """`raw` config on the cloud whose service reads its keys, unless it names a cloud: the
    target of the first target's key (stack.config.keys.PATH_KEYS), with TARGET_CONFIG's
    location. With separator "__", the keys as Harness.configure takes them."""
    from stack.config.keys import PATH_KEYS

    if "cloud" in raw:
        return dict(raw)
    clouds = {key: path.split(".")[0] for path, key in PATH_KEYS.items()}
    for key in raw:
        cloud = _SHARED_KEY_CLOUDS.get(key) or clouds.get(key)
        if cloud in TARGET_CONFIG:
            extra = {k.replace("__", separator): v for k, v in TARGET_CONFIG[cloud].items()}
            return {**extra, **raw}
    return dict(raw)


# The component `Registry` builds as its one child on each cloud: the schema's resource tokens
# (docs/reference.md). The cloud resources are that component's children.
SERVICE_TYPES: dict[str, str] = {
    "aws": "container-registry:index:EcrRegistry",
    "azure": "container-registry:index:AcrRegistry",
    "gcp": "container-registry:index:ArtifactRegistry",
    "local": "container-registry:index:LocalRegistry",
}


def service_component(harness: Harness, cloud: str) -> Registered:
    """The service component of the one Registry registered, checked to be its child."""
    registry = harness.one("container-registry:index:Registry")
    service = harness.one(SERVICE_TYPES[cloud])
    assert service.parent == registry.urn, "the service must be the Registry's child"
    children = [r.typ for r in harness.resources if r.parent == registry.urn]
    assert children == [SERVICE_TYPES[cloud]], f"the Registry's children: {children}"
    return service


def deploy(
    args: Mapping[str, Any],
    *,
    platform: str = "linux/amd64",
    tag: str | None = None,
    name: str = "registry",
) -> Deployed:
    """`Registry("registry", args)` and app/ pushed to it by a RegistryImage, its base image
    through the mirror when the mirror is on: what __main__.py builds, without the config."""
    from container_registry import Registry, RegistryImage

    registry = Registry(name, dict(args))  # type: ignore[arg-type]
    image_args: dict[str, Any] = {
        "context": "app",
        "platform": platform,
        "repository_url": registry.repository_url,
        "login": registry.login,
    }
    if tag is not None:
        image_args["tag"] = tag
    if (args.get("mirror") or {}).get("enabled"):
        image_args["build_args"] = {
            "BASE_IMAGE": registry.mirror_endpoint.apply(lambda endpoint: f"{endpoint}/nginx")
        }
    return Deployed(registry, RegistryImage(name, image_args))  # type: ignore[arg-type]


# Per service: RegistryArgs' block of the target -> the attribute of its options that gives it.
ECR_FIELDS = {
    "kms_key_arn": "kms_key_arn",
    "oidc_provider_arn": "oidc_provider_arn",
    "archive_unpulled_days": "archive_unpulled_days",
    "docker_hub_secret_arn": "mirror.docker_hub_secret_arn",
}
ACR_FIELDS = {
    "sku": "sku",
    "resource_group": "resource_group",
    "location": "location",
    "docker_hub_username_secret_uri": "mirror.docker_hub_username_secret_uri",
    "docker_hub_password_secret_uri": "mirror.docker_hub_password_secret_uri",
    "docker_hub_key_vault_id": "mirror.docker_hub_key_vault_id",
}
ARTIFACT_FIELDS = {
    "project": "project",
    "location": "location",
    "docker_hub_password_secret_version": "mirror.docker_hub_password_secret_version",
}
LOCAL_FIELDS = {"port": "port", "user": "user", "mirror_port": "mirror.port"}


def args_of(options: Any) -> dict[str, Any]:
    """The Registry Args that give `options` (a service's checked record: EcrOptions,
    AcrOptions, ArtifactOptions or LocalOptions), for tests that state the options and also
    build the component from them."""
    from container_registry import AcrOptions, ArtifactOptions, EcrOptions, LocalOptions

    drop_none = lambda values: {k: v for k, v in values.items() if v is not None}  # noqa: E731
    mirror = options.mirror
    args: dict[str, Any] = {
        "repository_name": options.repository_name,
        "immutable_tags": options.immutable_tags,
        "force_delete": options.force_delete,
        "lifecycle": {
            "untagged_expiry_days": options.untagged_expiry_days,
            "keep_tagged_images": options.keep_tagged_images,
        },
        "mirror": {"enabled": mirror.enabled},
    }
    if getattr(options, "pull_principals", ()):
        args["pull_principals"] = list(options.pull_principals)
    cloud, block, fields, mirror_fields = {
        EcrOptions: ("aws", "aws", ECR_FIELDS, ()),
        AcrOptions: ("azure", "azure", ACR_FIELDS, ("repositories",)),
        ArtifactOptions: ("gcp", "gcp", ARTIFACT_FIELDS, ("docker_hub_user",)),
        LocalOptions: ("local", "local", LOCAL_FIELDS, ("docker_hub_user", "docker_hub_token")),
    }[type(options)]
    args["cloud"] = cloud
    args[block] = drop_none({key: attrgetter(path)(options) for key, path in fields.items()})
    args["mirror"].update(drop_none({key: getattr(mirror, key) for key in mirror_fields}))
    if "repositories" in args["mirror"]:
        args["mirror"]["repositories"] = list(args["mirror"]["repositories"])
    ci = options.ci
    if ci is not None:
        repository = ci.subject_repository if ci.immutable else ci.repository
        args["ci"] = drop_none(
            {
                "repository": repository,
                "ref": ci.ref,
                "environment": ci.environment,
                "context": ci.context,
                "dockerfile": ci.dockerfile,
                "platform": ci.platform,
                "mirror_build_args": dict(ci.mirror_build_args) or None,
            }
        )
    return args


def options_of(settings: Any, kind: type[T]) -> T:
    """The program's Settings' checked options, which must be the chosen service's `kind`
    (EcrOptions, AcrOptions, ArtifactOptions or LocalOptions)."""
    options = settings.options
    assert isinstance(options, kind), f"{type(options).__name__} is not {kind.__name__}"
    return options


def settle_failed_registrations(stopped: Callable[[BaseException], bool]) -> list[BaseException]:
    """Await every registration in flight and return the failures, cleared afterwards, so the
    harness's own wait at the end of the test does not raise them again. The outputs of the
    resources a check stopped hold its error (`stopped(error)` says which), and nobody reads
    them: asyncio's report of each, when it is collected, is dropped, and only those."""

    def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if context.get("message") == "Future exception was never retrieved" and (
            isinstance(error, BaseException) and stopped(error)
        ):
            return
        loop.default_exception_handler(context)

    asyncio.get_event_loop().set_exception_handler(quiet)
    manager = pulumi.runtime.settings._get_rpc_manager()  # noqa: SLF001
    failures: list[BaseException] = []
    for _ in range(100):
        try:
            _sync_await(pulumi.runtime.stack.wait_for_rpcs())
        except Exception as failure:  # noqa: BLE001 (each is returned to the test)
            failures.append(failure)
            manager.unhandled_exception = None
            manager.exception_traceback = None
        else:
            return failures
    raise AssertionError("registrations kept failing")
