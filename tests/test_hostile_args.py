"""Hostile Args (issue 27 item 6): every bad shape is refused with pulumi.InputPropertyError naming
its property path and what is allowed, before anything is registered, both through the Python API
and through the component provider as the engine hands a TypeScript or YAML program's inputs to it.

Each case runs twice under fresh mocks (preview=False): the Args as a Python program writes them,
and the inputs as a program in another language sends them (schema names, numbers as floats, a
secret or a value with dependencies arriving as an Output: tests/test_provider.py's `wire`). After
the error, the mocks hold no registration at all, not even the component's own: the checks run
before `ComponentResource.__init__`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
import tomllib
from test_provider import construct

from conftest import ROOT, Harness, settle_failed_registrations
from container_registry import Cloud, Registry, RegistryImage

APP = str(ROOT / "app")
URL = "registry.example.com/team/app"
LOGIN = {"server": "registry.example.com", "username": "robot", "password": "s3cret-pass"}
ROLE = "arn:aws:iam::123456789012:role/deployer"
PLAIN = "must be a plain value, not an Output"


def image(**fields: Any) -> dict[str, Any]:
    """RegistryImage Args that are fine but for `fields`."""
    return {"context": APP, "repository_url": URL, "login": dict(LOGIN), **fields}


def wired_image(**fields: Any) -> dict[str, Any]:
    """The same on the wire: schema names, and `login` a secret, as the generated SDKs send it
    (the schema marks it secret: container_registry/provider.py, SECRET_PROPERTIES)."""
    return {
        "context": APP,
        "repositoryUrl": URL,
        "login": pulumi.Output.secret(dict(LOGIN)),
        **fields,
    }


@dataclass(frozen=True)
class Case:
    """One bad input: the component, the Args from Python and from another language (made
    inside the test, where the mocks are set), the path each names, and a piece of the reason
    that says what is allowed."""

    component: type[pulumi.ComponentResource]
    python: Callable[[], dict[str, Any]]
    wired: Callable[[], dict[str, Any]]
    python_path: str
    schema_path: str
    python_reason: str
    schema_reason: str


def case(
    component: type[pulumi.ComponentResource],
    python: Callable[[], dict[str, Any]],
    wired: Callable[[], dict[str, Any]],
    paths: tuple[str, str],
    reason: str | tuple[str, str],
) -> Case:
    reasons = (reason, reason) if isinstance(reason, str) else reason
    return Case(component, python, wired, *paths, *reasons)


CASES: dict[str, Case] = {
    # Pulumi's ComponentProvider maps the schema's properties and drops any other key, so a
    # misspelt one left the setting at its default: a repository named `app`.
    "unknown key": case(
        Registry,
        lambda: {"cloud": "aws", "repositoryNam": "api"},
        lambda: {"cloud": "aws", "repositoryNam": "api"},
        ("repositoryNam", "repositoryNam"),
        ("did you mean repository_name?", "did you mean repositoryName?"),
    ),
    "unknown nested key": case(
        Registry,
        lambda: {"cloud": "aws", "lifecycle": {"keep_taged_images": 5}},
        lambda: {"cloud": "aws", "lifecycle": {"keepTagedImages": 5}},
        ("lifecycle.keep_taged_images", "lifecycle.keepTagedImages"),
        ("did you mean keep_tagged_images?", "did you mean keepTaggedImages?"),
    ),
    # The SDK maps an object property given as anything else to {}: the defaults, silently.
    "a list for lifecycle": case(
        Registry,
        lambda: {"cloud": "aws", "lifecycle": [{"keep_tagged_images": 5}]},
        lambda: {"cloud": "aws", "lifecycle": [{"keepTaggedImages": 5}]},
        ("lifecycle", "lifecycle"),
        "is not an object of type Lifecycle",
    ),
    "a string for mirror": case(
        Registry,
        lambda: {"cloud": "local", "mirror": "enabled"},
        lambda: {"cloud": "local", "mirror": "enabled"},
        ("mirror", "mirror"),
        "is not an object of type PullThroughMirror",
    ),
    "a list for platform": case(
        RegistryImage,
        lambda: image(platform=["linux/arm64"]),
        lambda: wired_image(platform=["linux/arm64"]),
        ("platform", "platform"),
        "is not a string",
    ),
    "a number for tag": case(
        RegistryImage,
        lambda: image(tag=7),
        lambda: wired_image(tag=7),
        ("tag", "tag"),
        "is not a string",
    ),
    "an Output for context": case(
        RegistryImage,
        lambda: image(context=pulumi.Output.from_input(APP)),
        lambda: wired_image(context=pulumi.Output.secret(APP)),
        ("context", "context"),
        PLAIN,
    ),
    # From another language the engine hands the whole list over as one Output when an item is
    # a secret: the path it can name is the list's.
    "an Output in pull_principals": case(
        Registry,
        lambda: {"cloud": "aws", "pull_principals": [ROLE, pulumi.Output.from_input(ROLE)]},
        lambda: {"cloud": "aws", "pullPrincipals": [ROLE, pulumi.Output.secret(ROLE)]},
        ("pull_principals[1]", "pullPrincipals"),
        PLAIN,
    ),
    "login without password": case(
        RegistryImage,
        lambda: image(login={"server": "registry.example.com", "username": "robot"}),
        lambda: wired_image(
            login=pulumi.Output.secret({"server": "registry.example.com", "username": "robot"})
        ),
        ("login.password", "login.password"),
        "password",
    ),
    # A secret's value is read for its shape before anything is registered, too.
    "an unknown key in a secret": case(
        RegistryImage,
        lambda: image(login={**LOGIN, "passwort": "s3cret-pass"}),
        lambda: wired_image(login=pulumi.Output.secret({**LOGIN, "passwort": "s3cret-pass"})),
        ("login.passwort", "login.passwort"),
        "did you mean password?",
    ),
    "a number for a build argument": case(
        RegistryImage,
        lambda: image(build_args={"NOTE": "fine", "WORKERS": 4}),
        lambda: wired_image(buildArgs={"NOTE": "fine", "WORKERS": 4}),
        ("build_args.WORKERS", "buildArgs.WORKERS"),
        "is not a string",
    ),
    "a number for repository_name": case(
        Registry,
        lambda: {"cloud": "local", "repository_name": 5},
        lambda: {"cloud": "local", "repositoryName": 5},
        ("repository_name", "repositoryName"),
        "is not a string",
    ),
    "an Output for cloud": case(
        Registry,
        lambda: {"cloud": pulumi.Output.from_input("aws")},
        lambda: {"cloud": pulumi.Output.secret("aws")},
        ("cloud", "cloud"),
        PLAIN,
    ),
    "an Output for a switch": case(
        Registry,
        lambda: {"cloud": "aws", "force_delete": pulumi.Output.from_input(True)},
        lambda: {"cloud": "aws", "forceDelete": pulumi.Output.secret(True)},
        ("force_delete", "forceDelete"),
        PLAIN,
    ),
    "an Output in a nested option": case(
        Registry,
        lambda: {"cloud": "local", "local": {"port": pulumi.Output.from_input(5050)}},
        lambda: {"cloud": "local", "local": {"port": pulumi.Output.secret(5050)}},
        ("local.port", "local"),
        PLAIN,
    ),
    # The SDK's integer conversion named the parent (`local`) for text, and crashed on a list.
    "text for an integer": case(
        Registry,
        lambda: {"cloud": "local", "local": {"port": "5050"}},
        lambda: {"cloud": "local", "local": {"port": "5050"}},
        ("local.port", "local.port"),
        "is not a whole number from 1 to 65535",
    ),
    "a list for an integer": case(
        Registry,
        lambda: {"cloud": "local", "local": {"port": [5050]}},
        lambda: {"cloud": "local", "local": {"port": [5050]}},
        ("local.port", "local.port"),
        "is not a whole number from 1 to 65535",
    ),
}


def refused(build: Callable[[], object], harness: Harness) -> pulumi.InputPropertyError:
    """The InputPropertyError `build` raises; nothing may have been registered."""
    with pytest.raises(pulumi.InputPropertyError) as raised:
        build()
    assert harness.resources == [], [r.name for r in harness.resources]
    return raised.value


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_python_api_refuses_it_with_its_path(harness: Harness, name: str) -> None:
    bad = CASES[name]
    error = refused(lambda: bad.component("team", bad.python()), harness)  # type: ignore[call-arg]
    assert error.property_path == bad.python_path
    assert bad.python_reason in error.reason


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_provider_refuses_it_with_the_programs_spelling(harness: Harness, name: str) -> None:
    bad = CASES[name]
    error = refused(lambda: construct(bad.component, "team", bad.wired()), harness)
    assert error.property_path == bad.schema_path
    assert bad.schema_reason in error.reason


def test_the_control_cases_are_accepted(harness: Harness) -> None:
    """What the cases above change is what is refused: the same Args with good values build,
    through both ways in, including an Output where the Args take one."""
    token = pulumi.Output.secret("dckr_pat_mock")
    Registry(
        "team",
        {
            "cloud": Cloud.LOCAL,
            "repository_name": "api",
            "lifecycle": {"keep_tagged_images": 5},
            "mirror": {"enabled": True, "docker_hub_user": "robot123", "docker_hub_token": token},
        },
    )
    RegistryImage(
        "api",
        image(
            build_args={"NOTE": pulumi.Output.from_input("fine")},
            login=pulumi.Output.secret(dict(LOGIN)),
        ),  # type: ignore[arg-type]
    )
    construct(
        Registry, "wired", {"cloud": "local", "repositoryName": "api", "local": {"port": 5060}}
    )
    construct(RegistryImage, "wired", wired_image(buildArgs={"NOTE": "fine"}))
    types = sorted({r.typ for r in harness.resources})
    assert "docker:index/image:Image" in types
    assert "docker:index/container:Container" in types


def stopped_by_the_login_check(error: BaseException) -> bool:
    return isinstance(error, pulumi.InputPropertyError) and error.property_path == "login.password"


def test_a_login_output_without_password_is_refused_when_it_resolves(harness: Harness) -> None:
    """A login that is an Output (another Registry's) can only be read once it resolves: the
    error names `login.password` then, and the image is never registered; the component itself
    already was (it had to exist to wait for the value)."""
    login = pulumi.Output.secret({"server": "registry.example.com", "username": "robot"})
    RegistryImage("api", image(login=login))  # type: ignore[arg-type]
    failures = settle_failed_registrations(stopped_by_the_login_check)
    assert {(type(f).__name__, getattr(f, "property_path", None)) for f in failures} == {
        ("ArgumentError", "login.password")
    }
    registered = [r.typ for r in harness.monitor.registered()]
    assert registered == ["container-registry:index:RegistryImage"]


# --- a missing extra


def extra_modules() -> dict[str, set[str]]:
    """The modules each extra of pyproject.toml installs, by their import names."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    return {
        extra: {requirement.split(">")[0].split("<")[0].replace("-", "_") for requirement in pins}
        for extra, pins in extras.items()
    }


