"""The component provider (issue 21 item 4): the schema Pulumi infers from the Args, the provider
as the engine starts it, and `construct` doing what the Python API does.

The schema is the analyzer's, taken in-process (`container_registry.provider.schema`); nothing
here is written down by hand. check-jsonschema judges it with Pulumi's own package metaschema
(tests/data/README.md says where it is from).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import grpc
import pulumi
import pytest
import tomllib
import yaml
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ProviderServicer
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pulumi.runtime.sync_await import _sync_await

from conftest import (
    ROOT,
    Harness,
    RecordingMonitor,
    RegistryMocks,
    fresh_stack,
    is_secret,
    resolve,
)
from container_registry import (
    AcrRegistry,
    AcrSku,
    ArtifactRegistry,
    Cloud,
    EcrRegistry,
    LocalRegistry,
    Registry,
    RegistryImage,
)
from container_registry.provider import (
    COMPONENTS,
    PACKAGE,
    RegistryProvider,
    component_provider,
    schema,
    token,
)

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
METASCHEMA = ROOT / "tests" / "data" / "pulumi-package.schema.json"
PROVIDER_DIR = ROOT / "provider"
# How long the provider may take to print its port: it imports Pulumi and analyzes the Args.
START_TIMEOUT_S = 60
APP = ROOT / "app"


@pytest.fixture(scope="module")
def package_schema() -> dict[str, Any]:
    return schema()


def check_jsonschema(document: dict[str, Any], folder: Path) -> subprocess.CompletedProcess[str]:
    path = folder / "schema.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(METASCHEMA), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


# --- the schema


def test_the_schema_is_a_valid_pulumi_package(
    package_schema: dict[str, Any], tmp_path: Path
) -> None:
    done = check_jsonschema(package_schema, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_metaschema_refuses_an_enum_member_without_description(
    package_schema: dict[str, Any], tmp_path: Path
) -> None:
    """What the SDK writes for an enum member without a docstring (`EnumValue.to_json` in
    pulumi/provider/experimental/schema.py) fails the check above: it can fail."""
    broken = copy.deepcopy(package_schema)
    broken["types"][f"{PACKAGE}:index:Undocumented"] = {
        "type": "string",
        "description": "An enum whose member has no docstring.",
        "enum": [{"name": "ONE", "value": "one", "description": None}],
    }
    done = check_jsonschema(broken, tmp_path)
    assert done.returncode != 0
    assert "None is not of type 'string'" in done.stdout


def test_the_tokens_are_the_components_own_types(package_schema: dict[str, Any]) -> None:
    """A program in another language registers the schema's token; the Python API registers the
    component's own type. They must be one, or the two would not be the same resources."""
    tokens = [
        "container-registry:index:Registry",
        "container-registry:index:RegistryImage",
        "container-registry:index:EcrRegistry",
        "container-registry:index:AcrRegistry",
        "container-registry:index:ArtifactRegistry",
        "container-registry:index:LocalRegistry",
    ]
    assert set(package_schema["resources"]) == set(tokens)
    assert package_schema["name"] == "container-registry"
    assert [token(component) for component in COMPONENTS] == tokens
    # The type each Python class registers (its module's TYPE) is that token too.
    types = [sys.modules[component.__module__].TYPE for component in COMPONENTS]
    assert types == tokens


def test_no_type_name_ends_in_args(package_schema: dict[str, Any]) -> None:
    """Pulumi's SDK generators append `Args` to every input type's name (TypeScript's
    `inputs.<Name>Args`, Python's and C#'s `<Name>Args`), so a schema type named `LifecycleArgs`
    would reach other languages as `LifecycleArgsArgs`."""
    doubled = [name for name in package_schema["types"] if name.endswith("Args")]
    assert doubled == []
    assert "container-registry:index:Lifecycle" in package_schema["types"]


