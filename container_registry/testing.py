"""Pulumi mocks for unit tests of a program that uses this package: no cloud, no network.

`RegistryMocks` answers every invoke the components make, on every target, with the fixed values
below, and gives the resources they create the outputs the cloud would compute (a repository's
URL, a registry's login server, ...). `run_program` runs a Pulumi program under them and returns
its exports, resolved::

    from container_registry.testing import run_program

    def test_the_program_exports_the_image_digest():
        assert "@sha256:" in run_program("__main__.py")["image"]

Unit tests under these mocks make no network call (tests/test_testing.py blocks sockets to prove
it). An invoke of your own program that the mocks do not know raises `LookupError` with its
token: pass an answer for it (`RegistryMocks(invokes={token: lambda args: {...}})`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import runpy
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.settings import get_root_resource, set_root_resource
from pulumi.runtime.stack import Stack, wait_for_rpcs

Answer = Callable[[dict[str, Any]], dict[str, Any]]

# The fixed values the mocks answer with. Each has the format the cloud documents.
AWS_ACCOUNT = "123456789012"
"""The AWS account ID (12 digits) of the caller (getCallerIdentity)."""
AWS_REGION = "eu-west-1"
"""The AWS region the provider is configured for (getRegion)."""
ECR_PASSWORD = "mock-ecr-password"
"""The password in the ECR authorization token (getAuthorizationToken): a credential."""
AZURE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
"""The Azure subscription ID of the caller (getClientConfig)."""
AZURE_TENANT = "00000000-0000-0000-0000-000000000002"
"""The Microsoft Entra tenant ID of the caller (getClientConfig)."""
AZURE_CLIENT = "00000000-0000-0000-0000-000000000003"
"""The client (application) ID of the caller (getClientConfig)."""
AZURE_OBJECT = "00000000-0000-0000-0000-000000000004"
"""The object ID of the caller's principal (getClientConfig)."""
AZURE_LOCATION = "westeurope"
"""The location of an existing resource group (getResourceGroup) and the registry."""
AZURE_ARM_TOKEN = "mock-arm-access-token"
"""The Azure Resource Manager access token (getClientToken): a credential."""
ACR_PASSWORDS = ("mock-acr-password-1", "mock-acr-password-2")
"""The registry's two admin passwords (listRegistryCredentials): credentials."""
ACR_ROLE_ASSIGNMENT_MODE = "LegacyRegistryPermissions"
"""The registry's roleAssignmentMode (getResource at API 2025-11-01): classic RBAC, the mode
Azure gives a registry created without one, in which the component's grants work."""
GCP_PROJECT = "mock-project"
"""The Google Cloud project ID the provider is configured for (getClientConfig)."""
GCP_PROJECT_NUMBER = "123456789012"
"""The project's number, in the names of workload identity pools and service agents."""
GCP_REGION = "europe-west4"
"""The Google Cloud region the provider is configured for (getClientConfig)."""
GCP_ACCESS_TOKEN = "ya29.mock-access-token"
"""The OAuth 2.0 access token of the caller (getClientConfig): a credential."""
RANDOM_PASSWORD = "mockrandompassword0123456789abcd"
"""What every random.RandomPassword makes: 32 letters and digits, as the local target asks."""


