"""Record the URNs a stack program registers, per target and option set (issue 21, item 3).

Two generations are kept. tests/data/urns/*.json were written by this script from the program as
it stood before the component package (the `registries/` layout, commit e673ec7);
tests/data/urns/registry/*.json from the program of the one-`Registry` layout (issues 21 to 27,
commit 9458afc), where every resource was a direct child of `container-registry:index:Registry`.
Every stack made by those programs has exactly these URNs in its state. tests/test_urns.py runs
today's program with the same config and checks that it registers each recorded URN, or an alias
of it, so an upgrade plans no replace and no delete. Re-record only on purpose, into a new folder:
`venv/bin/python -m tests.urn_record <folder under tests/data/urns>`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
URN_DIR = ROOT / "tests" / "data" / "urns"

SECRET_ARN = (
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
)
VAULT_ID = (
    "/subscriptions/3f1c9a52-7d4e-4b8a-9c61-2e5d8f0a7b13/resourceGroups/secrets-rg"
    "/providers/Microsoft.KeyVault/vaults/my-vault"
)
# Per target: the default stack, and one with every option that adds resources (mirror with
# upstream credentials, keyless CI push, pull principals).
VARIANTS: dict[str, dict[str, dict[str, str]]] = {
    "local": {
        "default": {},
        "full": {"mirror": "true", "dockerHubUser": "someone", "dockerHubToken": "dckr-mock"},
    },
    "aws": {
        "default": {},
        "full": {
            "mirror": "true",
            "dockerHubCredentialsSecretArn": SECRET_ARN,
            "ciRepository": "acme@1001/app@2002",
            "pullPrincipals": '["arn:aws:iam::210987654321:root"]',
        },
        "ci-environment": {
            "ciRepository": "acme/app",
            "ciEnvironment": "production",
            "ciSubjectIncludesRef": "true",
            "awsOidcProviderArn": (
                "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
            ),
        },
    },
    "azure": {
        "default": {},
        "full": {
            "mirror": "true",
            "mirrorRepositories": '["*"]',
            "acrDockerHubUsernameSecretUri": "https://my-vault.vault.azure.net/secrets/dh-user",
            "acrDockerHubPasswordSecretUri": "https://my-vault.vault.azure.net/secrets/dh-token",
            "acrDockerHubKeyVaultId": VAULT_ID,
            "ciRepository": "acme@1001/app@2002",
            "pullPrincipals": '["Group:0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"]',
            "untaggedExpiryDays": "7",
        },
        "resource-group": {"azureResourceGroup": "my-rg", "acrSku": "Premium"},
    },
    "gcp": {
        "default": {},
        "full": {
            "mirror": "true",
            "gcpDockerHubPasswordSecretVersion": "projects/other-proj/secrets/dh/versions/3",
            "dockerHubUser": "someone",
            "ciRepository": "acme@1001/app@2002",
            "pullPrincipals": '["group:pullers@example.com"]',
        },
    },
}


# A program that builds a service component itself ("registry"), with every option that adds
# resources: tests/data/urns/services/<cloud>.json (issue 28), recorded from the first such
# layout, `venv/bin/python -m tests.urn_record services`.
SERVICE_ARGS: dict[str, dict[str, Any]] = {
    "aws": {
        "mirror": {"enabled": True, "docker_hub_secret_arn": SECRET_ARN},
        "ci": {"repository": "acme@1001/app@2002"},
        "pull_principals": ["arn:aws:iam::210987654321:root"],
    },
    "azure": {
        "location": "westeurope",
        "mirror": {
            "enabled": True,
            "docker_hub_username_secret_uri": "https://my-vault.vault.azure.net/secrets/dh-user",
            "docker_hub_password_secret_uri": "https://my-vault.vault.azure.net/secrets/dh-token",
            "docker_hub_key_vault_id": VAULT_ID,
        },
        "ci": {"repository": "acme@1001/app@2002"},
        "pull_principals": ["Group:0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"],
    },
    "gcp": {
        "project": "my-project-123",
        "location": "europe-west4",
        "mirror": {"enabled": True, "docker_hub_user": "someone"},
        "ci": {"repository": "acme@1001/app@2002"},
        "pull_principals": ["group:pullers@example.com"],
    },
    "local": {"mirror": {"enabled": True}},
}


def record_services(out: Path) -> None:
    """The URNs of a program that builds each service component itself."""
    import test_urns

    for cloud in SERVICE_ARGS:
        urns = test_urns.service_urns(cloud)
        path = out / f"{cloud}.json"
        body = {"cloud": cloud, "args": SERVICE_ARGS[cloud], "urns": sorted(urns)}
        path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
        print(f"{path.relative_to(ROOT)}: {len(urns)} resources")


def recorded(run_resources: list[Any]) -> list[dict[str, Any]]:
    """What a state file keeps of each resource that decides a replace: URN, type, parent."""
    return [
        {"urn": r.urn, "type": r.typ, "parent": r.parent, "custom": r.custom} for r in run_resources
    ]


def main() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import conftest  # the mocks and program runner the unit tests use
    import container_registry.azure.mode

    # ARM answers as the unit tests have it (conftest.arm_get): no HTTP under the mocks.
    container_registry.azure.mode.get_registry = conftest.arm_get

    out = URN_DIR / sys.argv[1] if len(sys.argv) > 1 else URN_DIR
    out.mkdir(parents=True, exist_ok=True)
    if out.name == "services":
        record_services(out)
        return
    for cloud, variants in VARIANTS.items():
        for variant, config in variants.items():
            run = conftest._program_run(cloud, tuple(sorted(config.items())))
            path = out / f"{cloud}-{variant}.json"
            body = {"cloud": cloud, "config": config, "resources": recorded(run.resources)}
            path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
            print(f"{path.relative_to(ROOT)}: {len(run.resources)} resources")


if __name__ == "__main__":
    main()
