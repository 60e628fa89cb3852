"""Which targets each project key has an effect on (stack.config.keys.KEY_TARGETS), and the
warning for a key set where it does nothing.

The table is checked against the program itself: on a target the table leaves out, setting the
key changes nothing the program registers or exports; on a target it names, it changes something.
"""

from __future__ import annotations

import json

import pulumi
import pytest
import yaml

from conftest import ROOT, TARGET_CONFIG, Harness, options_of, program_run, run_target
from container_registry import LocalOptions
from stack.config import load_settings
from stack.config.errors import SettingsError
from stack.config.keys import (
    CLOUDS,
    KEY_TARGETS,
    MIRROR_KEYS,
    PROJECT_KEYS,
    SECRET_KEYS,
    SECRET_SET,
    read_project_keys,
)
from stack.config.parse import Settings, parse_settings


def provider_config_of(cloud: str) -> dict[str, str]:
    return {key.replace("__", ":"): value for key, value in TARGET_CONFIG[cloud].items()}


# A valid value other than the default for every key but `cloud`. A new key needs one here.
CHANGED: dict[str, str] = {
    "repositoryName": "other",
    "imageTag": "v2",
    "platform": "linux/arm64",
    "untaggedExpiryDays": "7",
    "keepTaggedImages": "5",
    "immutableTags": "false",
    "forceDelete": "true",
    "pullPrincipals": '["arn:aws:iam::210987654321:root"]',
    "ecrKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "ecrArchiveUnpulledDays": "90",
    "acrSku": "Premium",
    "azureResourceGroup": "shared-rg",
    "gcpLocation": "us",
    "localPort": "5001",
    "localUser": "pusher",
    "mirror": "true",
    "mirrorRepositories": '["nginx", "python"]',
    "dockerHubCredentialsSecretArn": (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/hub-AbCdEf"
    ),
    "acrDockerHubUsernameSecretUri": "https://team-vault.vault.azure.net/secrets/hub-user",
    "acrDockerHubPasswordSecretUri": "https://team-vault.vault.azure.net/secrets/hub-token",
    "acrDockerHubKeyVaultId": "/subscriptions/7d1e2c3b-4a5f-4e6d-9c8b-1a2b3c4d5e6f/resourceGroups/"
    "secrets-rg/providers/Microsoft.KeyVault/vaults/team-vault",
    "gcpDockerHubPasswordSecretVersion": "projects/my-project-123/secrets/hub-token/versions/1",
    "dockerHubUser": "someone1",
    "dockerHubToken": "dckr-pat-example",
    "localMirrorPort": "5002",
    "ciRepository": "acme@1001/app@2002",
    "ciRef": "refs/tags/release",
    "ciEnvironment": "production",
    "ciSubjectIncludesRef": "true",
    "awsOidcProviderArn": (
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    ),
}
# A key in another cloud's form on that cloud (pullPrincipals takes each cloud's own identities).
CHANGED_ON: dict[tuple[str, str], str] = {
    ("pullPrincipals", "azure"): '["3f1c9a52-7d4e-4b8a-9c61-2e5d8f0a7b13"]',
    ("pullPrincipals", "gcp"): '["group:pullers@example.com"]',
}
# What a key needs beside it to mean anything, set in both runs, so that the key is all that
# differs (the mirror's keys need the mirror, the CI keys a repository).
BESIDE: dict[str, dict[str, str]] = {
    "mirrorRepositories": {"mirror": "true"},
    "dockerHubCredentialsSecretArn": {"mirror": "true"},
    "acrDockerHubUsernameSecretUri": {"mirror": "true"},
    "acrDockerHubPasswordSecretUri": {"mirror": "true"},
    "acrDockerHubKeyVaultId": {"mirror": "true"},
    "gcpDockerHubPasswordSecretVersion": {"mirror": "true"},
    "dockerHubUser": {"mirror": "true"},
    "dockerHubToken": {"mirror": "true"},
    "localMirrorPort": {"mirror": "true"},
    "ciRef": {"ciRepository": "acme@1001/app@2002"},
    # On aws and azure an environment needs the subject template that adds the ref.
    "ciEnvironment": {"ciRepository": "acme@1001/app@2002", "ciSubjectIncludesRef": "true"},
    "ciSubjectIncludesRef": {"ciRepository": "acme@1001/app@2002"},
    "awsOidcProviderArn": {"ciRepository": "acme@1001/app@2002"},
}
# Keys that are only valid in pairs change together (a Docker Hub user and its token).
TOGETHER: dict[str, tuple[str, ...]] = {
    "acrDockerHubUsernameSecretUri": ("acrDockerHubPasswordSecretUri", "acrDockerHubKeyVaultId"),
    "acrDockerHubPasswordSecretUri": ("acrDockerHubUsernameSecretUri", "acrDockerHubKeyVaultId"),
    "acrDockerHubKeyVaultId": ("acrDockerHubUsernameSecretUri", "acrDockerHubPasswordSecretUri"),
    "gcpDockerHubPasswordSecretVersion": ("dockerHubUser",),
    "dockerHubToken": ("dockerHubUser",),
    "dockerHubUser": ("dockerHubToken",),
}
TOGETHER_ON: dict[tuple[str, str], tuple[str, ...]] = {
    ("dockerHubUser", "gcp"): ("gcpDockerHubPasswordSecretVersion",),
}