def digest(text: str) -> str:
    """A fixed `sha256:` digest for `text`, as a registry would give an image."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _repository_of(image_name: str) -> str:
    """`host/path` of `host/path:tag`."""
    head, _, last = image_name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


INVOKES: dict[str, Answer] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {
        "accountId": AWS_ACCOUNT,
        "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/mock",
        "userId": "AIDAMOCKUSERID",
        "id": AWS_ACCOUNT,
    },
    "aws:index/getPartition:getPartition": lambda _: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
    },
    "aws:index/getRegion:getRegion": lambda _: {
        "region": AWS_REGION,
        "name": AWS_REGION,
        "endpoint": f"ec2.{AWS_REGION}.amazonaws.com",
        "description": "Europe (Ireland)",
        "id": AWS_REGION,
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda args: {
        "userName": "AWS",
        "password": ECR_PASSWORD,
        "authorizationToken": base64.b64encode(f"AWS:{ECR_PASSWORD}".encode()).decode(),
        "proxyEndpoint": f"https://{args.get('registryId', AWS_ACCOUNT)}.dkr.ecr.{AWS_REGION}"
        ".amazonaws.com",
        "expiresAt": "2030-01-01T12:00:00Z",
        "id": AWS_REGION,
    },
    "azure-native:authorization:getClientConfig": lambda _: {
        "subscriptionId": AZURE_SUBSCRIPTION,
        "tenantId": AZURE_TENANT,
        "clientId": AZURE_CLIENT,
        "objectId": AZURE_OBJECT,
    },
    "azure-native:authorization:getClientToken": lambda _: {"token": AZURE_ARM_TOKEN},
    "azure-native:resources:getResourceGroup": lambda args: {
        "name": args["resourceGroupName"],
        "location": AZURE_LOCATION,
        "id": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{args['resourceGroupName']}",
    },
    # The registry as ARM returns it (container_registry/azure/mode.py reads its mode so).
    "azure-native:resources:getResource": lambda args: {
        "id": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{args['resourceGroupName']}"
        f"/providers/{args['resourceProviderNamespace']}/{args['resourceType']}/"
        f"{args['resourceName']}",
        "name": args["resourceName"],
        "type": f"{args['resourceProviderNamespace']}/{args['resourceType']}",
        "location": AZURE_LOCATION,
        "properties": {"roleAssignmentMode": ACR_ROLE_ASSIGNMENT_MODE},
    },
    "azure-native:containerregistry:listRegistryCredentials": lambda args: {
        "username": args["registryName"],
        "passwords": [
            {"name": "password", "value": ACR_PASSWORDS[0]},
            {"name": "password2", "value": ACR_PASSWORDS[1]},
        ],
    },
    "gcp:organizations/getClientConfig:getClientConfig": lambda _: {
        "accessToken": GCP_ACCESS_TOKEN,
        "project": GCP_PROJECT,
        "region": GCP_REGION,
        "zone": f"{GCP_REGION}-a",
        "id": GCP_PROJECT,
    },
}
"""The answer to each invoke the components make, by token; `args` are the invoke's inputs."""


def _identity(inputs: dict[str, Any]) -> dict[str, Any]:
    seed = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
    guid = f"{seed[:8]}-{seed[8:12]}-{seed[12:16]}-{seed[16:20]}-{seed[20:32]}"
    return {"principalId": guid, "clientId": guid[::-1], "tenantId": AZURE_TENANT}


RESOURCE_OUTPUTS: dict[str, Answer] = {
    "aws:ecr/repository:Repository": lambda inputs: {
        "repositoryUrl": f"{AWS_ACCOUNT}.dkr.ecr.{AWS_REGION}.amazonaws.com/{inputs['name']}",
        "registryId": AWS_ACCOUNT,
        "arn": f"arn:aws:ecr:{AWS_REGION}:{AWS_ACCOUNT}:repository/{inputs['name']}",
    },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda inputs: {
        "arn": f"arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/{inputs['url'].removeprefix('https://')}"
    },
    "aws:iam/role:Role": lambda inputs: {
        "arn": f"arn:aws:iam::{AWS_ACCOUNT}:role/{inputs.get('name', 'mock-role')}",
        "name": inputs.get("name", "mock-role"),
    },
    "azure-native:resources:ResourceGroup": lambda inputs: {
        "name": inputs.get("resourceGroupName", "mock-resource-group")
    },
    "azure-native:containerregistry:Registry": lambda inputs: {
        "name": inputs["registryName"],
        "loginServer": f"{inputs['registryName'].lower()}.azurecr.io",
    },
    "azure-native:managedidentity:UserAssignedIdentity": lambda inputs: {
        "name": inputs.get("resourceName", "mock-identity"),
        **_identity(inputs),
    },
    "azure-native:containerregistry:CredentialSet": lambda inputs: {
        "identity": {**inputs.get("identity", {}), **_identity(inputs)}
    },
    "gcp:artifactregistry/repository:Repository": lambda inputs: {
        "name": f"projects/{inputs.get('project', GCP_PROJECT)}/locations/{inputs['location']}"
        f"/repositories/{inputs['repositoryId']}",
        "project": inputs.get("project", GCP_PROJECT),
    },
    "gcp:projects/serviceIdentity:ServiceIdentity": lambda _: {
        "email": f"service-{GCP_PROJECT_NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com",
        "member": f"serviceAccount:service-{GCP_PROJECT_NUMBER}"
        "@gcp-sa-artifactregistry.iam.gserviceaccount.com",
    },
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": lambda inputs: {
        "name": f"projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
        f"{inputs['workloadIdentityPoolId']}",
        "state": "ACTIVE",
    },
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": lambda inputs: {
        "name": f"projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
        f"{inputs['workloadIdentityPoolId']}/providers/{inputs['workloadIdentityPoolProviderId']}",
        "state": "ACTIVE",
    },
    "random:index/randomPassword:RandomPassword": lambda _: {"result": RANDOM_PASSWORD},
    "random:index/randomId:RandomId": lambda inputs: {
        "hex": "ab" * int(inputs.get("byteLength", 4))
    },
    "docker:index/image:Image": lambda inputs: {
        "repoDigest": f"{_repository_of(inputs['imageName'])}@{digest(inputs['imageName'])}",
        "registryServer": inputs["imageName"].split("/")[0],
    },
    "docker:index/remoteImage:RemoteImage": lambda inputs: {
        "imageId": digest(inputs["name"]),
        "repoDigest": f"{_repository_of(inputs['name'])}@{digest(inputs['name'])}",
    },
}
"""The outputs a provider computes, by resource type, merged over the inputs a resource got."""


