"""The examples in examples/ (issue 21 item 4): the Python one runs here under mocks; the
TypeScript and YAML ones need the Pulumi CLI (and Node.js) and run in the opt-in end-to-end test
(tests/e2e/test_examples.py). Here all three are checked for what needs no CLI: their project
files against the Pulumi project schema, and that they use the package the provider serves."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from conftest import ROOT, Harness, is_secret, resolve
from container_registry.provider import PACKAGE, schema

EXAMPLES = ROOT / "examples"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
PROJECT_SCHEMA = ROOT / "tests" / "data" / "pulumi-project.schema.json"


def project(example: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / example / "Pulumi.yaml").read_text(encoding="utf-8"))


def config_defaults(example: str) -> dict[str, str]:
    """The example's config as the CLI would hand it over: Pulumi.yaml's defaults."""
    return {key: str(spec["default"]) for key, spec in project(example)["config"].items()}


def test_the_python_example_runs_under_mocks(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = EXAMPLES / "python"
    monkeypatch.chdir(example)  # the CLI runs a program in its project folder
    harness.configure(**config_defaults("python"))
    runpy.run_path(str(example / "__main__.py"), run_name="__main__")

    registry = harness.one("container-registry:index:Registry")
    image = harness.one("container-registry:index:RegistryImage")
    assert (registry.name, image.name) == ("team", "api")
    build = harness.one("docker:index/image:Image").inputs["build"]
    assert (example / build["context"]).resolve() == ROOT / "app"
    # The registry listens where the example's config says, on loopback only.
    ports = [
        port
        for container in harness.of_type("docker:index/container:Container")
        for port in container.inputs.get("ports", [])
    ]
    assert {"external": 5050, "internal": 5000, "ip": "127.0.0.1"} in [
        {key: port.get(key) for key in ("external", "internal", "ip")} for port in ports
    ]

    outputs = pulumi_outputs()
    assert set(outputs) == {"repositoryUrl", "repoDigest"}
    assert resolve(outputs["repoDigest"]).startswith(resolve(outputs["repositoryUrl"]) + "@sha256:")
    assert not is_secret(outputs["repoDigest"])


def pulumi_outputs() -> dict[str, Any]:
    root = pulumi.runtime.get_root_resource()
    assert root is not None
    return dict(root.outputs)  # type: ignore[attr-defined]


@pytest.mark.parametrize("example", ["python", "typescript", "yaml"])
def test_each_example_is_a_valid_project(example: str) -> None:
    done = subprocess.run(
        [
            str(CHECK_JSONSCHEMA),
            "--schemafile",
            str(PROJECT_SCHEMA),
            str(EXAMPLES / example / "Pulumi.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("example", ["typescript", "yaml"])
def test_the_other_languages_add_the_provider_of_this_repository(example: str) -> None:
    packages = project(example)["packages"]
    assert list(packages) == [PACKAGE]
    assert (EXAMPLES / example / packages[PACKAGE]).resolve() == ROOT / "provider"


def refused_properties(
    values: dict[str, Any], properties: dict[str, Any], package: dict[str, Any], path: str
) -> list[str]:
    """The keys of `values` (a YAML program's properties) that the schema does not have, or
    whose literal value is outside the schema's enum, nested objects included."""
    found: list[str] = []
    for key, value in values.items():
        spec = properties.get(key)
        if spec is None:
            found.append(f"{path}{key}")
            continue
        ref = spec.get("$ref", "")
        named = package["types"].get(ref.removeprefix("#/types/"), {})
        allowed = [member["value"] for member in named.get("enum", [])]
        literal = isinstance(value, str) and not value.startswith("${")
        if allowed and literal and value not in allowed:
            found.append(f"{path}{key}")
        nested = named.get("properties")
        if isinstance(value, dict) and nested is not None:
            found += refused_properties(value, nested, package, f"{path}{key}.")
    return found


def test_the_yaml_example_uses_the_schemas_types_and_properties() -> None:
    """A type, property or enum value the provider does not have fails a YAML program only when
    it runs: checked here against the schema."""
    package = schema()
    for name, resource in project("yaml")["resources"].items():
        spec = package["resources"].get(resource["type"])
        assert spec is not None, f"{name}: {resource['type']} is not in the schema"
        properties = resource["properties"]
        refused = refused_properties(properties, spec["inputProperties"], package, "")
        assert not refused, f"{name}: {resource['type']} refuses {refused}"
        missing = set(spec["requiredInputs"]) - set(properties)
        assert not missing, f"{name}: misses the required {sorted(missing)}"


def test_refused_properties_looks_into_nested_types_and_enums() -> None:
    package = schema()
    registry = package["resources"]["container-registry:index:Registry"]["inputProperties"]
    assert refused_properties({"cloud": "local", "local": {"port": 1}}, registry, package, "") == []
    assert refused_properties(
        {"clowd": "local", "local": {"prot": 1}, "mirror": {"enabled": True}},
        registry,
        package,
        "",
    ) == ["clowd", "local.prot"]
    # The schema's own enum: `cloud` is one of four (from the config, `${...}`, it is not seen).
    assert refused_properties({"cloud": "mars"}, registry, package, "") == ["cloud"]
    assert refused_properties({"cloud": "${where}"}, registry, package, "") == []
    azure = {"cloud": "azure", "azure": {"sku": "Free"}}
    assert refused_properties(azure, registry, package, "") == ["azure.sku"]


def requirement_lines(path: Path) -> list[str]:
    """A requirements file's requirements: no comments, no blank lines, no hash continuations."""
    lines = [line.split(" #")[0].rstrip(" \\") for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.lstrip().startswith(("#", "--hash"))]


def test_the_python_example_pins_what_it_installs() -> None:
    """Beside the package itself, every package the Python example installs is pinned with `==`,
    at the version requirements.lock holds: uv's lock of requirements.txt, which is the package
    with its `local` extra (tests/test_package.py keeps those the same)."""
    lines = requirement_lines(EXAMPLES / "python" / "requirements.txt")
    assert lines[0] == "../..[local]"
    assert all("==" in line for line in lines[1:]), lines
    locked = {line for line in requirement_lines(ROOT / "requirements.lock")}
    assert set(lines[1:]) == locked


def test_the_typescript_example_pins_exact_versions() -> None:
    """npm installs an exact version only for a bare `MAJOR.MINOR.PATCH` (no `^`, `~`, `>=`
    or `x`: the node-semver range syntax npm documents for package.json)."""
    package = json.loads((EXAMPLES / "typescript" / "package.json").read_text())
    versions = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    assert versions, "the example installs packages"
    loose = {name: v for name, v in versions.items() if not re.fullmatch(r"\d+\.\d+\.\d+", v)}
    assert loose == {}
