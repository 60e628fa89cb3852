"""Settings of keyless CI push (ciRepository, ciRef, ciEnvironment, awsOidcProviderArn) and the
per-cloud forms of pullPrincipals: accepted in each cloud's own form, anything else refused with
the key named and nothing registered."""

from __future__ import annotations

import json
import re
import shlex

import pulumi
import pytest

from conftest import ROOT, Harness, options_of
from container_registry import AcrOptions, ArtifactOptions, EcrOptions, LocalOptions
from container_registry.options import DEFAULT_CI_REF, CiOptions
from stack.config import load_settings
from stack.config.errors import SettingsError
from stack.config.keys import PROJECT_KEYS
from stack.config.parse import parse_settings

GCP = {"gcp:project": "my-project-123", "gcp:region": "europe-west4"}


def app_ci(*args: str | None, **values: str | bool | None) -> CiOptions:
    """The CI options the stack gives for app/: its context, and its base image (BASE_IMAGE in
    app/Dockerfile) through the mirror when there is one."""
    return CiOptions(
        *args,  # type: ignore[arg-type]
        **values,  # type: ignore[arg-type]
        context="app",
        mirror_build_args=(("BASE_IMAGE", "nginx"),),
    )


CLOUD_CONFIG: dict[str, dict[str, str]] = {
    "aws": {"cloud": "aws"},
    "azure": {"cloud": "azure", "azure-native:location": "westeurope"},
    "gcp": {"cloud": "gcp", **GCP},
}


def test_ci_is_off_unless_a_repository_is_named() -> None:
    assert parse_settings({"cloud": "aws"}).ci is None
    # ciRef and ciEnvironment alone create nothing, but are still checked.
    assert parse_settings({"cloud": "aws", "ciEnvironment": "prod"}).ci is None
    with pytest.raises(SettingsError):
        parse_settings({"cloud": "aws", "ciRef": "refs/heads/*"})


@pytest.mark.parametrize("cloud", sorted(CLOUD_CONFIG))
def test_ci_repository_defaults_to_the_main_branch(cloud: str) -> None:
    settings = parse_settings({**CLOUD_CONFIG[cloud], "ciRepository": "acme/app"})
    assert settings.ci == app_ci(repository="acme/app", ref=DEFAULT_CI_REF, environment=None)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"ciRef": "refs/tags/v1.2.3"}, app_ci("acme/app", "refs/tags/v1.2.3", None)),
        ({"ciRef": "refs/heads/release/2026"}, app_ci("acme/app", "refs/heads/release/2026")),
        # An environment keeps the ref: the workflow runs, and the job starts, for it alone.
        (
            {"ciEnvironment": "production", "ciSubjectIncludesRef": "true"},
            app_ci("acme/app", DEFAULT_CI_REF, "production", subject_includes_ref=True),
        ),
        (
            {
                "ciEnvironment": "prod",
                "ciRef": "refs/heads/release",
                "ciSubjectIncludesRef": "True",
            },
            app_ci("acme/app", "refs/heads/release", "prod", subject_includes_ref=True),
        ),
    ],
)
def test_ref_and_environment(config: dict[str, str], expected: CiOptions) -> None:
    settings = parse_settings({"cloud": "aws", "ciRepository": "acme/app", **config})
    assert settings.ci == expected


# --------------------------------------------------------------------------- immutable subjects
# GitHub docs, "OpenID Connect reference", "Immutable subject claims": the owner's and the
# repository's numeric IDs follow their names after '@', e.g.
# repo:octocat@123456/my-repo@456789:ref:refs/heads/main.


