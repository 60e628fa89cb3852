"""The files around the program: requirements, Pulumi.yaml's template, the CI workflow, LICENSE.

Where a real tool can judge a file it does: check-jsonschema with GitHub's workflow schema, and
with the Pulumi project schema the CLI itself embeds (tests/data/README.md says where it is from).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from stack.config.keys import PROVIDER_KEYS

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
PROJECT_SCHEMA = ROOT / "tests" / "data" / "pulumi-project.schema.json"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"

# Distribution name -> the module the program imports from it.
PROGRAM_PACKAGES = {
    "pulumi": "pulumi",
    "pulumi-aws": "pulumi_aws",
    "pulumi-azure-native": "pulumi_azure_native",
    "pulumi-gcp": "pulumi_gcp",
    "pulumi-docker": "pulumi_docker",
    "pulumi-random": "pulumi_random",
    "docker": "docker",
    "pyyaml": "yaml",
    "bcrypt": "bcrypt",
    "requests": "requests",
    "typing-extensions": "typing_extensions",
}


def check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), *map(str, args)], capture_output=True, text=True, check=False
    )


def requirement_names(path: Path) -> list[str]:
    names: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            assert match, f"{path.name}: cannot read {line!r}"
            names.append(match[0].lower())
    return names


def program_imports() -> set[str]:
    """The top-level modules __main__.py, stack/ and container_registry/ import."""
    found: set[str] = set()
    modules = [*(ROOT / "stack").rglob("*.py"), *(ROOT / "container_registry").rglob("*.py")]
    for path in [ROOT / "__main__.py", *sorted(modules)]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


# --------------------------------------------------------------------------- requirements


def test_requirements_hold_only_what_the_program_imports() -> None:
    """requirements.txt is the local stack's set, which a fresh clone's `pulumi up` installs;
    requirements-<cloud>.txt adds one cloud's SDK to it, and nothing else."""
    base = requirement_names(ROOT / "requirements.txt")
    clouds = {"aws": "pulumi-aws", "azure": "pulumi-azure-native", "gcp": "pulumi-gcp"}
    assert not set(base) & set(clouds.values()), "requirements.txt must hold no cloud SDK"
    everything = set(base)
    for cloud, sdk in clouds.items():
        path = ROOT / f"requirements-{cloud}.txt"
        lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
        assert "-r requirements.txt" in lines, f"{path.name} must start from requirements.txt"
        assert requirement_names(path) == [sdk], f"{path.name} adds {sdk} and nothing else"
        everything.add(sdk)
    assert everything == set(PROGRAM_PACKAGES), (
        "the requirement files are what `pulumi up` and ./up.sh install: the program's imports "
        "and nothing else; test and lint tools go to requirements-dev.txt"
    )
    imported = program_imports()
    for name in everything:
        assert PROGRAM_PACKAGES[name] in imported, f"{name} is required but never imported"


def test_requirements_dev_adds_the_tools_to_the_program() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[:3] == [
        "-r requirements-aws.txt",
        "-r requirements-azure.txt",
        "-r requirements-gcp.txt",
    ], "requirements-dev.txt starts from the program with every cloud's SDK (the tests need all)"
    tools = requirement_names(ROOT / "requirements-dev.txt")
    for tool in ("pytest", "hypothesis", "ruff", "pyright", "pulumi-policy", "check-jsonschema"):
        assert tool in tools, f"{tool} is missing from requirements-dev.txt"
    assert not set(tools) & set(PROGRAM_PACKAGES), "the program's packages come in through -r"


def test_ci_script_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed (Debian/Ubuntu: apt-get install -y shellcheck)")
    result = subprocess.run(
        [shellcheck, "--shell=bash", str(ROOT / ".ci" / "run")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_installs_the_dev_requirements_and_shows_the_slowest_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet --require-hashes -r requirements-dev.lock" in script
    assert "pip install --quiet -r requirements.txt" not in script
    pytest_line = next(line for line in script.splitlines() if "-m pytest" in line)
    assert "--durations=15" in pytest_line, pytest_line


# --------------------------------------------------------------------------- Pulumi.yaml


def test_pulumi_yaml_follows_the_pulumi_project_schema(tmp_path: Path) -> None:
    """One run of the real validator: Pulumi.yaml passes, and a template key the schema does not
    know fails (so the check can fail)."""
    broken = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    broken["template"]["prompts"] = {"cloud": "local"}
    broken_path = tmp_path / "Pulumi.yaml"
    broken_path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = check_jsonschema("--schemafile", PROJECT_SCHEMA, ROOT / "Pulumi.yaml", broken_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert str(broken_path) in result.stdout, result.stdout
    assert str(ROOT / "Pulumi.yaml") not in result.stdout, result.stdout


def test_template_asks_for_the_cloud_and_its_provider_settings() -> None:
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    template = document["template"]
    assert template["description"]
    config = template["config"]
    # No other project key: one set there would be set on every target, and warned about.
    assert set(config) == {
        "cloud",
        "aws:region",
        "azure-native:location",
        "gcp:project",
        "gcp:region",
    }
    assert set(config) - {"cloud", "aws:region"} <= set(PROVIDER_KEYS)
    for key, spec in config.items():
        assert spec["description"], f"template config {key} needs a description"
        # ProjectTemplateConfigValue.Default is a string (sdk/go/common/apitype/templates.go).
        assert isinstance(spec.get("default", ""), str), f"template default of {key}"
    assert config["cloud"]["default"] == document["config"]["cloud"]["default"]


# --------------------------------------------------------------------------- CI workflow


def test_workflow_passes_githubs_schema(tmp_path: Path) -> None:
    broken = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    del broken["jobs"]["check"]["runs-on"]
    broken_path = tmp_path / "ci.yml"
    broken_path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = check_jsonschema("--builtin-schema", "vendor.github-workflows", WORKFLOW, broken_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert str(broken_path) in result.stdout, result.stdout
    assert str(WORKFLOW) not in result.stdout, result.stdout


def test_workflow_runs_ci_with_pinned_actions() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    uses = re.findall(r"^\s*-?\s*uses:\s*(.+)$", text, re.MULTILINE)
    assert uses, "the workflow uses no action"
    for line in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line.strip()), (
            f"pin {line!r} to a full commit SHA, with its release tag as a comment"
        )
    steps = yaml.safe_load(text)["jobs"]["check"]["steps"]
    assert any(step.get("run") == "bash .ci/run" for step in steps), "CI must run bash .ci/run"


# --------------------------------------------------------------------------- LICENSE


def test_license_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text, "the full text, not a summary"


def test_template_quickstart_gives_the_readmes_commands() -> None:
    quickstart = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["template"][
        "quickstart"
    ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"`(\./up\.sh[^`]*)`", quickstart)
    assert "./up.sh" in shown and "./up.sh --stack dev --destroy" in shown, quickstart
    for command in shown:
        assert command in readme, f"the quickstart's `{command}` is not in README.md"
    assert "`pulumi up`" not in quickstart, "README's quickstart is ./up.sh"