def change(key: str, cloud: str) -> dict[str, str]:
    """The config that sets `key` to something other than its default on `cloud`."""
    keys = (key, *TOGETHER_ON.get((key, cloud), TOGETHER.get(key, ())))
    return {k: CHANGED_ON.get((k, cloud), CHANGED[k]) for k in keys}


def refused(config: dict[str, str]) -> bool:
    try:
        parse(config)
    except SettingsError:
        return True
    return False


def parse(config: dict[str, str], stack: str = "dev") -> Settings:
    """parse_settings as load_settings calls it: a secret key arrives as a secret."""
    raw = dict(config)
    secrets = {k: pulumi.Output.secret(raw[k]) for k in SECRET_KEYS if raw.get(k)}
    raw |= {k: SECRET_SET for k in secrets}
    return parse_settings(raw, stack=stack, secrets=secrets)


# (key, cloud) pairs where the key, or what it needs beside it, is refused outright rather than
# ignored (the local target refuses ciRepository: docs/ci.md says why).
REFUSED = [
    (key, cloud)
    for key in KEY_TARGETS
    if key != "cloud"
    for cloud in CLOUDS
    if refused({**provider_config_of(cloud), **BESIDE.get(key, {}), **change(key, cloud)})
]
NOT_APPLICABLE = [
    (key, cloud)
    for key, targets in KEY_TARGETS.items()
    for cloud in CLOUDS
    if cloud not in targets and (key, cloud) not in REFUSED
]
APPLICABLE = [
    (key, cloud)
    for key, targets in KEY_TARGETS.items()
    if key != "cloud"
    for cloud in targets
    if (key, cloud) not in REFUSED
]


def expected_warning(key: str, cloud: str) -> str:
    targets = ", ".join(KEY_TARGETS[key])
    return (
        f"{key} has no effect on the {cloud} target (it applies to {targets}); "
        f'`eval "$(./up.sh --stack dev --env)" && pulumi config rm {key} --stack dev` removes it'
    )


def provider_config(cloud: str) -> dict[str, str]:
    """TARGET_CONFIG[cloud] as parse_settings takes it (`gcp:project`, not `gcp__project`)."""
    return provider_config_of(cloud)


# --------------------------------------------------------------------------- the table


def test_every_project_key_is_in_the_table() -> None:
    assert list(KEY_TARGETS) == list(PROJECT_KEYS), (
        "stack.config.keys.KEY_TARGETS must list every key of PROJECT_KEYS, in the same order"
    )
    for key, targets in KEY_TARGETS.items():
        assert targets, f"{key} applies to no target"
        assert targets == tuple(c for c in CLOUDS if c in targets), f"{key}: {targets}"
    assert set(CHANGED) == set(KEY_TARGETS) - {"cloud"}, "give each new key a value in CHANGED"


# --------------------------------------------------------------------------- the warnings