@pytest.mark.parametrize(
    ("config", "subject"),
    [
        ({}, "repo:acme@1001/app@2002:ref:refs/heads/main"),
        ({"ciRef": "refs/tags/v1"}, "repo:acme@1001/app@2002:ref:refs/tags/v1"),
        # GitHub docs, "Customizing the subject claims": with include_claim_keys [repo,
        # context, ref, job_workflow_ref] each claim follows as <key>:<value>; the repo segment
        # keeps the IDs, job_workflow_ref names the workflow file at its ref by name.
        (
            {"ciEnvironment": "production", "ciSubjectIncludesRef": "true"},
            "repo:acme@1001/app@2002:environment:production:ref:refs/heads/main"
            ":job_workflow_ref:acme/app/.github/workflows/push-image.yml@refs/heads/main",
        ),
        (
            {"ciSubjectIncludesRef": "true"},
            "repo:acme@1001/app@2002:ref:refs/heads/main:ref:refs/heads/main"
            ":job_workflow_ref:acme/app/.github/workflows/push-image.yml@refs/heads/main",
        ),
    ],
)
def test_immutable_form_is_trusted_as_given(config: dict[str, str], subject: str) -> None:
    settings = parse_settings({"cloud": "aws", "ciRepository": "acme@1001/app@2002", **config})
    assert settings.ci is not None
    assert settings.ci.repository == "acme/app"
    assert (settings.ci.owner_id, settings.ci.repository_id) == ("1001", "2002")
    assert settings.ci.subject == subject
    assert settings.warnings == (), "the immutable form draws no warning"


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_name_only_form_warns_with_the_date_what_breaks_and_the_command(cloud: str) -> None:
    settings = parse_settings({**CLOUD_CONFIG[cloud], "ciRepository": "acme/app"})
    assert settings.ci is not None and settings.ci.subject == "repo:acme/app:ref:refs/heads/main"
    (warning,) = settings.warnings
    assert warning.startswith("ciRepository acme/app ")
    assert "2026-07-15" in warning
    assert "refused" in warning and "repo:acme/app:ref:refs/heads/main" in warning
    # The one command, as a user would paste it: gh's --jq prints owner@ID/name@ID.
    command = re.search(r"`(gh api [^`]+)`", warning)
    assert command is not None, warning
    assert shlex.split(command.group(1)) == [
        "gh",
        "api",
        "repos/acme/app",
        "--jq",
        '"\\(.owner.login)@\\(.owner.id)/\\(.name)@\\(.id)"',
    ]


