"""The policy pack's Azure rules (policy/azure.py) shown biting on broken copies of what the program
registers for ACR, its cleanup and its role assignments."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from policy_harness import (
    DELETE,
    VAULT_ID,
    Breakage,
    add,
    ci_breakage,
    cut_scope,
    deploy,
    direct_violations,
    drop,
    edit,
    first,
    rule_named,
    secrets_role_assignment,
    set_key,
)

from conftest import AZURE_SUBSCRIPTION
from policy import RULES, azure


def acr_task_yaml(change: Callable[[str], str]) -> Callable[[dict[str, Any]], None]:
    def changing(props: dict[str, Any]) -> None:
        step = props["step"]
        text = base64.b64decode(step["encodedTaskContent"]).decode()
        step["encodedTaskContent"] = base64.b64encode(change(text).encode()).decode()

    return changing


# Keyless CI push (issue 11): broken copies of what CI_STACK['azure'] creates.
AZURE_CI_BREAKAGES: tuple[Breakage, ...] = (
    ci_breakage(
        "azure-federated-credential-no-wildcard",
        "azure",
        "repo-wildcard",
        edit(
            azure.AZURE_FEDERATED_CREDENTIAL,
            set_key("subject", "repo:acme/*:ref:refs/heads/main"),
        ),
    ),
    ci_breakage(
        "azure-federated-credential-no-wildcard",
        "azure",
        "empty",
        edit(azure.AZURE_FEDERATED_CREDENTIAL, set_key("subject", "")),
    ),
    ci_breakage(
        "acr-role-assignment-scoped",
        "azure",
        "scope-resource-group",
        edit(azure.AZURE_ROLE_ASSIGNMENT, cut_scope(5)),
    ),
    ci_breakage(
        "acr-role-assignment-scoped",
        "azure",
        "scope-subscription",
        edit(azure.AZURE_ROLE_ASSIGNMENT, cut_scope(3)),
    ),
    ci_breakage(
        "no-public-grants",
        "azure",
        "role-assignment-star",
        edit(azure.AZURE_ROLE_ASSIGNMENT, set_key("principalId", "*")),
    ),
)
AZURE_BREAKAGES: tuple[Breakage, ...] = (
    *AZURE_CI_BREAKAGES,
    # Key Vault secrets roles (the mirror's credential set); more in tests/test_mirror_policy.py
    *(
        Breakage(
            "key-vault-role-assignment-scoped",
            "azure",
            kind,
            add(azure.AZURE_ROLE_ASSIGNMENT, secrets_role_assignment(scope)),
        )
        for kind, scope in (
            ("secrets-user-on-a-group", VAULT_ID.split("/providers/")[0]),
            ("secrets-user-on-the-subscription", "/".join(VAULT_ID.split("/")[:3])),
            (
                "secrets-user-on-a-storage-account",
                VAULT_ID.replace("Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts"),
            ),
        )
    ),
    Breakage(
        "key-vault-role-assignment-scoped",
        "azure",
        "administrator-on-the-subscription",
        add(
            azure.AZURE_ROLE_ASSIGNMENT,
            {
                **secrets_role_assignment("/".join(VAULT_ID.split("/")[:3])),
                # Key Vault Administrator (Microsoft's built-in roles page, Security).
                "roleDefinitionId": f"/subscriptions/{AZURE_SUBSCRIPTION}/providers/"
                "Microsoft.Authorization/roleDefinitions/00482a5a-887f-4fb3-b363-3b7fe8e74483",
            },
        ),
    ),
    # ACR
    Breakage(
        "acr-anonymous-pull-disabled",
        "azure",
        "anonymous-pull",
        edit(azure.ACR_REGISTRY, set_key("anonymousPullEnabled", True)),
    ),
    # The same switch as a string, the way a YAML or JSON value may carry it.
    Breakage(
        "acr-anonymous-pull-disabled",
        "azure",
        "anonymous-pull-as-text",
        edit(azure.ACR_REGISTRY, set_key("anonymousPullEnabled", "True")),
    ),
    # Microsoft Learn, "Azure ABAC repository permissions in Azure Container Registry": the ARM
    # value of the CLI's `--role-assignment-mode rbac-abac`.
    Breakage(
        "acr-classic-rbac",
        "azure",
        "abac",
        edit(azure.ACR_REGISTRY, set_key("roleAssignmentMode", "AbacRepositoryPermissions")),
    ),
    Breakage(
        "acr-classic-rbac",
        "azure",
        "abac-lowercase",
        edit(azure.ACR_REGISTRY, set_key("roleAssignmentMode", "abacrepositorypermissions")),
    ),
    Breakage(
        "acr-sku-allowed",
        "azure",
        "classic",
        edit(azure.ACR_REGISTRY, set_key("sku.name", "Classic")),
    ),
    Breakage(
        "acr-sku-allowed", "azure", "missing", edit(azure.ACR_REGISTRY, set_key("sku", DELETE))
    ),
    Breakage(
        "acr-sku-allowed",
        "azure",
        "configured-out",
        lambda stack: stack,
        config={"allowedSkus": ["Premium"]},
    ),
    Breakage("acr-untagged-cleanup", "azure", "no-task", drop(azure.ACR_TASK)),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "purge-keeps-untagged",
        edit(azure.ACR_TASK, acr_task_yaml(lambda text: text.replace("--untagged", ""))),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "untagged-on-another-command",
        edit(
            azure.ACR_TASK,
            acr_task_yaml(lambda text: text.replace("--untagged", "") + "- cmd: echo --untagged\n"),
        ),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "not-scheduled",
        edit(azure.ACR_TASK, set_key("trigger", DELETE)),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "timer-disabled",
        edit(
            azure.ACR_TASK,
            lambda p: p["trigger"]["timerTriggers"][0].update(status="Disabled"),
        ),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "task-disabled",
        edit(azure.ACR_TASK, set_key("status", "Disabled")),
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "task-of-another-registry",
        lambda stack: [
            replace(r, props={**r.props, "registryName": "another"}, dependencies=())
            if r.resource_type == azure.ACR_TASK
            else r
            for r in stack
        ],
    ),
    Breakage(
        "acr-untagged-cleanup",
        "azure",
        "retention-disabled-no-task",
        lambda stack: drop(azure.ACR_TASK)(
            edit(azure.ACR_REGISTRY, set_key("policies.retentionPolicy.status", "disabled"))(stack)
        ),
    ),
)


@pytest.mark.parametrize("sku", ["Basic", "Standard", "Premium"])
def test_acr_every_sku_cleans_up_untagged_images(sku: str) -> None:
    """Premium uses the registry's retention policy, the others the `acr purge` task."""
    stack = deploy("azure", acrSku=sku)
    for rule in RULES:
        assert direct_violations(rule, stack) == [], f"{rule.name} with acrSku={sku}"


def test_acr_task_found_by_dependency_when_outputs_lack_registry_name() -> None:
    """azure-native outputs may carry the registry's `name` but not the `registryName` path
    parameter; a purge task that depends on the registry still counts."""
    stack = deploy("azure")
    stack = [
        replace(r, state={k: v for k, v in r.outputs.items() if k != "registryName"})
        if r.resource_type in (azure.ACR_REGISTRY, azure.ACR_TASK)
        else r
        for r in stack
    ]
    registry = first(stack, azure.ACR_REGISTRY)
    assert registry.state is not None
    registry.state["name"] = registry.props["registryName"]
    rule = rule_named("acr-untagged-cleanup")
    assert direct_violations(rule, stack) == []
    undepended = [replace(r, dependencies=()) for r in stack]
    assert direct_violations(rule, undepended)
