"""Azure's built-in role definition IDs the program grants, as plain data: no SDK here, so the
policy pack (policy/azure.py) checks the same IDs without installing pulumi-azure-native."""

from __future__ import annotations

# Built-in role definition IDs, the same in every tenant
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers).
ACR_PUSH_ROLE = "8311e382-0749-4cb8-b61a-304f252e45ec"
ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
# The built-in role that reads secret values, the same ID in every tenant
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security,
# "Key Vault Secrets User"). It acts only on vaults that use the Azure RBAC permission model.
KEY_VAULT_SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"
