"""How the pack is put together: each rule registered once with the resource types it judges, a
resource dispatched only to the rules of its type, the program's constants the rules use, and the
pack started the way Pulumi's policy host starts it."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from policy import RULE_NAMES, RULES, ResourceRule, StackRule, aws, azure, gcp, local
from policy.common import Config, Props, rule

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"


def test_every_rule_is_registered_once_with_its_types() -> None:
    assert len(RULES) == len(set(RULE_NAMES))
    for registered in RULES:
        assert registered.resource_types, f"{registered.name} judges no resource type"
        assert all(t.count(":") == 2 for t in registered.resource_types), registered.name


def test_registering_a_name_twice_is_refused() -> None:
    def check(resource_type: str, props: Props, config: Config) -> list[str]:
        return []

    with pytest.raises(ValueError, match="registered twice"):
        rule(RULES[0].name, types=("a:b:C",), description="again")(check)


def test_a_resource_reaches_only_the_rules_of_its_type() -> None:
    """A mutable ECR repository breaks ecr-immutable-tags; the same props on a GAR repository,
    or on a type no rule knows, reach no ECR rule at all."""
    mutable = {"imageTagMutability": "MUTABLE"}
    immutable_tags = next(r for r in RULES if r.name == "ecr-immutable-tags")
    assert isinstance(immutable_tags, ResourceRule)
    assert immutable_tags.judge(aws.ECR_REPOSITORY, mutable, {})
    assert immutable_tags.judge(gcp.GAR_REPOSITORY, mutable, {}) == []
    assert immutable_tags.judge("example:index/thing:Thing", mutable, {}) == []


def test_a_stack_rule_sees_only_its_types() -> None:
    """An ACR registry without cleanup is reported; a repository of another cloud is not handed
    to the ACR rule as a registry."""

    class Resource:
        def __init__(self, resource_type: str, name: str) -> None:
            self.resource_type = resource_type
            self.props = {"registryName": name, "name": name}
            self.urn = f"urn:pulumi:dev::p::{resource_type}::{name}"
            self.dependencies: list[str] = []

    cleanup = next(r for r in RULES if r.name == "acr-untagged-cleanup")
    assert isinstance(cleanup, StackRule)
    registry = Resource(azure.ACR_REGISTRY, "reg")
    assert [urn for _, urn in cleanup.judge([registry], {})] == [registry.urn]
    assert cleanup.judge([Resource(gcp.GAR_REPOSITORY, "reg")], {}) == []


def test_constants_the_rules_take_from_the_program() -> None:
    """The literals each cloud documents: ACR's SKUs (Microsoft's "Azure Container Registry
    service tiers"), AcrPush and AcrPull (built-in roles, Containers), Key Vault Secrets User
    (built-in roles, Security), GitHub's OIDC issuer and audience for AWS (GitHub's "Configuring
    OpenID Connect in Amazon Web Services"), and Docker's registry image (`registry`)."""
    assert azure.DEFAULT_ACR_SKUS == ("Basic", "Standard", "Premium")
    assert "8311e382-0749-4cb8-b61a-304f252e45ec" in azure.ACR_ROLE_IDS
    assert "7f951dda-4ed3-4680-a7ca-43fe172d538d" in azure.ACR_ROLE_IDS
    assert "4633458b-17de-408a-b874-0445c86b69e6" in azure.KEY_VAULT_SECRET_ROLE_IDS
    assert aws.GITHUB_AUDIENCE_AWS == "sts.amazonaws.com"
    assert local.REGISTRY_REPOSITORY == "registry"


def test_role_ids_are_compared_case_insensitively() -> None:
    """Azure returns role definition IDs in either case; an upper-case AcrPull on a subscription
    is still an ACR role too widely scoped."""
    props = {
        "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
        "7F951DDA-4ED3-4680-A7CA-43FE172D538D",
        "scope": "/subscriptions/s",
    }
    assert azure.acr_role_assignment_scoped(azure.AZURE_ROLE_ASSIGNMENT, props, {})