def warnings_for(keys: dict[str, str], cloud: str) -> set[str]:
    """The warnings the keys in `keys` should draw on `cloud`, by the table."""
    return {expected_warning(k, cloud) for k in keys if cloud not in KEY_TARGETS[k]}


@pytest.mark.parametrize(("key", "cloud"), NOT_APPLICABLE)
def test_a_key_without_effect_is_warned_about(key: str, cloud: str) -> None:
    config = {**BESIDE.get(key, {}), **change(key, cloud)}
    warnings = parse({**provider_config(cloud), **config}).warnings
    assert expected_warning(key, cloud) in warnings
    assert set(warnings) == warnings_for(config, cloud)


@pytest.mark.parametrize(("key", "cloud"), APPLICABLE)
def test_a_key_with_effect_is_not_warned_about(key: str, cloud: str) -> None:
    config = {**BESIDE.get(key, {}), **change(key, cloud)}
    warnings = parse({**provider_config(cloud), **config}).warnings
    assert set(warnings) == warnings_for(config, cloud)
    assert not any(w.startswith(f"{key} ") for w in warnings)


@pytest.mark.parametrize(("key", "cloud"), REFUSED)
def test_a_key_that_cannot_work_on_a_target_is_refused_not_warned(key: str, cloud: str) -> None:
    """Not silently ignored either: the local target refuses CI and pull grants it cannot give."""
    assert cloud == "local" and key in {
        "ciRepository",
        "ciRef",
        "ciEnvironment",
        "ciSubjectIncludesRef",
        "awsOidcProviderArn",
    }, f"{key} on {cloud} is refused: {BESIDE.get(key, {}) | change(key, cloud)}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_unset_and_empty_keys_are_not_warned_about(cloud: str) -> None:
    assert parse_settings(provider_config(cloud)).warnings == ()
    empty = {key: "" for key in PROJECT_KEYS if key != "cloud"}
    assert parse_settings({**provider_config(cloud), **empty}).warnings == ()


def pulumi_yaml_defaults() -> dict[str, str]:
    """Pulumi.yaml's defaults as the CLI hands them to the program: it copies each into the
    stack's config, primitives as fmt's %v and the rest as JSON (createConfigValue in
    pkg/workspace/config.go of pulumi/pulumi)."""
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    rendered: dict[str, str] = {}
    for key, spec in document["config"].items():
        default = spec["default"]
        if isinstance(default, bool):
            rendered[key] = "true" if default else "false"
        elif isinstance(default, (list, dict)):
            rendered[key] = json.dumps(default)
        else:
            rendered[key] = str(default)
    return rendered


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_defaults_pulumi_copies_into_every_stack_draw_no_warning(cloud: str) -> None:
    """The mocks pass only what a test sets, but a real `pulumi up` also passes every default of
    Pulumi.yaml: those must not read as settings made for another target."""
    raw = {**pulumi_yaml_defaults(), **provider_config(cloud)}
    assert parse_settings(raw).warnings == ()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({"cloud": "azure", "immutableTags": "True"}, "the default, spelled otherwise"),
        ({"cloud": "aws", "acrSku": "basic"}, "the default, in another case"),
        ({"cloud": "gcp", "localPort": "5000", "localUser": "admin"}, "the defaults"),
        ({"cloud": "local", "pullPrincipals": "[]"}, "an empty list, the default"),
    ],
)
def test_a_default_value_set_by_hand_draws_no_warning(raw: dict[str, str], why: str) -> None:
    raw = {**provider_config(raw["cloud"]), **raw}
    assert parse_settings(raw).warnings == (), why


def test_the_warning_names_the_key_and_the_target() -> None:
    raw = {**provider_config("azure"), "immutableTags": "false"}
    (warning,) = parse_settings(raw, stack="prod").warnings
    assert warning == (
        "immutableTags has no effect on the azure target (it applies to aws, gcp); "
        '`eval "$(./up.sh --stack prod --env)" && pulumi config rm immutableTags --stack prod` '
        "removes it"
    )


def test_warnings_leave_the_settings_themselves_alone() -> None:
    assert parse_settings({"localPort": "5000", "acrSku": "Basic"}) == parse_settings({})


