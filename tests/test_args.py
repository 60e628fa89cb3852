"""The public Args (container_registry/args.py): every field documented, defaults written once
and agreeing with the stack's Pulumi.yaml, bad input refused with pulumi.InputPropertyError
naming the property path, and the stack's table of property paths to config keys complete."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from conftest import ROOT, Harness, resolve
from container_registry import Cloud, Registry, RegistryImage
from container_registry.args import DEFAULTS
from stack.config.errors import SettingsError
from stack.config.keys import PATH_KEYS, PROJECT_KEYS, PROVIDER_KEYS
from stack.config.parse import parse_settings

ARGS = ROOT / "container_registry" / "args.py"
PYRIGHT = Path(sys.executable).parent / "pyright"
# Pulumi.yaml keys whose empty default means something the stack decides, not the component's
# default: the app's base image (mirrorRepositories), the engine's own platform on the local
# target (platform).
STACK_MEANINGS = {"mirrorRepositories": "[] is app/Dockerfile's base image", "platform": ""}


def typed_dict_fields(source: str | None = None) -> dict[str, list[tuple[str, str | None]]]:
    """Each TypedDict class of args.py: its fields, each with the docstring under it or None."""
    tree = ast.parse(ARGS.read_text(encoding="utf-8") if source is None else source)
    found: dict[str, list[tuple[str, str | None]]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: list[tuple[str, str | None]] = []
        for index, item in enumerate(node.body):
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                after = node.body[index + 1] if index + 1 < len(node.body) else None
                doc = (
                    after.value.value
                    if isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)
                    else None
                )
                fields.append((item.target.id, doc))
        found[node.name] = fields
    return found


def test_every_field_of_every_args_type_has_a_docstring() -> None:
    classes = typed_dict_fields()
    assert {"RegistryArgs", "RegistryImageArgs", "RegistryCredentials"} <= set(classes)
    missing = [
        f"{cls}.{name}" for cls, fields in classes.items() for name, doc in fields if not doc
    ]
    assert missing == []


def test_the_docstring_check_sees_a_field_without_one() -> None:
    source = "class A(TypedDict):\n    x: int\n    y: int\n    '''Why y.'''\n"
    assert typed_dict_fields(source) == {"A": [("x", None), ("y", "Why y.")]}


def pulumi_yaml_defaults() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    return {key: spec["default"] for key, spec in document["config"].items()}


def test_pulumi_yaml_defaults_are_the_components_defaults() -> None:
    """Written once, in args.DEFAULTS: Pulumi.yaml says the same for every key that maps to a
    property (the stack then leaves an unset key out, so the component's default applies)."""
    yaml_defaults = pulumi_yaml_defaults()
    compared = 0
    for path, key in PATH_KEYS.items():
        if path not in DEFAULTS or key not in yaml_defaults or key in STACK_MEANINGS:
            continue
        assert yaml_defaults[key] == DEFAULTS[path], f"{key} (Pulumi.yaml) vs {path} (args.py)"
        compared += 1
    assert compared >= 9, "the comparison covers too few keys"


def test_the_secure_defaults_are_these_literals() -> None:
    """Against the literal, not the constant: immutable tags on, force delete off, the mirror
    off, the smallest ACR SKU, the registry's own account only."""
    assert DEFAULTS["immutable_tags"] is True
    assert DEFAULTS["force_delete"] is False
    assert DEFAULTS["mirror.enabled"] is False
    assert DEFAULTS["azure.sku"] == "Basic"
    assert DEFAULTS["lifecycle.untagged_expiry_days"] == 14
    assert DEFAULTS["lifecycle.keep_tagged_images"] == 30
    assert DEFAULTS["ci.ref"] == "refs/heads/main"


def test_every_property_path_names_a_config_key() -> None:
    keys = set(PROJECT_KEYS) | set(PROVIDER_KEYS)
    assert {key for key in PATH_KEYS.values()} <= keys
    # Keys an error of the components can come back as are all in the table.
    assert {"imageTag", "platform", "ciRef", "gcp:project"} <= set(PATH_KEYS.values())


@pytest.mark.parametrize(
    ("args", "path"),
    [
        ({"cloud": "k8s"}, "cloud"),
        ({"cloud": "aws", "aws": {"kms_key_arn": "alias/mine"}}, "aws.kms_key_arn"),
        ({"cloud": "aws", "ci": {"repository": "acme"}}, "ci.repository"),
        ({"cloud": "aws", "lifecycle": {"keep_tagged_images": 0}}, "lifecycle.keep_tagged_images"),
        ({"cloud": "gcp", "gcp": {"location": "us"}}, "gcp.project"),
        ({"cloud": "aws", "pull_principals": ["*"]}, "pull_principals[0]"),
        ({"cloud": "local", "ci": {"repository": "acme/app"}}, "ci.repository"),
        # A misspelt key would leave its setting at the default without a word.
        ({"cloud": "aws", "lifecyle": {"keep_tagged_images": 5}}, "lifecyle"),
        ({"cloud": "aws", "lifecycle": {"keep_taged_images": 5}}, "lifecycle.keep_taged_images"),
        ({"cloud": "aws", "aws": {"kms_key": "arn"}}, "aws.kms_key"),
    ],
)
def test_bad_input_names_the_property_path_and_creates_nothing(
    harness: Harness, args: dict[str, Any], path: str
) -> None:
    with pytest.raises(pulumi.InputPropertyError) as caught:
        Registry("team", args)  # type: ignore[arg-type]
    assert caught.value.property_path == path
    assert caught.value.reason and "./up.sh" not in caught.value.reason
    assert harness.resources == []


@pytest.mark.parametrize(
    "other", [{"aws": {"kms_key_arn": "x"}}, {"azure": {"sku": "Free"}}, {"gcp": {"project": 1}}]
)
def test_another_targets_block_is_ignored(harness: Harness, other: dict[str, Any]) -> None:
    """One rule (container_registry/switch.py): what the chosen service does not take is not
    read. The local registry is built as without the block, and nothing of aws, azure or gcp."""
    resolve(Registry("team", {"cloud": "local", **other}).repository_url)  # type: ignore[arg-type]
    kinds = {r.typ.split(":")[0] for r in harness.resources}
    assert "container-registry" in kinds and "docker" in kinds
    assert not kinds & {"aws", "azure-native", "gcp"}


def test_the_chosen_targets_block_is_checked_under_its_own_path(harness: Harness) -> None:
    with pytest.raises(pulumi.InputPropertyError) as caught:
        Registry("team", {"cloud": "azure", "azure": {"location": "westeurope", "sku": "Free"}})  # type: ignore[typeddict-item]
    assert caught.value.property_path == "azure.sku"
    assert harness.resources == []


def test_pyright_holds_the_closed_sets_to_their_enums(tmp_path: Path) -> None:
    """A program that writes `"mars"` or `"Free"` fails the type check before it runs; one that
    writes the enums' members passes. One pyright run over both (about 2 s)."""
    (tmp_path / "bad.py").write_text(
        "from container_registry import Cloud, Registry\n"
        'Registry("a", {"cloud": "mars"})\n'
        'Registry("b", {"cloud": Cloud.AZURE, "azure": {"sku": "Free"}})\n',
        encoding="utf-8",
    )
    (tmp_path / "good.py").write_text(
        "from container_registry import AcrSku, Cloud, Registry\n"
        'Registry("a", {"cloud": Cloud.AWS})\n'
        'Registry("b", {"cloud": Cloud.AZURE, "azure": {"sku": AcrSku.PREMIUM}})\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [str(PYRIGHT), "--outputjson", str(tmp_path / "bad.py"), str(tmp_path / "good.py")],
        cwd=ROOT,  # the project's pyright settings and venv
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout)
    errors = [
        (Path(found["file"]).name, found["range"]["start"]["line"] + 1, found["message"])
        for found in report["generalDiagnostics"]
        if found["severity"] == "error"
    ]
    assert [(name, line) for name, line, _ in errors] == [("bad.py", 2), ("bad.py", 3)], errors
    assert '"Literal[\'mars\']" is not assignable to "Cloud"' in errors[0][2]
    assert '"Literal[\'Free\']" is not assignable to "AcrSku"' in errors[1][2]


def test_a_bad_image_tag_names_the_property_path(harness: Harness) -> None:
    login = {"server": "r.example", "username": "u", "password": "p"}
    with pytest.raises(pulumi.InputPropertyError) as caught:
        RegistryImage(
            "api",
            {"context": "app", "tag": "LATEST", "repository_url": "r.example/a", "login": login},  # type: ignore[typeddict-item]
        )
    assert caught.value.property_path == "tag"
    assert harness.resources == []


def test_a_misspelt_image_key_names_the_property_path(harness: Harness) -> None:
    login = {"server": "r.example", "username": "u", "password": "p"}
    with pytest.raises(pulumi.InputPropertyError) as caught:
        RegistryImage(
            "api",
            {"context": "app", "platfrom": "linux/arm64", "repository_url": "r/a", "login": login},  # type: ignore[typeddict-unknown-key]
        )
    assert caught.value.property_path == "platfrom"
    assert harness.resources == []


def test_the_stack_hands_the_registry_its_cloud_as_a_cloud() -> None:
    """The config string becomes the enum once, in any case (stack/config/args.py); one that
    names none is refused naming the key, in the Registry's words."""
    gcp = {"gcp:project": "my-project-123", "gcp:region": "europe-west4"}
    assert parse_settings({"cloud": "GCP", **gcp}).args["cloud"] is Cloud.GCP
    assert parse_settings({}).args["cloud"] is Cloud.LOCAL
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "mars"})
    assert caught.value.key == "cloud"
    assert "'mars' is not one of local, aws, azure, gcp" in str(caught.value)


def test_the_stack_names_the_config_key_of_a_property_path() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"cloud": "aws", "ecrKmsKeyArn": "alias/mine"})
    assert caught.value.key == "ecrKmsKeyArn"
    assert str(caught.value).startswith("ecrKmsKeyArn: 'alias/mine' is not a KMS key ARN")
    with pytest.raises(SettingsError) as caught:
        parse_settings({"keepTaggedImages": "0"})
    assert str(caught.value) == "keepTaggedImages: '0' is not a whole number from 1 to 10000"