def test_load_settings_logs_the_name_only_warning(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warning reaches `pulumi up` through pulumi.log.warn, like every settings warning."""
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    harness.configure(cloud="aws", ciRepository="acme/app")
    load_settings()
    assert len(logged) == 1 and "2026-07-15" in logged[0], logged
    logged.clear()
    harness.configure(cloud="aws", ciRepository="acme@1001/app@2002")
    load_settings()
    assert logged == []


@pytest.mark.parametrize(
    "value",
    [
        "acme@1001/app",  # only the owner's ID
        "acme/app@2002",  # only the repository's ID
        "acme@/app@2002",
        "acme@1001/app@",
        "acme@0/app@2002",  # IDs start at 1
        "acme@01001/app@2002",
        "acme@1001/app@-2002",
        "acme@1001/app@2e3",
        "acme@1001/app@20 02",
        "acme@1001@1/app@2002",
        "acme@1001/app@2002/x",
        "acme@*/app@2002",
        "acme@1001/app@*",
        "acme@1001/*@2002",
        "*@1001/app@2002",
        "acme@1001/app@" + "9" * 21,
        "acme@1001",
    ],
)
def test_bad_immutable_form_refused(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "aws", "ciRepository": value})
    assert caught.value.key == "ciRepository"
    assert str(caught.value).startswith("ciRepository: ")


def test_one_sided_ids_say_how_to_get_both() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "aws", "ciRepository": "acme@1001/app"})
    assert "only one of the two IDs" in str(caught.value)
    assert "gh api repos/acme/app --jq" in str(caught.value)


@pytest.mark.parametrize(
    "repository",
    ["Acme-Corp/my.app_2", "a/b", "x" * 39 + "/" + "y" * 100, "octo-org/.github"],
)
def test_github_repository_names_accepted(repository: str) -> None:
    settings = parse_settings({"cloud": "aws", "ciRepository": repository})
    assert settings.ci is not None and settings.ci.repository == repository


BAD_CI: list[tuple[dict[str, str], str]] = [
    ({"ciRepository": "*"}, "ciRepository"),
    ({"ciRepository": "acme/*"}, "ciRepository"),
    ({"ciRepository": "*/app"}, "ciRepository"),
    ({"ciRepository": "acme"}, "ciRepository"),
    ({"ciRepository": "acme/"}, "ciRepository"),
    ({"ciRepository": "/app"}, "ciRepository"),
    ({"ciRepository": "acme/app/extra"}, "ciRepository"),
    ({"ciRepository": "-acme/app"}, "ciRepository"),
    ({"ciRepository": "acme-/app"}, "ciRepository"),
    ({"ciRepository": "ac--me/app"}, "ciRepository"),
    ({"ciRepository": "x" * 40 + "/app"}, "ciRepository"),
    ({"ciRepository": "acme/" + "y" * 101}, "ciRepository"),
    ({"ciRepository": "acme/."}, "ciRepository"),
    ({"ciRepository": "acme/.."}, "ciRepository"),
    ({"ciRepository": "acme/my app"}, "ciRepository"),
    ({"ciRepository": "acme/app:ref:refs/heads/main"}, "ciRepository"),
    ({"ciRepository": "https://github.com/acme/app"}, "ciRepository"),
    ({"ciRef": "main"}, "ciRef"),
    ({"ciRef": "refs/heads/*"}, "ciRef"),
    ({"ciRef": "refs/heads/release-*"}, "ciRef"),
    ({"ciRef": "refs/heads/a..b"}, "ciRef"),
    ({"ciRef": "refs/heads/.hidden"}, "ciRef"),
    ({"ciRef": "refs/heads/x.lock"}, "ciRef"),
    ({"ciRef": "refs/heads/x/"}, "ciRef"),
    ({"ciRef": "refs/heads/a b"}, "ciRef"),
    ({"ciRef": "refs/pull/1/merge"}, "ciRef"),
    ({"ciRef": "refs/heads/main:x"}, "ciRef"),
    ({"ciEnvironment": "*"}, "ciEnvironment"),
    ({"ciEnvironment": "prod:ref"}, "ciEnvironment"),
    ({"ciEnvironment": "x" * 256}, "ciEnvironment"),
    ({"ciEnvironment": "prod", "ciRef": "refs/heads/*"}, "ciRef"),
    ({"awsOidcProviderArn": "*"}, "awsOidcProviderArn"),
    (
        {"awsOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/gitlab.com"},
        "awsOidcProviderArn",
    ),
    (
        {"awsOidcProviderArn": "arn:aws:iam::*:oidc-provider/token.actions.githubusercontent.com"},
        "awsOidcProviderArn",
    ),
]


@pytest.mark.parametrize(("raw", "key"), BAD_CI, ids=[f"{k}:{r}" for r, k in BAD_CI])
def test_bad_ci_value_refused_naming_the_key(raw: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "aws", **raw})
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: "), str(caught.value)


def test_local_refuses_ci_and_says_why() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "local", "ciRepository": "acme/app"})
    assert caught.value.key == "ciRepository"
    assert "127.0.0.1" in str(caught.value) and "cannot reach" in str(caught.value)


def test_aws_oidc_provider_arn_accepted() -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    settings = parse_settings({"cloud": "aws", "awsOidcProviderArn": arn})
    assert options_of(settings, EcrOptions).oidc_provider_arn == arn


# --------------------------------------------------------------------------- pullPrincipals

GOOD_PRINCIPALS: dict[str, list[str]] = {
    "aws": ["arn:aws:iam::210987654321:root", "arn:aws:iam::210987654321:role/eks-node"],
    "azure": [
        "ServicePrincipal:0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f",
        "Group:11111111-2222-3333-4444-555555555555",
    ],
    "gcp": [
        "serviceAccount:gke-nodes@my-project-123.iam.gserviceaccount.com",
        "group:pullers@example.com",
        "user:ops@example.com",
        "domain:example.com",
        "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/"
        "my-project-123.svc.id.goog/subject/ns/default/sa/app",
        "principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/"
        "my-project-123.svc.id.goog/namespace/web",
    ],
}


OWN_OPTIONS: dict[str, type[EcrOptions | AcrOptions | ArtifactOptions]] = {
    "aws": EcrOptions,
    "azure": AcrOptions,
    "gcp": ArtifactOptions,
}


def _principals(settings_cloud: str, raw: dict[str, str]) -> tuple[str, ...]:
    return options_of(parse_settings(raw), OWN_OPTIONS[settings_cloud]).pull_principals


@pytest.mark.parametrize("cloud", sorted(GOOD_PRINCIPALS))
def test_pull_principals_in_each_clouds_own_form(cloud: str) -> None:
    good = GOOD_PRINCIPALS[cloud]
    raw = {**CLOUD_CONFIG[cloud], "pullPrincipals": json.dumps(good)}
    assert _principals(cloud, raw) == tuple(good)
    # Each cloud reads only its own form, into its own service's options.
    assert type(parse_settings(raw).options) is OWN_OPTIONS[cloud]


def test_azure_object_ids_get_a_type_are_lowercased_and_deduplicated() -> None:
    """A bare object ID is a service principal (a managed identity is one); users and groups
    say so, because a role assignment must carry the right principal type."""
    raw = {
        **CLOUD_CONFIG["azure"],
        "pullPrincipals": json.dumps(
            [
                "0C5A9D1E-2F3B-4C6D-8E7F-9A0B1C2D3E4F",
                "ServicePrincipal:0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f",
                "Group:11111111-2222-3333-4444-555555555555",
                "User:66666666-2222-3333-4444-555555555555",
            ]
        ),
    }
    assert _principals("azure", raw) == (
        "ServicePrincipal:0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f",
        "Group:11111111-2222-3333-4444-555555555555",
        "User:66666666-2222-3333-4444-555555555555",
    )


BAD_PRINCIPALS: list[tuple[str, str]] = [
    *((cloud, "*") for cloud in GOOD_PRINCIPALS),
    *((cloud, "allUsers") for cloud in GOOD_PRINCIPALS),
    *((cloud, "allAuthenticatedUsers") for cloud in GOOD_PRINCIPALS),
    ("aws", "0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"),
    ("azure", "arn:aws:iam::210987654321:root"),
    ("azure", "0c5a9d1e-2f3b-4c6d-8e7f"),
    ("azure", "Device:0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"),
    ("azure", "servicePrincipal:0c5a9d1e-2f3b-4c6d-8e7f-9a0b1c2d3e4f"),
    ("azure", "not-a-guid-at-all-0000-000000000000"),
    ("gcp", "arn:aws:iam::210987654321:root"),
    ("gcp", "puller@example.com"),
    ("gcp", "serviceAccount:*@my-project-123.iam.gserviceaccount.com"),
    ("gcp", "user:*"),
    ("gcp", "domain:*"),
    ("gcp", "deleted:user:ops@example.com?uid=1"),
    (
        "gcp",
        "principalSet://iam.googleapis.com/projects/123/locations/global/"
        "workloadIdentityPools/pool/*",
    ),
    ("gcp", "principal://evil.example.com/x"),
    ("gcp", "projectViewer:my-project-123"),
]


@pytest.mark.parametrize(("cloud", "value"), BAD_PRINCIPALS)
def test_bad_pull_principal_refused(cloud: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({**CLOUD_CONFIG[cloud], "pullPrincipals": json.dumps([value])})
    assert caught.value.key == "pullPrincipals"
    assert str(caught.value).startswith("pullPrincipals: ")


def test_local_grants_no_pull_principals() -> None:
    """The local registry has no IAM: the key draws a warning there (tests/test_key_targets.py)."""
    settings = parse_settings(
        {"cloud": "local", "pullPrincipals": json.dumps(GOOD_PRINCIPALS["aws"])}
    )
    assert not hasattr(options_of(settings, LocalOptions), "pull_principals")
    assert settings.warnings and settings.warnings[0].startswith("pullPrincipals has no effect")


@pytest.mark.parametrize("cloud", sorted(GOOD_PRINCIPALS))
def test_a_plain_string_shows_the_list_form(cloud: str) -> None:
    """`pulumi config set pullPrincipals X` stores a string; the message shows the command that
    stores a JSON list instead, in a form that works as printed in a new shell."""
    value = GOOD_PRINCIPALS[cloud][0]
    with pytest.raises(SettingsError) as caught:
        parse_settings({**CLOUD_CONFIG[cloud], "pullPrincipals": value})
    assert caught.value.key == "pullPrincipals"
    assert f"""`./up.sh --stack dev --config pullPrincipals '["{value}"]'`""" in str(caught.value)
    # Stored as printed, the value is what the program reads as a list.
    assert parse_settings({**CLOUD_CONFIG[cloud], "pullPrincipals": f'["{value}"]'})


def test_the_list_form_quotes_what_a_shell_would_split() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({**CLOUD_CONFIG["gcp"], "pullPrincipals": '"user:a b@example.com"'})
    assert """--config pullPrincipals '["user:a b@example.com"]'`""" in str(caught.value)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"cloud": "local", "ciRepository": "acme/app"}, "ciRepository"),
        ({"cloud": "aws", "ciRepository": "acme/*"}, "ciRepository"),
        ({"cloud": "aws", "ciRepository": "acme/app", "ciRef": "refs/heads/*"}, "ciRef"),
        ({"cloud": "azure", "pullPrincipals": '["*"]'}, "pullPrincipals"),
        ({"cloud": "gcp", **GCP, "pullPrincipals": '["allUsers"]'}, "pullPrincipals"),
    ],
)
def test_program_refuses_bad_ci_config_before_creating_anything(
    harness: Harness, config: dict[str, str], key: str
) -> None:
    harness.configure(**{k.replace(":", "__"): v for k, v in config.items()})
    with pytest.raises(SettingsError) as caught:
        harness.run_program()
    assert caught.value.key == key
    assert harness.resources == [], "a resource was registered before the settings error"


def test_gcp_refuses_a_workflow_ref_longer_than_google_subject_holds() -> None:
    long_ref = "refs/heads/" + "b" * 100
    assert parse_settings({"cloud": "aws", "ciRepository": "acme/app", "ciRef": long_ref}).ci
    with pytest.raises(SettingsError) as caught:
        parse_settings({**CLOUD_CONFIG["gcp"], "ciRepository": "acme/app", "ciRef": long_ref})
    assert caught.value.key == "ciRef" and "127" in str(caught.value)


def test_the_127_byte_check_counts_the_workflow_ref_google_subject_holds() -> None:
    """Google: google.subject holds at most 127 bytes, and the provider maps the token's
    job_workflow_ref to it. acme/app/.github/workflows/push-image.yml@refs/heads/ is 53 bytes,
    so a 74-byte branch fits exactly, in either repository form (the claim names the
    repository by name). `sub` is compared in the condition, not mapped: the long subject of
    the template, or of a long environment name, is fine."""
    ref = "refs/heads/" + "b" * 74
    base = {**CLOUD_CONFIG["gcp"], "ciRef": ref}
    assert len(f"acme/app/.github/workflows/push-image.yml@{ref}".encode()) == 127
    assert parse_settings({**base, "ciRepository": "acme@1001/app@2002"}).ci is not None
    with pytest.raises(SettingsError) as caught:
        parse_settings({**base, "ciRef": ref + "b", "ciRepository": "acme@1001/app@2002"})
    assert caught.value.key == "ciRef"
    assert "acme/app/.github/workflows/push-image.yml@refs/heads/bbb" in str(caught.value)
    settings = parse_settings(
        {
            **CLOUD_CONFIG["gcp"],
            "ciRepository": "acme@1001/app@2002",
            "ciEnvironment": "e" * 100,
            "ciSubjectIncludesRef": "true",
        }
    )
    assert settings.ci is not None and len(settings.ci.subject.encode()) > 127


def test_docs_show_only_keys_pulumi_yaml_declares() -> None:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    shown = re.findall(r"pulumi config (?:set|rm)\s+(?:--path\s+')?([A-Za-z:]+)", text)
    assert {"ciRepository", "ciRef", "ciEnvironment", "awsOidcProviderArn"} <= set(shown)
    assert set(shown) <= set(PROJECT_KEYS), set(shown) - set(PROJECT_KEYS)


# Microsoft Learn, "Important considerations and restrictions for federated identity
# credentials", "Unsupported regions (user-assigned managed identities)".
@pytest.mark.parametrize("location", ["malaysiasouth", "newzealandnorth", "New Zealand North"])
def test_azure_ci_is_refused_where_identities_cannot_federate(location: str) -> None:
    config = {
        **CLOUD_CONFIG["azure"],
        "azure-native:location": location,
        "ciRepository": "acme@1001/app@2002",
    }
    with pytest.raises(SettingsError) as caught:
        parse_settings(config)
    assert caught.value.key == "azure-native:location"
    # Without CI nothing federates, and the location is fine.
    del config["ciRepository"]
    assert options_of(parse_settings(config), AcrOptions).location == location


def test_azure_ci_works_in_a_federating_region() -> None:
    config = {
        **CLOUD_CONFIG["azure"],
        "azure-native:location": "malaysiawest",
        "ciRepository": "acme@1001/app@2002",
    }
    assert parse_settings(config).ci is not None