# Each cloud SDK or package a target's build imports, and the extra that installs it.
BUILD_IMPORTS = [
    ("local", "pulumi_random"),
    ("local", "bcrypt"),
    ("aws", "pulumi_aws"),
    ("azure", "pulumi_azure_native"),
    ("gcp", "pulumi_gcp"),
    ("gcp", "pulumi_random"),
]
TARGET_ARGS: dict[str, dict[str, Any]] = {
    "local": {"cloud": "local"},
    "aws": {"cloud": "aws"},
    "azure": {"cloud": "azure", "azure": {"location": "westeurope"}},
    "gcp": {"cloud": "gcp", "gcp": {"project": "my-project-123", "location": "europe-west4"}},
}


@pytest.mark.parametrize(("cloud", "module"), BUILD_IMPORTS)
def test_a_missing_extra_is_named_with_the_command_that_installs_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloud: str, module: str
) -> None:
    assert module in extra_modules()[cloud], f"pyproject.toml's [{cloud}] lacks {module}"
    # None in sys.modules makes an import fail with ModuleNotFoundError (Python's documented way);
    # the target's modules are imported again, as in a fresh interpreter without the extra.
    monkeypatch.setitem(sys.modules, module, None)
    for loaded in [name for name in sys.modules if name.startswith(f"container_registry.{cloud}.")]:
        if not loaded.endswith(".options"):
            monkeypatch.delitem(sys.modules, loaded)
    with pytest.raises(ModuleNotFoundError) as raised:
        Registry("team", TARGET_ARGS[cloud])  # type: ignore[arg-type]
    assert raised.value.name == module
    assert f'pip install "container-registry[{cloud}]"' in str(raised.value)
    assert module in str(raised.value)
    assert harness.resources == []
