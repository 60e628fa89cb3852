"""The docs say what the program does: every command they show names real keys and flags, every
link resolves, and the README's settings table is the program's own table."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pulumi
import pytest
import yaml

from conftest import AWS_REGION, ROOT, Harness, resolve
from stack.cli.options import parser
from stack.config.keys import CLOUDS, KEY_TARGETS, PROJECT_KEYS

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
    """The flags ./up.sh's usage lists (`./up.sh --help`: the CLI's argparse parser)."""
    usage = parser().format_help()
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", usage))
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
        # "all" and "clouds" (aws, azure, gcp; the README says so above the table) are short forms.
        named = {"all": CLOUDS, "clouds": ("aws", "azure", "gcp")}.get(targets)
        rows[key.strip("`")] = named or tuple(targets.split(", "))
    return rows


def test_readme_settings_table_is_the_programs_table() -> None:
    rows = _settings_table()
    assert list(rows) == list(PROJECT_KEYS), "one row per project key, in PROJECT_KEYS' order"
    for key, targets in rows.items():
        assert targets == KEY_TARGETS[key], (
            f"README says {key} applies to {targets}; KEY_TARGETS says {KEY_TARGETS[key]}"
        )


# --- issue 17: short pages that do not repeat each other, and commands that work as printed

README_MAX_WORDS = 1000
OPENING_MAX_LINES = 3
REPEAT_MIN_WORDS = 12
# The one documented way out (issue 17 item 4): up.sh's --destroy, with the stack named.
DESTROY_RECIPE = re.compile(r"\./up\.sh --stack [A-Za-z0-9_.<>-]+ --destroy\s*(#.*)?")
# Commands that need the stack's environment (backend, passphrase) in a new shell.
NEEDS_ENVIRONMENT = ("pulumi config set", "pulumi config rm", "pulumi destroy", "pulumi stack rm")
# Other ways to delete a stack than the one recipe.
OTHER_WAYS_OUT = ("pulumi destroy", "pulumi stack rm")
ENV_LINE = 'eval "$(./up.sh'
STACK_FILES = sorted(path for path in ROOT.glob("Pulumi.*.yaml"))
PRINTED = [*DOCS, *STACK_FILES]


def blocks(text: str) -> list[str]:
    """A page cut where a reader would see a unit: each fenced code block whole, and the text
    between them by blank lines (paragraphs, lists, tables, comment groups)."""
    found: list[str] = []
    for index, part in enumerate(re.split(r"^(```.*?^```)\s*$", text, flags=re.M | re.S)):
        if index % 2:
            found.append(part.strip())
        else:
            found.extend(chunk.strip() for chunk in re.split(r"\n\s*\n", part) if chunk.strip())
    return found


def prose(text: str) -> str:
    """A page without its fenced code blocks."""
    return re.sub(r"^```.*?^```\s*$", "\n", text, flags=re.M | re.S)


def sentences(text: str) -> list[str]:
    """The page's sentences outside code blocks, each list item and table cell on its own,
    lowercased with Markdown links reduced to their text and spaces collapsed."""
    found: list[str] = []
    for chunk in blocks(prose(text)):
        pieces: list[str] = []
        for line in chunk.splitlines():
            stripped = line.strip()
            if stripped.startswith("|"):
                pieces.extend(stripped.strip("|").split("|"))
            elif re.match(r"([-*]|\d+\.) ", stripped) or stripped.startswith("#") or not pieces:
                pieces.append(stripped)
            else:
                pieces[-1] += " " + stripped
        for piece in pieces:
            piece = re.sub(r"\]\([^)]*\)", "]", piece)
            for sentence in re.split(r"(?<=[.!?])\s+", piece):
                normal = " ".join(sentence.lower().split()).rstrip(".:;,")
                if normal:
                    found.append(normal)
    return found


def opening(text: str) -> list[str]:
    """The lines between a page's title and its first section heading."""
    lines = text.splitlines()
    assert lines and lines[0].startswith("# "), "a page starts with its title"
    body: list[str] = []
    for line in lines[1:]:
        if line.startswith("## "):
            break
        body.append(line)
    return [line for line in body if line.strip()]


def test_readme_is_at_most_1000_words() -> None:
    # `wc -w`: runs of non-space characters.
    words = len(README.read_text(encoding="utf-8").split())
    assert words <= README_MAX_WORDS, f"README.md has {words} words; move detail to docs/"


# Issue 28 item 6: the hand-written docs (README.md and docs/, the generated reference aside).
HAND_WRITTEN_MAX_WORDS = 12000
GENERATED = ROOT / "docs" / "reference.md"


def test_hand_written_docs_are_at_most_12000_words() -> None:
    assert GENERATED in DOCS, "the generated reference moved: update GENERATED"
    # `wc -w`, as for the README: runs of non-space characters, page by page.
    counts = {doc_id(path): len(path.read_text(encoding="utf-8").split()) for path in DOCS}
    del counts[doc_id(GENERATED)]
    total = sum(counts.values())
    assert total <= HAND_WRITTEN_MAX_WORDS, (
        f"README.md and docs/ hold {total} words (at most {HAND_WRITTEN_MAX_WORDS}): say a thing "
        "once and link to it; the longest pages: "
        + ", ".join(
            f"{page} {words}" for page, words in sorted(counts.items(), key=lambda c: -c[1])[:3]
        )
    )


