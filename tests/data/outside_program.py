"""A user's own program, run from a folder outside the repository against the installed package
(tests/test_package.py): a Registry on one target and a RegistryImage pushed to it, under Pulumi's
mocks. Prints what it saw as one JSON line. Only the public API is used, as the issue's example.

argv: the target, the build context. The mocks below answer like the providers would, with the
few computed outputs the components read.
"""

import json
import sys
from typing import Any

import pulumi
from pulumi.runtime.sync_await import _sync_await

ACCOUNT = "123456789012"
COMPUTED: dict[str, Any] = {
    "aws:ecr/repository:Repository": lambda i: {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{i['name']}",
        "registryId": ACCOUNT,
        "arn": f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{i['name']}",
    },
    "azure-native:containerregistry:Registry": lambda i: {
        "loginServer": f"{i['registryName']}.azurecr.io",
        "name": i["registryName"],
    },
    "azure-native:resources:ResourceGroup": lambda i: {"name": "rg-mock"},
    "random:index/randomPassword:RandomPassword": lambda i: {"result": "mock-password"},
    "random:index/randomId:RandomId": lambda i: {"hex": "a1" * int(i.get("byteLength", 3))},
    "docker:index/remoteImage:RemoteImage": lambda i: {"imageId": "sha256:" + "1" * 64},
    "docker:index/image:Image": lambda i: {
        "repoDigest": i["imageName"].rsplit(":", 1)[0] + "@sha256:" + "0" * 64
    },
}
CALLS: dict[str, dict[str, Any]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/me",
        "userId": "AIDAMOCK",
        "id": ACCOUNT,
    },
    "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com"},
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": {"userName": "AWS", "password": "t"},
    "azure-native:authorization:getClientConfig": {
        "subscriptionId": "3f1c9a52-7d4e-4b8a-9c61-2e5d8f0a7b13",
        "tenantId": "9b2e4c71-0a5f-4d3e-8b16-7c4f2a9e1d05",
        "clientId": "5e8d1f3a-2b7c-4a90-b6e4-1d9c3f7a8e22",
        "objectId": "c4a7e2d9-8f1b-4e63-a5d0-6b3f9e2c1a78",
    },
    "azure-native:authorization:getClientToken": {"token": "mock-arm-token"},
    "azure-native:containerregistry:listRegistryCredentials": {
        "username": "admin",
        "passwords": [{"name": "password", "value": "p"}],
    },
    "gcp:organizations/getClientConfig:getClientConfig": {"accessToken": "ya29.mock"},
    # Under mocks the registry's role assignment mode is read with this invoke
    # (container_registry/azure/mode.py): classic RBAC, as Azure creates a registry.
    "azure-native:resources:getResource": {
        "id": "/subscriptions/3f1c9a52-7d4e-4b8a-9c61-2e5d8f0a7b13/registry",
        "properties": {"roleAssignmentMode": "LegacyRegistryPermissions"},
    },
}
TARGET_ARGS: dict[str, dict[str, Any]] = {
    "aws": {},
    "azure": {"azure": {"location": "westeurope"}},
    "gcp": {"gcp": {"project": "my-project-123", "location": "europe-west4"}},
    "local": {},
}


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.types: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.types.append(args.typ)
        outputs = dict(args.inputs)
        outputs.update(COMPUTED.get(args.typ, lambda _: {})(args.inputs))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return CALLS[args.token], []


cloud, context = sys.argv[1], sys.argv[2]
mocks = Mocks()
pulumi.runtime.set_mocks(mocks, project="team-infra", stack="dev", preview=False)

import container_registry  # noqa: E402 (after the mocks, as a program under test would)

# Importing the package loads no provider SDK; RegistryImage brings the Docker provider.
loaded_before = sorted(m for m in sys.modules if m.split(".")[0].startswith("pulumi_"))
from container_registry import Registry, RegistryArgs, RegistryImage  # noqa: E402

args: RegistryArgs = {"cloud": cloud, "repository_name": "api", **TARGET_ARGS[cloud]}  # type: ignore[typeddict-item]
registry = Registry("team", args)
image = RegistryImage(
    "api",
    {"context": context, "repository_url": registry.repository_url, "login": registry.login},
)
digest = _sync_await(image.repo_digest.future())
url = _sync_await(registry.repository_url.future())
_sync_await(pulumi.runtime.stack.wait_for_rpcs())
print(
    json.dumps(
        {
            "package": container_registry.__file__,
            "sdks_at_import": sorted({m.split(".")[0] for m in loaded_before}),
            "sdks": sorted({m.split(".")[0] for m in sys.modules if m.startswith("pulumi_")}),
            "types": sorted(set(mocks.types)),
            "repository_url": url,
            "digest": digest,
        }
    )
)