def secret_paths(document: dict[str, Any]) -> set[str]:
    """Every property the schema marks `secret`."""
    found: set[str] = set()
    for name, resource in document["resources"].items():
        for side, key in (("inputs", "inputProperties"), ("outputs", "properties")):
            found |= {f"{name}.{side}.{p}" for p, s in resource[key].items() if s.get("secret")}
    for name, spec in document["types"].items():
        found |= {
            f"{name}.{p}" for p, s in (spec.get("properties") or {}).items() if s.get("secret")
        }
    return found


def test_the_credentials_and_only_they_are_marked_secret(package_schema: dict[str, Any]) -> None:
    """A top-level secret input makes the other languages' SDKs send it as a secret (TypeScript:
    `pulumi.secret(args.login)`, pkg/codegen/nodejs/gen.go)."""
    assert secret_paths(package_schema) == {
        "container-registry:index:RegistryImage.inputs.login",
        "container-registry:index:Registry.outputs.login",
        "container-registry:index:EcrRegistry.outputs.login",
        "container-registry:index:AcrRegistry.outputs.login",
        "container-registry:index:ArtifactRegistry.outputs.login",
        "container-registry:index:LocalRegistry.outputs.login",
        "container-registry:index:RegistryCredentials.password",
        "container-registry:index:PullThroughMirror.dockerHubToken",
        "container-registry:index:LocalMirror.dockerHubToken",
    }


def undescribed(document: dict[str, Any]) -> list[str]:
    """The paths of every resource, property, type and enum member without a description."""
    missing: list[str] = []

    def described(path: str, spec: dict[str, Any]) -> None:
        text = spec.get("description")
        if not isinstance(text, str) or not text.strip():
            missing.append(path)

    def properties(path: str, specs: dict[str, Any] | None) -> None:
        for name, spec in (specs or {}).items():
            described(f"{path}.{name}", spec)

    for name, resource in document.get("resources", {}).items():
        described(name, resource)
        properties(f"{name}.inputs", resource.get("inputProperties"))
        properties(f"{name}.outputs", resource.get("properties"))
    for name, spec in document.get("types", {}).items():
        described(name, spec)
        properties(name, spec.get("properties"))
        for member in spec.get("enum") or []:
            described(f"{name}.{member.get('name')}", member)
    return missing


def test_every_property_type_and_enum_member_is_described(
    package_schema: dict[str, Any],
) -> None:
    assert undescribed(package_schema) == []
    # The docstrings are the ones of the Args: one field, looked up by hand.
    registry = package_schema["resources"]["container-registry:index:Registry"]
    assert registry["inputProperties"]["repositoryName"]["description"].startswith(
        "The repository images are pushed to"
    )


def test_cloud_is_an_enum_of_the_four_targets(package_schema: dict[str, Any]) -> None:
    """A closed set the schema checks: a YAML or TypeScript program is held to these values
    (pulumi-language-yaml refuses `mars`: tests/engine/test_pulumi_engine.py)."""
    registry = package_schema["resources"][token(Registry)]
    assert registry["inputProperties"]["cloud"]["$ref"] == "#/types/container-registry:index:Cloud"
    assert "cloud" in registry["requiredInputs"]
    cloud = package_schema["types"]["container-registry:index:Cloud"]
    assert cloud["type"] == "string"
    assert [member["value"] for member in cloud["enum"]] == ["local", "aws", "azure", "gcp"]
    assert all(member["description"] for member in cloud["enum"])


def test_undescribed_finds_each_kind_of_gap() -> None:
    document = {
        "resources": {
            "p:index:R": {
                "description": "R.",
                "inputProperties": {"a": {"type": "string"}},
                "properties": {"b": {"type": "string", "description": " "}},
            }
        },
        "types": {
            "p:index:T": {"type": "object", "properties": {"c": {"description": None}}},
            "p:index:E": {
                "type": "string",
                "description": "E.",
                "enum": [{"name": "X", "value": "x", "description": None}],
            },
        },
    }
    assert undescribed(document) == [
        "p:index:R.inputs.a",
        "p:index:R.outputs.b",
        "p:index:T",
        "p:index:T.c",
        "p:index:E.X",
    ]


