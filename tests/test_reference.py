"""docs/reference.md is the code's own account of the Args (issue 21 item 6): regenerated here from
the schema, it must equal the checked-in page, and it names every field of the schema."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from container_registry.provider import schema
from scripts.reference import COMMAND, REFERENCE, current, one_line, python_names, render


@pytest.fixture(scope="module")
def package_schema() -> dict[str, Any]:
    return schema()


@pytest.fixture(scope="module")
def names() -> dict[str, dict[str, str]]:
    return python_names()


def test_the_reference_is_current() -> None:
    written = REFERENCE.read_text(encoding="utf-8")
    assert written == current(), f"docs/reference.md is stale: run `{COMMAND}`"


def test_every_schema_field_has_a_row(
    package_schema: dict[str, Any], names: dict[str, dict[str, str]]
) -> None:
    """Read back from the page itself, not from the renderer: each input, output and nested
    field is a table row with its Python key, its schema name and its description."""
    page = REFERENCE.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|", page, re.MULTILINE))
    expected: set[tuple[str, str]] = set()
    for token, resource in package_schema["resources"].items():
        for side, key in (("inputs", "inputProperties"), ("outputs", "properties")):
            mapping = names[f"{token}#{side}"]
            expected |= {(mapping[name], name) for name in resource[key]}
    for token, spec in package_schema["types"].items():
        expected |= {(names[token][name], name) for name in spec.get("properties") or {}}
    assert expected, "the schema has no fields"
    assert expected <= rows, f"no row for {sorted(expected - rows)}"
    for resource in package_schema["resources"].values():
        for spec in resource["inputProperties"].values():
            assert one_line(spec["description"]) in page


def test_a_changed_docstring_changes_the_page(
    package_schema: dict[str, Any], names: dict[str, dict[str, str]]
) -> None:
    changed = copy.deepcopy(package_schema)
    registry = changed["resources"]["container-registry:index:Registry"]
    registry["inputProperties"]["cloud"]["description"] = "Somewhere else entirely."
    assert render(changed, names) != render(package_schema, names)
    assert "| Somewhere else entirely. |" in render(changed, names)


def test_one_line_keeps_code_and_escapes_the_rest() -> None:
    assert one_line("a\n    b | c") == "a b \\| c"
    assert one_line("as User:<id>, or `<mirror>/nginx`") == "as User:&lt;id>, or `<mirror>/nginx`"


def test_an_enum_type_gets_a_row_per_member(names: dict[str, dict[str, str]]) -> None:
    """No Args field is an enum today; one added later is documented member by member."""
    document = {
        "resources": {},
        "types": {
            "container-registry:index:Sku": {
                "type": "string",
                "description": "The registry SKU.",
                "enum": [{"name": "BASIC", "value": "Basic", "description": "The cheapest."}],
            }
        },
    }
    page = render(document, names)
    assert "### Sku\n\nThe registry SKU.\n" in page
    assert "| `Basic` | `BASIC` | The cheapest. |" in page