def test_the_pack_starts_as_the_policy_host_starts_it() -> None:
    """pulumi/policy/__main__.py runs `runpy.run_path(<pack dir>)` from the pack's directory:
    there, without the repository root on sys.path, the pack still finds its rules and the
    program's package, and serves every rule."""
    probe = (
        "import runpy, sys\n"
        "pack = runpy.run_path(sys.argv[1], run_name='probe')\n"
        "print(len(pack['policies']()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(POLICY_DIR)],
        cwd=POLICY_DIR,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(len(RULES))]


# The PyPI names of the cloud SDKs (https://pypi.org/project/pulumi-aws/, .../pulumi-azure-native/,
# .../pulumi-gcp/) and the modules they install.
CLOUD_SDKS = {
    "pulumi-aws": "pulumi_aws",
    "pulumi-azure-native": "pulumi_azure_native",
    "pulumi-gcp": "pulumi_gcp",
}


def project() -> dict[str, Any]:
    return tomllib.loads((POLICY_DIR.parent / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"
    ]


def requirement_lines() -> list[str]:
    """policy/requirements.txt without comments and blank lines."""
    text = (POLICY_DIR / "requirements.txt").read_text(encoding="utf-8")
    return [s for s in (line.split("#", 1)[0].strip() for line in text.splitlines()) if s]


def test_the_pack_venv_installs_the_package_without_cloud_sdks() -> None:
    """Pulumi fills the pack's virtualenv with `python -m pip install -r requirements.txt` run in
    the pack's folder (pulumi/pulumi sdk/python/toolchain/pip.go, InstallDependencies), so `..`
    is the repository root: the package there, with no extra, and no cloud SDK or requirements
    file of a stack beside it."""
    lines = requirement_lines()
    assert "-e .." in lines, lines
    assert not [line for line in lines if line.startswith(("-r", "-c"))], lines
    assert project()["name"] == "container-registry"
    named = {canonicalize_name(Requirement(line).name) for line in lines if line[0] != "-"}
    # cel-python: gcp-github-provider-condition parses Google's CEL condition.
    assert named == {"pulumi-policy", "cel-python"}
    base = {canonicalize_name(Requirement(d).name) for d in project()["dependencies"]}
    assert not base & set(CLOUD_SDKS), "the package's own dependencies pull a cloud SDK"


def modules_only_extras_install() -> set[str]:
    """The top-level modules of the distributions only the package's extras name (pyproject.toml),
    as this virtualenv's metadata maps them: what the pack's virtualenv does not have."""
    meta = project()
    base = {canonicalize_name(Requirement(d).name) for d in meta["dependencies"]}
    extras = {
        canonicalize_name(Requirement(d).name)
        for wanted in meta["optional-dependencies"].values()
        for d in wanted
    }
    return {
        module
        for module, distributions in metadata.packages_distributions().items()
        if {canonicalize_name(d) for d in distributions} & (extras - base)
    }


def test_the_pack_imports_nothing_its_venv_lacks() -> None:
    """Start the pack as the policy host does, in a fresh interpreter where the cloud SDKs (and
    whatever else only the package's extras install) cannot be imported, and import each of its
    modules: every rule is served, and none of those modules is loaded."""
    blocked = modules_only_extras_install()
    assert set(CLOUD_SDKS.values()) <= blocked, blocked
    modules = sorted(p.stem for p in POLICY_DIR.glob("*.py") if p.stem != "__main__")
    probe = (
        "import importlib, json, runpy, sys\n"
        "for name in json.loads(sys.argv[2]):\n"
        "    sys.modules[name] = None\n"
        "pack = runpy.run_path(sys.argv[1], run_name='probe')\n"
        "for module in json.loads(sys.argv[3]):\n"
        "    importlib.import_module('policy' if module == '__init__' else f'policy.{module}')\n"
        "loaded = sorted({n.split('.')[0] for n, m in sys.modules.items() if m is not None})\n"
        "print(json.dumps({'rules': len(pack['policies']()), 'loaded': loaded}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(POLICY_DIR), json.dumps(sorted(blocked))]
        + [json.dumps(modules)],
        cwd=POLICY_DIR,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["rules"] == len(RULES)
    assert not set(report["loaded"]) & blocked, report["loaded"]
    assert {"aws", "azure", "gcp", "grants", "image", "local", "common"} <= set(modules)