class RegistryMocks(pulumi.runtime.Mocks):
    """Mocks that answer the components' invokes and compute their resources' outputs, and
    record both: `resources` holds (type, name, inputs) per resource, `calls` (token, args)."""

    def __init__(
        self,
        invokes: Mapping[str, Answer] | None = None,
        outputs: Mapping[str, Answer] | None = None,
    ) -> None:
        self.invokes = {**INVOKES, **(invokes or {})}
        self.outputs = {**RESOURCE_OUTPUTS, **(outputs or {})}
        self.resources: list[tuple[str, str, dict[str, Any]]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        self.resources.append((args.typ, args.name, inputs))
        computed = self.outputs.get(args.typ)
        return f"{args.name}-id", {**inputs, **(computed(inputs) if computed else {})}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append((args.token, dict(args.args)))
        answer = self.invokes.get(args.token)
        if answer is None:
            raise LookupError(
                f"container_registry.testing has no answer for the invoke {args.token}: pass "
                "one, RegistryMocks(invokes={token: lambda args: {...}})"
            )
        return answer(dict(args.args)), []  # no check failures

    def types(self) -> list[str]:
        """The type of every resource registered so far, in order."""
        return [typ for typ, _, _ in self.resources]


def set_mocks(
    mocks: RegistryMocks | None = None,
    project: str = "project",
    stack: str = "test",
    config: Mapping[str, str] | None = None,
) -> RegistryMocks:
    """Make Pulumi run under `mocks` (a new RegistryMocks by default) with a new root stack, as
    `pulumi up` would, not a preview; `config` keys without a namespace are the project's."""
    mocks = RegistryMocks() if mocks is None else mocks
    set_root_resource(None)  # type: ignore[arg-type]  # a new stack: `set_mocks` makes one
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    pulumi.runtime.set_all_config(
        {key if ":" in key else f"{project}:{key}": value for key, value in (config or {}).items()}
    )
    return mocks


def _loop() -> asyncio.AbstractEventLoop:
    """The event loop Pulumi's Outputs run on in this thread."""
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop


def run_program(
    path: str | Path = "__main__.py",
    config: Mapping[str, str] | None = None,
    mocks: RegistryMocks | None = None,
    project: str = "project",
) -> dict[str, Any]:
    """Run the Pulumi program at `path` under the mocks (set_mocks) and return its exports,
    resolved (`exports`)."""
    set_mocks(mocks, project=project, config=config)
    program = Path(path).resolve()
    sys.path.insert(0, str(program.parent))
    try:
        runpy.run_path(str(program), run_name="__main__")
    finally:
        sys.path.remove(str(program.parent))
    return exports()


def exports() -> dict[str, Any]:
    """The stack's exports with every value resolved, once every resource registered so far
    has been. An error in any resource's registration is raised here."""
    loop = _loop()
    loop.run_until_complete(wait_for_rpcs())
    root = get_root_resource()
    assert isinstance(root, Stack), "set_mocks makes the root stack"
    return {
        name: loop.run_until_complete(pulumi.Output.from_input(value).future())
        for name, value in root.outputs.items()
    }