def test_load_settings_logs_each_warning(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    harness.configure(cloud="local", acrSku="Premium", immutableTags="false", localPort="5001")
    load_settings()
    assert logged == [
        expected_warning("immutableTags", "local"),
        expected_warning("acrSku", "local"),
    ]


def test_the_program_warns_on_pulumi_up(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    run_target(harness, monkeypatch, "gcp", localUser="pusher")
    assert logged == [expected_warning("localUser", "gcp")]


# --------------------------------------------------------------------------- the table is true


def snapshot(cloud: str, key: str, changed: bool, beside: dict[str, str] | None = None) -> str:
    """Everything the program registers and exports for `cloud` with what `key` needs beside it
    (or `beside`), and with `key` changed or not, as one comparable string (conftest's shared
    runs)."""
    beside = BESIDE.get(key, {}) if beside is None else beside
    run = program_run(cloud, **beside, **(change(key, cloud) if changed else {}))
    registered = [
        {
            "type": r.typ,
            "name": r.name,
            "parent": r.parent,
            "inputs": r.inputs,
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "dependencies": sorted(r.dependencies),
        }
        # Registrations arrive in whatever order their inputs resolve.
        for r in sorted(run.resources, key=lambda r: (r.typ, r.name))
    ]
    return json.dumps(
        {"outputs": run.outputs, "registered": registered}, sort_keys=True, default=str
    )


@pytest.mark.parametrize(("key", "cloud"), NOT_APPLICABLE)
def test_a_key_the_table_leaves_out_changes_nothing(key: str, cloud: str) -> None:
    assert snapshot(cloud, key, True) == snapshot(cloud, key, False), (
        f"{key}={CHANGED[key]!r} changes the {cloud} stack: add {cloud!r} to KEY_TARGETS[{key!r}]"
    )


@pytest.mark.parametrize(("key", "cloud"), APPLICABLE)
def test_a_key_the_table_names_changes_something(key: str, cloud: str) -> None:
    assert snapshot(cloud, key, True) != snapshot(cloud, key, False), (
        f"{key}={CHANGED[key]!r} changes nothing on {cloud}: drop {cloud!r} from "
        f"KEY_TARGETS[{key!r}]"
    )


# --------------------------------------------------------------------------- keys for the mirror

# The mirror keys, by this file's own table: those that need `mirror: true` beside them.
NEED_THE_MIRROR = sorted(key for key, beside in BESIDE.items() if beside == {"mirror": "true"})
WITHOUT_THE_MIRROR = [(key, cloud) for key in NEED_THE_MIRROR for cloud in KEY_TARGETS[key]]


def mirror_warning(key: str, stack: str = "dev") -> str:
    return (
        f"{key} has no effect without the mirror (`./up.sh --stack {stack} --config mirror "
        f'true`); `eval "$(./up.sh --stack {stack} --env)" && pulumi config rm {key} --stack '
        f"{stack}` removes it"
    )


def test_every_key_that_needs_the_mirror_is_in_the_program_s_table() -> None:
    assert sorted(MIRROR_KEYS) == NEED_THE_MIRROR, (
        "stack.config.keys.MIRROR_KEYS must list the keys BESIDE says need the mirror"
    )


@pytest.mark.parametrize(("key", "cloud"), WITHOUT_THE_MIRROR)
def test_a_mirror_key_without_the_mirror_is_warned_about(key: str, cloud: str) -> None:
    config = change(key, cloud)
    warnings = parse({**provider_config(cloud), **config}).warnings
    assert mirror_warning(key) in warnings
    assert set(warnings) == {
        mirror_warning(k) if cloud in KEY_TARGETS[k] else expected_warning(k, cloud) for k in config
    }


@pytest.mark.parametrize(("key", "cloud"), WITHOUT_THE_MIRROR)
def test_a_mirror_key_without_the_mirror_changes_nothing(key: str, cloud: str) -> None:
    assert snapshot(cloud, key, True, beside={}) == snapshot(cloud, key, False, beside={}), (
        f"{key} changes the {cloud} stack without the mirror: drop it from MIRROR_KEYS"
    )


def test_local_mirror_port_is_checked_against_local_port_only_with_the_mirror() -> None:
    """Issue 17: equal to localPort with the mirror off is accepted, and said to do nothing."""
    settings = parse_settings({"localPort": "6000", "localMirrorPort": "6000"}, stack="dev")
    assert options_of(settings, LocalOptions).port == 6000
    assert settings.warnings == (
        "localMirrorPort has no effect without the mirror (`./up.sh --stack dev --config mirror "
        'true`); `eval "$(./up.sh --stack dev --env)" && pulumi config rm localMirrorPort '
        "--stack dev` removes it",
    )
    with pytest.raises(SettingsError) as caught:
        parse_settings({"mirror": "true", "localPort": "6000", "localMirrorPort": "6000"})
    assert str(caught.value) == "localMirrorPort: '6000' is the registry's own port (port 6000)"
    # The last port leaves no room for the mirror's default, which matters only with the mirror.
    assert parse_settings({"localPort": "65535"}).warnings == ()
    with pytest.raises(SettingsError) as caught:
        parse_settings({"mirror": "true", "localPort": "65535"})
    assert caught.value.key == "localMirrorPort"
    # Its form is checked either way, so a typo does not wait for the mirror.
    with pytest.raises(SettingsError) as caught:
        parse_settings({"localMirrorPort": "http"})
    assert caught.value.key == "localMirrorPort"


def test_the_mirror_port_s_default_draws_no_warning_without_the_mirror() -> None:
    """Pulumi copies Pulumi.yaml's `default: 0` into every stack; 5001 is what 0 means."""
    assert parse_settings({"localMirrorPort": "0"}).warnings == ()
    assert parse_settings({"localMirrorPort": "5001"}).warnings == ()


def test_local_mirror_port_without_the_mirror_is_warned_on_pulumi_up(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    run_target(harness, monkeypatch, "local", localPort="6000", localMirrorPort="6000")
    assert logged == [
        "localMirrorPort has no effect without the mirror (`./up.sh --stack dev --config mirror "
        'true`); `eval "$(./up.sh --stack dev --env)" && pulumi config rm localMirrorPort '
        "--stack dev` removes it"
    ]
    containers = harness.of_type("docker:index/container:Container")
    assert len(containers) == 1, [c.name for c in containers]
    assert containers[0].inputs["ports"][0]["external"] == 6000


# ------------------------------------------------------------------- pullPrincipals on local


def test_pull_principals_on_local_draw_the_warning_readme_promises(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: a key that has no effect on the stack's target is accepted, with a warning that
    names the key and the target. The local registry has one user and no IAM to grant pulls."""
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    run_target(harness, monkeypatch, "local", pullPrincipals='["arn:aws:iam::210987654321:root"]')
    assert logged == [
        "pullPrincipals has no effect on the local target (it applies to aws, azure, gcp); "
        '`eval "$(./up.sh --stack dev --env)" && pulumi config rm pullPrincipals --stack dev` '
        "removes it"
    ]
    assert harness.of_type("docker:index/container:Container"), "the local stack did not deploy"


@pytest.mark.parametrize(
    "value",
    [
        '["3f1c9a52-7d4e-4b8a-9c61-2e5d8f0a7b13"]',
        '["group:pullers@example.com"]',
        '["arn:aws:iam::210987654321:role/ci"]',
    ],
)
def test_pull_principals_on_local_take_any_cloud_s_form(value: str) -> None:
    settings = parse_settings({"pullPrincipals": value})
    assert not hasattr(options_of(settings, LocalOptions), "pull_principals")
    assert settings.warnings == (expected_warning("pullPrincipals", "local"),)


@pytest.mark.parametrize(
    ("value", "cloud", "message"),
    [
        (
            '["*"]',
            "aws",
            "pullPrincipals: '*' is not an IAM principal ARN (arn:aws:iam::<12-digit account>:"
            "root, :role/... or :user/...); '*' and wildcards are never allowed",
        ),
        (
            '["allUsers"]',
            "gcp",
            "pullPrincipals: 'allUsers' is not a Google Cloud IAM member",
        ),
    ],
)
def test_pull_principals_are_checked_where_they_grant(value: str, cloud: str, message: str) -> None:
    """On local they grant nothing and are not read (the stack says so); a value no cloud
    could take is refused on the cloud that would grant it."""
    settings = parse_settings({"pullPrincipals": value})
    assert settings.warnings == (expected_warning("pullPrincipals", "local"),)
    with pytest.raises(SettingsError) as caught:
        target = {key.replace("__", ":"): v for key, v in TARGET_CONFIG[cloud].items()}
        parse_settings({**target, "pullPrincipals": value})
    assert str(caught.value).startswith(message), str(caught.value)


def test_pull_principals_on_local_must_still_be_a_list() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"pullPrincipals": "arn:aws:iam::210987654321:root"})
    assert str(caught.value) == (
        "pullPrincipals: 'arn:aws:iam::210987654321:root' is not a list of IAM principal "
        "ARNs, Entra object IDs or IAM members: give a JSON list, `./up.sh --stack dev "
        "--config pullPrincipals '[\"arn:aws:iam::210987654321:root\"]'`"
    )


# --------------------------------------------------------------------------- unknown keys


def unknown_warning(key: str, hint: str) -> str:
    return (
        f"{key} is not a setting of this program: {hint} "
        f'`eval "$(./up.sh --stack dev --env)" && pulumi config rm {key} --stack dev` removes it'
    )


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("cloudd", "cloud"),
        ("Cloud", "cloud"),
        ("clod", "cloud"),
        ("acrsku", "acrSku"),
        ("localport", "localPort"),
        ("imagetag", "imageTag"),
        ("image_tag", "imageTag"),
        ("pullPrincipal", "pullPrincipals"),
        ("mirorr", "mirror"),
        ("localMirorPort", "localMirrorPort"),
        ("immutableTag", "immutableTags"),
        ("gcpLocaton", "gcpLocation"),
    ],
)
def test_an_unknown_key_names_the_closest_known_one(typed: str, meant: str) -> None:
    settings = parse_settings({}, set_keys=[typed])
    assert settings.warnings == (unknown_warning(typed, f"did you mean `{meant}`?"),)
    assert settings == parse_settings({}), "an unknown key changed the settings"


def test_an_unknown_key_like_no_known_one_points_to_the_readme() -> None:
    (warning,) = parse_settings({}, set_keys=["zzzqqq"]).warnings
    assert warning == unknown_warning("zzzqqq", "README.md lists every key;")


def test_known_keys_draw_no_unknown_key_warning() -> None:
    assert parse_settings({}, set_keys=list(PROJECT_KEYS)).warnings == ()


def test_a_typo_in_cloud_is_warned_about_on_pulumi_up(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: `cloudd: aws` was ignored without a word and the stack deployed local. Keys of
    other namespaces (aws:region, gcp:project) are the providers' business and draw nothing."""
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    harness.configure(cloudd="aws", aws__region="eu-west-1", gcp__project="my-project-123")
    harness.run_program()
    assert logged == [unknown_warning("cloudd", "did you mean `cloud`?")]
    assert harness.of_type("docker:index/container:Container"), "the default target, local"


def test_unknown_keys_come_from_the_config_the_engine_passes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pulumi up` hands the config over as JSON in PULUMI_CONFIG; the exec shim loads it with
    set_all_config, and pulumi.runtime.get_config reads the variable itself when it has not."""
    harness.configure(cloud="local", acrSkew="Premium")
    monkeypatch.setenv(
        "PULUMI_CONFIG",
        json.dumps({"container-registry:cloudd": "aws", "aws:region": "eu-west-1"}),
    )
    assert read_project_keys() == ("acrSkew", "cloud", "cloudd")


def test_an_unknown_key_s_value_is_never_shown(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key the program does not know may be a credential set with --secret."""
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    harness.configure(dockerHubTokn="dckr_pat_not-for-the-log")
    load_settings()
    assert logged == [unknown_warning("dockerHubTokn", "did you mean `dockerHubToken`?")]
    assert "dckr_pat" not in "".join(logged)