# --- the plugin folder


def test_the_plugin_folder_installs_this_package_with_every_target() -> None:
    """Pulumi's Python runtime runs provider/__main__.py in a virtualenv made from
    provider/requirements.txt (pip runs in provider/, so `..` is the repository root); a program
    in another language picks its cloud at run time, so every target's extra is installed."""
    plugin = yaml.safe_load((PROVIDER_DIR / "PulumiPlugin.yaml").read_text(encoding="utf-8"))
    assert plugin["runtime"]["name"] == "python"
    lines = (PROVIDER_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
    requirements = [line.split("#", 1)[0].strip() for line in lines]
    found = re.fullmatch(r"\.\.\[([a-z,]+)\]", "".join(requirements))
    assert found, f"provider/requirements.txt should install the root package: {requirements}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == PACKAGE
    assert "build-backend" in project["build-system"], "pip builds the package from the root"
    extras = set(project["project"]["optional-dependencies"])
    assert set(found[1].split(",")) == {"local", "aws", "azure", "gcp"} <= extras


# --- the provider as the engine starts it


@pytest.fixture
def running_provider() -> Iterator[int]:
    """`python provider/ <engine address>`, as pulumi-language-python's RunPlugin starts a plugin
    with a __main__.py; yields the port it prints on stdout (pulumi/provider/server.py, `main`).
    No engine is needed before a Construct: the address is never dialled here."""
    # The package from this checkout; the plugin's own virtualenv has it installed instead
    # (provider/requirements.txt).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, str(PROVIDER_DIR), "127.0.0.1:1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        try:
            first = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            pytest.fail(f"the provider printed no port within {START_TIMEOUT_S} s")
        if not first.strip().isdigit():
            _, stderr = process.communicate(timeout=START_TIMEOUT_S)
            pytest.fail(f"the provider printed {first!r} instead of a port:\n{stderr}")
        yield int(first)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def test_the_provider_answers_get_schema_with_the_inferred_schema(
    running_provider: int, package_schema: dict[str, Any]
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{running_provider}") as channel:
        stub = provider_pb2_grpc.ResourceProviderStub(channel)
        response = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30)
    assert json.loads(response.schema) == package_schema


# --- construct, as the engine asks for it, against the Python API


def wire(
    inputs: dict[str, Any], dependencies: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """`inputs` as `construct` gets them from a program in another language: serialized the way
    an SDK sends a remote component's inputs (Outputs kept as output values), then read the way
    the provider's gRPC server reads a ConstructRequest (`_construct_inputs` in
    pulumi/provider/server.py): a secret, or an input that depends on other resources (the URNs
    in `dependencies`), arrives as an Output."""
    struct = _sync_await(rpc.serialize_properties(inputs, {}, keep_output_values=True))
    depends = {
        key: provider_pb2.ConstructRequest.PropertyDependencies(urns=urns)
        for key, urns in (dependencies or {}).items()
    }
    return _sync_await(ProviderServicer._construct_inputs(struct, depends))  # noqa: SLF001


@functools.cache
def shared_provider() -> RegistryProvider:
    """The package's component provider, built once per test session: building one infers the
    schema from the Args (twice: the SDK's ComponentProvider, then its public Analyzer), a tenth
    of a second. The tests only call it, and a ComponentProvider keeps no state between calls."""
    return component_provider()


def construct(
    component: type[pulumi.ComponentResource],
    name: str,
    inputs: dict[str, Any],
    provider: ComponentProvider | None = None,
) -> Any:
    served = provider if provider is not None else shared_provider()
    return served.construct(name, token(component), wire(inputs), pulumi.ResourceOptions())


Registration = tuple[str, str, str, str]


def registrations(stack: Harness) -> list[Registration]:
    """What a stack registered, as the engine would tell it apart: type, name, URN, inputs."""
    return sorted(
        (r.typ, r.name, r.urn, json.dumps(r.inputs, sort_keys=True)) for r in stack.resources
    )


def run(config: dict[str, str], build: Callable[[], pulumi.Output[str]]) -> list[Registration]:
    """What `build` registers in a stack of its own; `build` returns the component's URN."""
    with fresh_stack(config) as stack:
        resolve(build())
        return registrations(stack)


LOGIN = {"server": "registry.example.com", "username": "robot", "password": "s3cret-pass"}


def image_inputs(secret_login: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same RegistryImage inputs, for the Python API and on the wire."""
    login: Any = pulumi.Output.secret(dict(LOGIN)) if secret_login else dict(LOGIN)
    python = {
        "context": str(APP),
        "repository_url": "registry.example.com/team/app",
        "login": login,
        "build_args": {"NOTE": "from-a-test"},
    }
    wired = {
        "context": str(APP),
        "repositoryUrl": "registry.example.com/team/app",
        "login": login,
        "buildArgs": {"NOTE": "from-a-test"},
    }
    return python, wired


def test_construct_registers_what_the_python_api_registers_for_an_image() -> None:
    python, wired = image_inputs(secret_login=True)
    direct = run({}, lambda: RegistryImage("api", python).urn)  # type: ignore[arg-type]
    through_provider = run({}, lambda: construct(RegistryImage, "api", wired).urn)
    assert direct, "the image registered nothing"
    assert through_provider == direct
    types = [registration[0] for registration in direct]
    assert types == ["container-registry:index:RegistryImage", "docker:index/image:Image"]


def test_a_secret_login_reaches_the_image_through_the_provider(harness: Harness) -> None:
    """A `login` from another program's Registry is a secret, so the engine hands it over as an
    Output; Pulumi's own ComponentProvider maps it as `{}` and fails. Ours maps it when it
    resolves, and the password stays secret."""
    _, wired = image_inputs(secret_login=True)
    with pytest.raises(pulumi.InputPropertyError) as raised:
        ComponentProvider(list(COMPONENTS), PACKAGE).construct(
            "sdk", token(RegistryImage), wire(wired), pulumi.ResourceOptions()
        )
    assert raised.value.property_path == "login.server"

    result = construct(RegistryImage, "api", wired)
    resolve(result.urn)
    image = harness.one("docker:index/image:Image")
    assert image.inputs["registry"] == LOGIN
    # The Docker provider's input holds the password under a secret (the whole `registry` block,
    # as the Python API sends it too: tests/test_image.py).
    assert {"registry", "registry.password"} & set(image.secret_paths), image.secret_paths


def test_construct_returns_the_outputs_the_schema_names(harness: Harness) -> None:
    _, wired = image_inputs(secret_login=False)
    result = construct(RegistryImage, "api", wired)
    outputs = schema()["resources"][token(RegistryImage)]["properties"]
    assert set(result.state) == set(outputs)
    assert resolve(result.urn).endswith("$container-registry:index:RegistryImage::api")
    assert resolve(result.state["repoDigest"]).startswith("registry.example.com/team/app@sha256:")
    assert not is_secret(result.state["repoDigest"])


def test_bad_input_through_the_provider_names_the_property_and_creates_nothing(
    harness: Harness,
) -> None:
    _, wired = image_inputs(secret_login=False)
    with pytest.raises(pulumi.InputPropertyError) as raised:
        construct(RegistryImage, "api", {**wired, "platform": "windows/amd64"})
    assert raised.value.property_path == "platform"
    assert "windows/amd64" in raised.value.reason
    assert harness.resources == []


def test_a_nested_error_names_the_path_the_program_wrote(harness: Harness) -> None:
    """The component names `lifecycle.keep_tagged_images`; a TypeScript or YAML program wrote
    `lifecycle.keepTaggedImages`, and the error says that."""
    with pytest.raises(pulumi.InputPropertyError) as raised:
        construct(Registry, "team", {"cloud": "aws", "lifecycle": {"keepTaggedImages": 0}})
    assert raised.value.property_path == "lifecycle.keepTaggedImages"
    assert harness.resources == []
    with pytest.raises(pulumi.InputPropertyError) as direct:
        Registry("team", {"cloud": Cloud.AWS, "lifecycle": {"keep_tagged_images": 0}})
    assert direct.value.property_path == "lifecycle.keep_tagged_images"
    assert direct.value.reason == raised.value.reason


def test_a_cloud_outside_the_enum_is_refused_in_the_components_words(harness: Harness) -> None:
    """A value no schema check saw (a YAML program's config, a TypeScript `as any`): Pulumi's
    ComponentProvider words the enum lookup in Python's terms; ours lets the Registry name
    what is allowed, as it does for a Python program."""
    with pytest.raises(pulumi.InputPropertyError) as sdk:
        ComponentProvider(list(COMPONENTS), PACKAGE).construct(
            "sdk", token(Registry), wire({"cloud": "mars"}), pulumi.ResourceOptions()
        )
    assert "for enum 'Cloud'" in sdk.value.reason
    with pytest.raises(pulumi.InputPropertyError) as raised:
        construct(Registry, "team", {"cloud": "mars"})
    assert raised.value.property_path == "cloud"
    assert raised.value.reason == "'mars' is not one of local, aws, azure, gcp"
    assert harness.resources == []


def test_a_cloud_in_another_case_is_taken_as_from_python(harness: Harness) -> None:
    """The Registry takes `cloud` in any case; the SDK's enum lookup alone refuses `AWS`."""
    with pytest.raises(pulumi.InputPropertyError):
        ComponentProvider(list(COMPONENTS), PACKAGE).construct(
            "sdk", token(Registry), wire({"cloud": "AWS"}), pulumi.ResourceOptions()
        )
    direct = run({}, lambda: Registry("team", {"cloud": Cloud.AWS}).urn)
    through_provider = run({}, lambda: construct(Registry, "team", {"cloud": "AWS"}).urn)
    assert (token(EcrRegistry), "team") in {(typ, name) for typ, name, *_ in direct}
    assert through_provider == direct


def test_integers_arrive_as_integers() -> None:
    """Numbers cross the wire as floats; Pulumi's ComponentProvider hands an integer property to
    the component as one (5123.0). Ours hands over 5123, also from inside an Output."""
    definition = Analyzer(PACKAGE).analyze(list(COMPONENTS))["component_definitions"]["Registry"]
    inputs = {
        "cloud": "local",
        "local": {"port": 5123},
        "lifecycle": pulumi.Output.secret({"keepTaggedImages": 9}),
    }
    sdk = ComponentProvider(list(COMPONENTS), PACKAGE).map_inputs(
        wire({"cloud": "local", "local": {"port": 5123}}), definition
    )
    assert repr(cast(dict[str, Any], sdk["local"])["port"]) == "5123.0"
    ours = shared_provider().map_inputs(wire(inputs), definition)
    assert repr(cast(dict[str, Any], ours["local"])["port"]) == "5123"
    assert repr(resolve(ours["lifecycle"])["keep_tagged_images"]) == "9"


@pytest.mark.parametrize(
    ("component", "python_path", "schema_path"),
    [
        ("Registry", "repository_name", "repositoryName"),
        ("Registry", "ci.mirror_build_args.BASE_IMAGE", "ci.mirrorBuildArgs.BASE_IMAGE"),
        ("Registry", "pull_principals[2]", "pullPrincipals[2]"),
        (
            "Registry",
            "gcp.docker_hub_password_secret_version",
            "gcp.dockerHubPasswordSecretVersion",
        ),
        ("RegistryImage", "build_args.MY_ARG", "buildArgs.MY_ARG"),
        ("RegistryImage", "login.password", "login.password"),
        ("RegistryImage", "not_a_field.x_y", "not_a_field.x_y"),
        ("RegistryImage", "", ""),
    ],
)
def test_schema_paths(component: str, python_path: str, schema_path: str) -> None:
    assert shared_provider().schema_path(component, python_path) == schema_path


# Per target: the Registry's inputs as Python takes them and as they come over the wire, with the
# nested option types (lifecycle, mirror, ci, the target's own) in use.
REGISTRY_INPUTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "local": (
        {"cloud": "local", "local": {"port": 5123, "user": "robot"}, "mirror": {"enabled": True}},
        {"cloud": "local", "local": {"port": 5123, "user": "robot"}, "mirror": {"enabled": True}},
    ),
    "aws": (
        {
            "cloud": "aws",
            "repository_name": "api",
            "lifecycle": {"untagged_expiry_days": 7, "keep_tagged_images": 10},
            "mirror": {"enabled": True},
            "ci": {"repository": "acme/api", "ref": "refs/heads/main"},
            "pull_principals": ["arn:aws:iam::123456789012:role/deployer"],
        },
        {
            "cloud": "aws",
            "repositoryName": "api",
            "lifecycle": {"untaggedExpiryDays": 7, "keepTaggedImages": 10},
            "mirror": {"enabled": True},
            "ci": {"repository": "acme/api", "ref": "refs/heads/main"},
            "pullPrincipals": ["arn:aws:iam::123456789012:role/deployer"],
        },
    ),
    "azure": (
        {
            "cloud": "azure",
            "azure": {"location": "westeurope", "sku": "Premium"},
            "mirror": {"enabled": True, "repositories": ["nginx"]},
            "ci": {"repository": "acme/api"},
        },
        {
            "cloud": "azure",
            "azure": {"location": "westeurope", "sku": "Premium"},
            "mirror": {"enabled": True, "repositories": ["nginx"]},
            "ci": {"repository": "acme/api"},
        },
    ),
    "gcp": (
        {
            "cloud": "gcp",
            "gcp": {"project": "my-project-123", "location": "europe-west4"},
            "mirror": {"enabled": True},
            "ci": {"repository": "acme/api", "environment": "production"},
            "force_delete": True,
        },
        {
            "cloud": "gcp",
            "gcp": {"project": "my-project-123", "location": "europe-west4"},
            "mirror": {"enabled": True},
            "ci": {"repository": "acme/api", "environment": "production"},
            "forceDelete": True,
        },
    ),
}


@pytest.mark.parametrize("target", sorted(REGISTRY_INPUTS))
def test_construct_registers_what_the_python_api_registers_per_target(target: str) -> None:
    python, wired = REGISTRY_INPUTS[target]
    direct = run({}, lambda: Registry("team", python).urn)  # type: ignore[arg-type]
    through_provider = run({}, lambda: construct(Registry, "team", wired).urn)
    assert len(direct) > 3, f"the {target} registry registered only {direct}"
    assert through_provider == direct
    assert ("container-registry:index:Registry", "team") in {
        (typ, name) for typ, name, *_ in direct
    }


# Each service's own component, through the provider: (class, Python Args, schema inputs).
SERVICE_INPUTS: dict[str, tuple[type[pulumi.ComponentResource], dict[str, Any], dict[str, Any]]] = {
    "aws": (
        EcrRegistry,
        {"repository_name": "api", "archive_unpulled_days": 30, "mirror": {"enabled": True}},
        {"repositoryName": "api", "archiveUnpulledDays": 30, "mirror": {"enabled": True}},
    ),
    "azure": (
        AcrRegistry,
        {"location": "westeurope", "sku": AcrSku.PREMIUM, "ci": {"repository": "acme/api"}},
        {"location": "westeurope", "sku": "Premium", "ci": {"repository": "acme/api"}},
    ),
    "gcp": (
        ArtifactRegistry,
        {"project": "my-project-123", "location": "europe-west4", "force_delete": True},
        {"project": "my-project-123", "location": "europe-west4", "forceDelete": True},
    ),
    "local": (
        LocalRegistry,
        {"port": 5050, "mirror": {"enabled": True, "port": 5060}},
        {"port": 5050, "mirror": {"enabled": True, "port": 5060}},
    ),
}


@pytest.mark.parametrize("target", sorted(SERVICE_INPUTS))
def test_construct_registers_what_the_python_api_registers_per_service(target: str) -> None:
    component, python, wired = SERVICE_INPUTS[target]
    direct = run({}, lambda: component("team", python).urn)  # type: ignore[call-arg]
    through_provider = run({}, lambda: construct(component, "team", wired).urn)
    assert len(direct) >= 3, f"the {target} service registered only {direct}"
    assert through_provider == direct
    assert (token(component), "team") in {(typ, name) for typ, name, *_ in direct}


def test_a_secret_docker_hub_token_reaches_the_local_mirror_through_the_provider(
    harness: Harness,
) -> None:
    """The engine makes the whole `mirror` input a secret Output when its `dockerHubToken` is
    one (docs/use-in-your-program.md tells a program to pass it so). `mirror` is plain: the
    provider hands it over as plain fields with the token a secret again, and the mirror
    container gets the token, as a secret."""
    pat = "dckr_pat_from_a_test"
    mirror = {
        "enabled": True,
        "dockerHubUser": "robot123",
        "dockerHubToken": pulumi.Output.secret(pat),
    }
    wired = wire({"cloud": "local", "mirror": mirror})
    assert isinstance(wired["mirror"], pulumi.Output), "the engine hands the mirror over as one"
    result = shared_provider().construct("team", token(Registry), wired, pulumi.ResourceOptions())
    resolve(result.urn)
    containers = harness.of_type("docker:index/container:Container")
    with_token = [c for c in containers if f"REGISTRY_PROXY_PASSWORD={pat}" in c.inputs["envs"]]
    assert len(with_token) == 1, [c.name for c in containers]
    assert "envs" in with_token[0].secret_paths


def test_an_input_unknown_in_a_preview_is_checked_when_it_is_known() -> None:
    """In a preview, a login from a registry not yet created is unknown: the provider cannot
    read it early, and constructs the image as Pulumi's own provider would."""
    mocks = RegistryMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="p", stack="s", preview=True, monitor=monitor)
    value: asyncio.Future[Any] = asyncio.Future()
    value.set_result(None)
    known: asyncio.Future[bool] = asyncio.Future()
    known.set_result(False)
    _, wired = image_inputs(secret_login=False)
    inputs = wire(
        {**wired, "login": pulumi.Output(set(), value, known)},
        {"login": ["urn:pulumi:s::p::container-registry:index:Registry::team"]},
    )
    assert isinstance(inputs["login"], pulumi.Output)
    shared_provider().construct("api", token(RegistryImage), inputs, pulumi.ResourceOptions())
    _sync_await(pulumi.runtime.stack.wait_for_rpcs())
    assert [r.typ for r in monitor.registered()] == [
        "container-registry:index:RegistryImage",
        "docker:index/image:Image",
    ]


def test_a_secret_input_is_read_inside_the_servers_running_event_loop(harness: Harness) -> None:
    """The gRPC server calls `construct` from its own coroutine (`_construct` in
    pulumi/provider/server.py), with the event loop running: the provider reads a secret input
    there too, and refuses a login without password before anything is registered."""
    _, wired = image_inputs(secret_login=False)
    inputs = wire(
        {**wired, "login": pulumi.Output.secret({"server": "r.example", "username": "u"})}
    )

    async def as_the_server_calls_it() -> Any:
        assert asyncio.get_running_loop().is_running()
        return shared_provider().construct(
            "api", token(RegistryImage), inputs, pulumi.ResourceOptions()
        )

    with pytest.raises(pulumi.InputPropertyError) as raised:
        _sync_await(as_the_server_calls_it())
    assert raised.value.property_path == "login.password"
    assert harness.resources == []
