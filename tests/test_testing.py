"""container_registry.testing (issue 28 item 5): mocks a user's unit test runs under, which answer
every invoke the components make, on every target, and make no network call.

The invokes are found by what the components ask for (the mocks record each call), not from a
list in the test; an invoke the mocks did not know would raise LookupError and fail the run.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from container_registry import Registry, RegistryImage
from container_registry.testing import RegistryMocks, exports, run_program, set_mocks

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
# Each target's Registry Args, as small as the target allows.
TARGETS: dict[str, dict[str, Any]] = {
    "aws": {"cloud": "aws"},
    "azure": {"cloud": "azure", "azure": {"location": "westeurope"}},
    "gcp": {"cloud": "gcp", "gcp": {"project": "my-project-123", "location": "europe-west4"}},
    "local": {"cloud": "local"},
}
# The invokes each target makes, by the token its provider documents (the Pulumi Registry's API
# docs of pulumi-aws, pulumi-azure-native and pulumi-gcp, "Function" pages).
INVOKED: dict[str, set[str]] = {
    "aws": {
        "aws:index/getCallerIdentity:getCallerIdentity",
        "aws:index/getPartition:getPartition",
        "aws:ecr/getAuthorizationToken:getAuthorizationToken",
    },
    "azure": {
        "azure-native:authorization:getClientConfig",
        "azure-native:authorization:getClientToken",
        "azure-native:resources:getResource",
        "azure-native:containerregistry:listRegistryCredentials",
    },
    "gcp": {"gcp:organizations/getClientConfig:getClientConfig"},
    "local": set(),
}


class NetworkCall(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every name lookup and socket connect fails, and is recorded, so that the test fails even
    where the code turns the error into one of its own (mode.py's `cannot read ...`)."""
    attempts: list[Any] = []

    def refuse(address: Any) -> NetworkCall:
        attempts.append(address)
        return NetworkCall(f"a network call to {address!r} under container_registry.testing")

    def connect(self: socket.socket, address: Any) -> Any:
        raise refuse(address)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        raise refuse((host, port))

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert attempts == []


def test_the_socket_block_catches_a_connect(no_network: list[Any]) -> None:
    """The check below can fail: a name lookup and a connect, as urllib's GET of ARM makes, are
    refused and recorded."""
    with pytest.raises(NetworkCall), socket.create_connection(("management.azure.com", 443)):
        pass
    sock = socket.socket()
    with pytest.raises(NetworkCall), sock:
        sock.connect(("192.0.2.1", 443))
    assert no_network == [("management.azure.com", 443), ("192.0.2.1", 443)]
    no_network.clear()


@pytest.mark.parametrize("target", TARGETS)
def test_each_target_builds_under_the_mocks_without_a_network_call(
    target: str, no_network: list[Any]
) -> None:
    mocks = set_mocks()
    registry = Registry("team", TARGETS[target])  # type: ignore[arg-type]
    image = RegistryImage(
        "api",
        {"context": str(APP), "repository_url": registry.repository_url, "login": registry.login},
    )
    pulumi.export("url", registry.repository_url)
    pulumi.export("digest", image.repo_digest)
    exported = exports()
    assert exported["digest"].startswith(exported["url"] + "@sha256:")
    assert {token for token, _ in mocks.calls} == INVOKED[target]
    assert "docker:index/image:Image" in mocks.types()


def test_an_invoke_the_mocks_do_not_know_names_its_token() -> None:
    mocks = RegistryMocks()
    args = pulumi.runtime.MockCallArgs("aws:index/getAmi:getAmi", {}, "")
    with pytest.raises(LookupError, match="aws:index/getAmi:getAmi"):
        mocks.call(args)


def test_a_user_s_answer_goes_before_the_package_s() -> None:
    mocks = RegistryMocks(invokes={"aws:index/getRegion:getRegion": lambda _: {"region": "x"}})
    args = pulumi.runtime.MockCallArgs("aws:index/getRegion:getRegion", {}, "")
    assert mocks.call(args) == ({"region": "x"}, [])


def test_run_program_returns_the_exports_resolved(tmp_path: Path, no_network: list[Any]) -> None:
    """A user's program, run as the docs show, with its config."""
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi\n"
        "from container_registry import Cloud, Registry\n"
        "registry = Registry('team', {'cloud': Cloud.AWS, 'repository_name': "
        "pulumi.Config().require('name')})\n"
        "pulumi.export('url', registry.repository_url)\n",
        encoding="utf-8",
    )
    exports = run_program(program, config={"name": "api"})
    # The repository URL ECR documents: <account>.dkr.ecr.<region>.amazonaws.com/<name>.
    assert exports == {"url": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api"}
