"""The docs say what the program does: every command they show names real keys and flags, every
link resolves, and the README's settings table is the program's own table."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from registries.settings import CLOUDS, KEY_TARGETS, PROJECT_KEYS

README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
# Where commands are shown: the docs, and the comments of Pulumi.yaml and the stack files.
WITH_COMMANDS = [*DOCS, *sorted(ROOT.glob("Pulumi*.yaml"))]
PROVIDER_NAMESPACES = ("aws", "azure-native", "gcp", "docker")
README_MAX_LINES = 200

# `pulumi config set` options that take a value, and those that do not.
_CONFIG_SET_VALUE_OPTIONS = {"--stack", "-s", "--config-file", "--cwd", "-C"}
_CONFIG_SET_FLAGS = {"--secret", "--plaintext", "--path", "--json", "--type"}


def doc_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def project_config_keys() -> set[str]:
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    return set(document["config"])


def commands(text: str, prefix: str) -> list[str]:
    """Each place `prefix` starts a command, up to the end of the line, a closing backtick or a
    shell separator."""
    return [
        match.group(0)
        for match in re.finditer(rf"{re.escape(prefix)}[^`\n|&;)]*", text)
        if not text[match.end() : match.end() + 1].isalnum()
    ]


def config_set_key(command: str) -> str | None:
    """The key of a `pulumi config set ...` command, as Pulumi reads it (`--path 'a[0]'` -> a);
    None for a placeholder such as `<key>`, or for the bare command named in prose."""
    # comments=True: a shell comment after the command ("# from acme/app's main") is no word.
    words = shlex.split(command.replace("\\\n", " "), comments=True)[3:]
    if not words:
        return None  # the command named in prose ("run the `pulumi config set` line")
    index = 0
    while index < len(words) and words[index].startswith("-"):
        option = words[index]
        assert option in _CONFIG_SET_FLAGS | _CONFIG_SET_VALUE_OPTIONS, f"{option} in {command!r}"
        index += 2 if option in _CONFIG_SET_VALUE_OPTIONS else 1
    assert index < len(words), f"no key in {command!r}"
    key = words[index]
    if key.startswith("<"):
        return None
    return re.split(r"[.\[]", key, maxsplit=1)[0] if "--path" in words[:index] else key


def up_sh_flags() -> set[str]:
    """The flags up.sh's usage text lists (its `usage` function)."""
    source = (ROOT / "up.sh").read_text(encoding="utf-8")
    usage = re.search(r"^usage\(\)\s*\{(.*?)^\}", source, re.MULTILINE | re.DOTALL)
    assert usage is not None, "up.sh has no usage() function"
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", usage.group(1)))
    assert {"--help", "--stack", "--preview", "--outputs", "--destroy", "--yes"} <= flags, flags
    return flags


@pytest.mark.parametrize("path", WITH_COMMANDS, ids=doc_id)
def test_every_config_key_shown_exists(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    known = project_config_keys()
    for command in commands(text, "pulumi config set"):
        key = config_set_key(command)
        if key is None:
            continue
        namespace = key.split(":", 1)[0] if ":" in key else None
        assert key in known or namespace in PROVIDER_NAMESPACES, (
            f"{doc_id(path)}: `{command.strip()}` sets {key!r}, which is neither a key of "
            "Pulumi.yaml nor a provider's"
        )


def test_the_config_key_parser() -> None:
    """The parser above, on the forms the docs use, so the test above can fail."""
    assert config_set_key("pulumi config set cloud aws") == "cloud"
    assert config_set_key("pulumi config set --path 'pullPrincipals[0]' arn:x --stack aws") == (
        "pullPrincipals"
    )
    assert config_set_key("pulumi config set --secret azure-native:clientSecret x") == (
        "azure-native:clientSecret"
    )
    assert config_set_key("pulumi config set --stack gcp gcp:project p") == "gcp:project"
    assert config_set_key("pulumi config set <key> <value> --stack dev") is None
    assert config_set_key("pulumi config set") is None
    assert commands("run `pulumi config set localPort 5001 --stack dev`, then", "pulumi config set")
    assert config_set_key(commands("x `pulumi config set clowd aws`.", "pulumi config set")[0]) == (
        "clowd"
    )


@pytest.mark.parametrize("path", WITH_COMMANDS, ids=doc_id)
def test_every_up_sh_flag_shown_exists(path: Path) -> None:
    flags = up_sh_flags()
    for command in commands(path.read_text(encoding="utf-8"), "./up.sh"):
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", command):
            assert flag in flags, (
                f"{doc_id(path)}: `{command.strip()}` uses {flag}, unknown to up.sh"
            )


def anchors(page: Path) -> set[str]:
    """The #fragments GitHub gives a Markdown page's headings: lowercase, punctuation dropped,
    spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_every_relative_link_resolves(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, fragment = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.exists(), f"{doc_id(path)} links to {target}, which does not exist"
        if fragment and resolved.suffix == ".md":
            assert fragment in anchors(resolved), f"{doc_id(path)}: no heading for {target}"


def test_readme_is_a_front_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES, (
        "README.md is the front page: move detail to docs/"
    )
    for page in (
        "local",
        "aws",
        "azure",
        "gcp",
        "security",
        "development",
        "stacks",
        "ci",
        "mirror",
    ):
        assert f"(docs/{page}.md" in text, f"README.md does not link to docs/{page}.md"
    for command in ("./up.sh", "bash .ci/run"):
        assert command in text


def _settings_table() -> dict[str, tuple[str, ...]]:
    """The README's settings table: key -> its targets column."""
    text = README.read_text(encoding="utf-8")
    header = "| key | default | targets | meaning |"
    assert header in text, "the settings table's header changed"
    rows: dict[str, tuple[str, ...]] = {}
    for line in text[text.index(header) :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        key, _default, targets = (cell.strip() for cell in line.strip("|").split("|")[:3])
        rows[key.strip("`")] = CLOUDS if targets == "all" else tuple(targets.split(", "))
    return rows


def test_readme_settings_table_is_the_programs_table() -> None:
    rows = _settings_table()
    assert list(rows) == list(PROJECT_KEYS), "one row per project key, in PROJECT_KEYS' order"
    for key, targets in rows.items():
        assert targets == KEY_TARGETS[key], (
            f"README says {key} applies to {targets}; KEY_TARGETS says {KEY_TARGETS[key]}"
        )
