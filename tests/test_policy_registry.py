"""How the pack is put together: each rule registered once with the resource types it judges, a
resource dispatched only to the rules of its type, the program's constants the rules use, and the
pack started the way Pulumi's policy host starts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_the_pack_venv_installs_the_program() -> None:
    """The rules import the program's package, which imports every cloud's SDK: the pack's own
    virtualenv (policy/requirements.txt) installs each target's requirements, and each of those
    files exists (pip resolves `-r` relative to the file that names it)."""
    requirements = (POLICY_DIR / "requirements.txt").read_text(encoding="utf-8")
    included = [line.split(None, 1)[1] for line in requirements.splitlines() if line[:3] == "-r "]
    for cloud in ("aws", "azure", "gcp"):
        assert f"../requirements-{cloud}.txt" in included, cloud
    for path in included:
        assert (POLICY_DIR / path).is_file(), path