@pytest.mark.parametrize("path", DOCS[1:], ids=doc_id)
def test_each_page_opens_with_what_it_is_for(path: Path) -> None:
    lines = opening(path.read_text(encoding="utf-8"))
    assert lines, f"{doc_id(path)}: no opening prose under the title"
    assert len(lines) <= OPENING_MAX_LINES, (
        f"{doc_id(path)} opens with {len(lines)} lines before its first section; at most "
        f"{OPENING_MAX_LINES} lines of prose say what the page is for"
    )
    for line in lines:
        assert not re.match(r"\s*(```|\||[-*] |\d+\. |>)", line), (
            f"{doc_id(path)}: the opening is prose, not {line!r}"
        )


def test_no_sentence_is_on_two_pages() -> None:
    seen: dict[str, str] = {}
    repeated: list[str] = []
    for path in DOCS:
        for sentence in set(sentences(path.read_text(encoding="utf-8"))):
            if len(sentence.split()) < REPEAT_MIN_WORDS:
                continue
            if sentence in seen and seen[sentence] != doc_id(path):
                repeated.append(f"{seen[sentence]} and {doc_id(path)}: {sentence!r}")
            seen.setdefault(sentence, doc_id(path))
    assert not repeated, "one fact lives on one page; link to it:\n" + "\n".join(repeated)


@pytest.mark.parametrize("path", PRINTED, ids=doc_id)
def test_the_way_out_is_one_recipe(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for command in commands(text, "./up.sh"):
        if "--destroy" in command:
            assert DESTROY_RECIPE.fullmatch(command.strip()), (
                f"{doc_id(path)}: `{command.strip()}`; the one way out is "
                "`./up.sh --stack <stack> --destroy`"
            )
    for other in OTHER_WAYS_OUT:
        assert other not in text, (
            f"{doc_id(path)} shows `{other}`: the one way out is `./up.sh --stack <stack> "
            "--destroy` (docs/stacks.md#the-one-way-out)"
        )


@pytest.mark.parametrize("path", PRINTED, ids=doc_id)
def test_pulumi_commands_come_with_the_stacks_environment(path: Path) -> None:
    """A bare `pulumi config set` in a new shell reaches the default backend (Pulumi Cloud), not
    .pulumi-state/: it is shown only after the `eval "$(./up.sh ... --env)"` line, in its own
    block or the one before."""
    found = blocks(path.read_text(encoding="utf-8"))
    for index, block in enumerate(found):
        for command in NEEDS_ENVIRONMENT:
            at = block.find(command)
            if at < 0:
                continue
            context = (found[index - 1] if index else "") + block[:at]
            assert ENV_LINE in context, (
                f"{doc_id(path)}: `{command}` in a new shell misses the stack's backend and "
                f"passphrase; use `./up.sh --stack S --config KEY VALUE`, or show "
                f'`eval "$(./up.sh --stack S --env)"` first:\n{block}'
            )


def test_the_page_parsers() -> None:
    """The helpers above on small pages, so the tests above can fail."""
    page = "# T\n\nFor x.\n\n## A\n\nOne two. Three\nfour.\n\n```sh\ncode. here\n```\n| a. | b |\n"
    assert opening(page) == ["For x."]
    assert sentences(page) == ["# t", "for x", "## a", "one two", "three four", "a", "b"]
    assert blocks("a\n\n```sh\nx\n\ny\n```\nb\n") == ["a", "```sh\nx\n\ny\n```", "b"]
    assert DESTROY_RECIPE.fullmatch("./up.sh --stack dev --destroy   # asks first")
    assert not DESTROY_RECIPE.fullmatch("./up.sh --destroy")
    assert not DESTROY_RECIPE.fullmatch("./up.sh --stack dev --destroy --yes")


def test_the_readmes_program_runs_as_written(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The README's program (the package's way in), run as written under the mocks from a folder
    of the user's own: an ECR repository named `api`, the image built from `./api` and pushed to
    it, exported by digest."""
    (program,) = re.findall(
        r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S
    )
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    harness.configure(aws__region=AWS_REGION)
    exec(compile(program, "README.md", "exec"), {"__name__": "__main__"})  # noqa: S102
    assert harness.one("aws:ecr/repository:Repository").inputs["name"] == "api"
    image = harness.one("docker:index/image:Image")
    assert Path(image.inputs["build"]["context"]) == Path("api")
    server = f".dkr.ecr.{AWS_REGION}.amazonaws.com/api:"
    assert server in image.inputs["imageName"], image.inputs["imageName"]
    root = pulumi.runtime.get_root_resource()
    assert root is not None
    digest = resolve(root.outputs["image"])  # type: ignore[attr-defined]
    assert re.fullmatch(
        rf"\d{{12}}\.dkr\.ecr\.{AWS_REGION}\.amazonaws\.com/api@sha256:[0-9a-f]{{64}}", digest
    )
