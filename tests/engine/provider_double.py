"""A TEST DOUBLE of the cloud resource providers, for the real Pulumi engine: it stands in for
pulumi-resource-docker, -random, -aws, -azure-native and -gcp, which the Go module proxy does not
serve here (docs/development.md, "The real Pulumi engine").

Only the providers are doubled. The engine that starts this plugin, the state it reads, the
alias resolution and the plan it makes are the real ones (tests/engine/test_upgrade_engine.py).
The double changes nothing anywhere: Check takes the inputs as given, Diff reports no change (so
that an upgrade's plan is decided by URN matching alone), CheckConfig, DiffConfig and Configure
accept any configuration, and Create, Read, Update and Delete answer from the package's own
documented mocks, `container_registry.testing`: INVOKES for Invoke and RESOURCE_OUTPUTS for a
resource's computed outputs, not a copy of them.

    python tests/engine/provider_double.py PACKAGE ENGINE_ADDRESS [flags]

It serves the ResourceProvider gRPC service of the Pulumi Python SDK's protocol
(`pulumi.runtime.proto.provider_pb2_grpc`) on a loopback port and prints that port, as
`pulumi.provider.server.main` does: the engine reads the first line of a plugin's stdout.
"""

from __future__ import annotations

import json
import sys
from concurrent import futures
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from container_registry.testing import INVOKES, RESOURCE_OUTPUTS

# Each provider the stack's SDKs use, by the Python package that declares its plugin.
PACKAGES = {
    "docker": "pulumi_docker",
    "random": "pulumi_random",
    "aws": "pulumi_aws",
    "azure-native": "pulumi_azure_native",
    "gcp": "pulumi_gcp",
}


def plugin_version(package: str) -> str:
    """The plugin version the installed SDK asks the engine for (its pulumi-plugin.json)."""
    declared = resources.files(PACKAGES[package]).joinpath("pulumi-plugin.json").read_text()
    return json.loads(declared)["version"]


def _plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct)


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def type_of(urn: str) -> str:
    """`aws:ecr/repository:Repository` of `urn:pulumi:stack::project::parent$type::name`."""
    return urn.split("::")[2].split("$")[-1]


class ProviderDouble(provider_pb2_grpc.ResourceProviderServicer):
    """The ResourceProvider service, answering for one package."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.version = plugin_version(package)

    def GetPluginInfo(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC names)
        return plugin_pb2.PluginInfo(version=self.version)

    def GetSchema(self, request: Any, context: Any) -> Any:  # noqa: N802
        return provider_pb2.GetSchemaResponse(
            schema=json.dumps({"name": self.package, "version": self.version})
        )

    def CheckConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Configure(self, request: Any, context: Any) -> Any:  # noqa: N802
        return provider_pb2.ConfigureResponse(
            acceptSecrets=True, supportsPreview=True, acceptResources=True
        )

    def Invoke(self, request: Any, context: Any) -> Any:  # noqa: N802
        answer = INVOKES.get(request.tok)
        if answer is None:
            return context.abort(grpc.StatusCode.NOT_FOUND, f"the mocks have no {request.tok}")
        response = provider_pb2.InvokeResponse()
        # `return` is the field's name, a Python keyword: set through the message, not a kwarg.
        getattr(response, "return").CopyFrom(_struct(answer(_plain(request.args))))
        return response

    def Check(self, request: Any, context: Any) -> Any:  # noqa: N802
        return provider_pb2.CheckResponse(inputs=request.news)

    def Diff(self, request: Any, context: Any) -> Any:  # noqa: N802
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def _outputs(self, urn: str, inputs: struct_pb2.Struct, preview: bool) -> struct_pb2.Struct:
        computed = RESOURCE_OUTPUTS.get(type_of(urn))
        if preview or computed is None:
            return inputs
        plain = _plain(inputs)
        return _struct({**plain, **computed(plain)})

    def Create(self, request: Any, context: Any) -> Any:  # noqa: N802
        name = request.urn.rsplit("::", 1)[-1]
        return provider_pb2.CreateResponse(
            id=f"{name}-id",
            properties=self._outputs(request.urn, request.properties, request.preview),
        )

    def Read(self, request: Any, context: Any) -> Any:  # noqa: N802
        return provider_pb2.ReadResponse(
            id=request.id, properties=request.properties, inputs=request.inputs
        )

    def Update(self, request: Any, context: Any) -> Any:  # noqa: N802
        properties = self._outputs(request.urn, request.news, request.preview)
        return provider_pb2.UpdateResponse(properties=properties)

    def Delete(self, request: Any, context: Any) -> Any:  # noqa: N802
        return empty_pb2.Empty()

    def Cancel(self, request: Any, context: Any) -> Any:  # noqa: N802
        return empty_pb2.Empty()


def launchers(into: Path) -> Path:
    """A folder holding pulumi-resource-<package> for each package, each starting this double:
    the engine finds a plugin on PATH before its plugin cache (GetPluginPath in
    sdk/go/common/workspace/plugins.go), whatever version it wants."""
    folder = into / "provider-doubles"
    folder.mkdir()
    from tests.engine.pulumi_cli import write_launcher  # the test side only, not the double's

    for package in PACKAGES:
        write_launcher(folder / f"pulumi-resource-{package}", Path(__file__).resolve(), package)
    return folder


def main(argv: list[str]) -> None:
    package = argv[0]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(ProviderDouble(package), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    server.wait_for_termination()


if __name__ == "__main__":
    main(sys.argv[1:])
