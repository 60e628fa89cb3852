"""Write docs/reference.md, the reference of every Args field, from the package schema.

Run `venv/bin/python -m scripts.reference` after changing container_registry/args.py or a
component's outputs; tests/test_reference.py fails while the page and the code disagree. The
schema is the one the component provider serves (container_registry/provider.py); the Python key
of each property comes from the same analysis (`Analyzer` in pulumi/provider/experimental/
analyzer.py), so the page is written from the code alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pulumi.provider.experimental.analyzer import Analyzer

from container_registry.provider import COMPONENTS, PACKAGE, schema

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference.md"
COMMAND = "venv/bin/python -m scripts.reference"
TYPE_PREFIX = f"#/types/{PACKAGE}:index:"

HEADER = f"""# Args reference

Every input and output of the components, generated from the schema Pulumi infers from the code
(`{COMMAND}` writes this page; CI fails when it is stale). A service's resources are Python
attributes, and outputs by ID or name here.

## How to read it

Python programs pass a dict with the **Python key**s (`container_registry/args.py`); TypeScript,
YAML and Java use the **schema name**, Go and C# the same name capitalized. A **plain** value
must be known when the program runs, never an Output: these decide which resources exist. A
**secret** holds a credential: pass it as a secret.
Usage: [use-in-your-program.md](use-in-your-program.md).
"""


def python_names() -> dict[str, dict[str, str]]:
    """For each resource and type token: schema property name -> Python key or attribute."""
    result = Analyzer(PACKAGE).analyze(list(COMPONENTS))
    names: dict[str, dict[str, str]] = {}
    for name, component in result["component_definitions"].items():
        names[f"{PACKAGE}:index:{name}#inputs"] = component.inputs_mapping
        names[f"{PACKAGE}:index:{name}#outputs"] = component.outputs_mapping
    for name, type_def in result["type_definitions"].items():
        names[f"{PACKAGE}:index:{name}"] = type_def.properties_mapping
    return names


def one_line(text: str | None) -> str:
    """A description as one table cell: whitespace collapsed, pipes escaped, and `<` escaped
    outside code spans (GitHub would take `<id>` for an HTML tag and drop it)."""
    parts = " ".join((text or "").split()).replace("|", "\\|").split("`")
    return "`".join(
        part if index % 2 else part.replace("<", "&lt;") for index, part in enumerate(parts)
    )


def type_name(spec: dict[str, Any]) -> str:
    """A property's type in words, linking the package's own types."""
    ref = spec.get("$ref")
    if isinstance(ref, str):
        if ref.startswith(TYPE_PREFIX):
            name = ref.removeprefix(TYPE_PREFIX)
            return f"[{name}](#{name.lower()})"
        return "any" if ref == "pulumi.json#/Any" else f"`{ref}`"
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {type_name(spec.get('items') or {})}"
    if kind == "object" and "additionalProperties" in spec:
        return f"map of {type_name(spec['additionalProperties'])}"
    return str(kind)


def property_table(
    properties: dict[str, Any], required: list[str], python: dict[str, str], inputs: bool
) -> list[str]:
    head = "| Python key | schema name | type | required | description |"
    if not inputs:
        head = "| Python attribute | schema name | type | always set | description |"
    lines = [head, "| --- | --- | --- | --- | --- |"]
    for name, spec in properties.items():
        kind = type_name(spec) + (", plain" if spec.get("plain") else "")
        kind += ", secret" if spec.get("secret") else ""
        lines.append(
            f"| `{python[name]}` | `{name}` | {kind} | {'yes' if name in required else ''} "
            f"| {one_line(spec.get('description'))} |"
        )
    return lines


def render(document: dict[str, Any], python: dict[str, dict[str, str]]) -> str:
    """The page for `document`, a package schema, with `python` from `python_names`."""
    lines = [HEADER.rstrip("\n")]
    for token, resource in document["resources"].items():
        name = token.rsplit(":", 1)[-1]
        lines += [
            "",
            f"## {name}",
            "",
            f"{one_line(resource.get('description'))} Resource type `{token}`.",
            "",
            f"### {name} inputs",
            "",
            *property_table(
                resource.get("inputProperties") or {},
                resource.get("requiredInputs") or [],
                python[f"{token}#inputs"],
                inputs=True,
            ),
            "",
            f"### {name} outputs",
            "",
            *property_table(
                resource.get("properties") or {},
                resource.get("required") or [],
                python[f"{token}#outputs"],
                inputs=False,
            ),
        ]
    lines += ["", "## Nested types"]
    for token, spec in sorted(document.get("types", {}).items()):
        name = token.rsplit(":", 1)[-1]
        lines += ["", f"### {name}", "", one_line(spec.get("description")), ""]
        if spec.get("enum"):
            lines += ["| value | name | description |", "| --- | --- | --- |"]
            for member in spec["enum"]:
                text = one_line(member.get("description"))
                lines.append(f"| `{member['value']}` | `{member['name']}` | {text} |")
        else:
            lines += property_table(
                spec.get("properties") or {}, spec.get("required") or [], python[token], True
            )
    return "\n".join(lines) + "\n"


def current() -> str:
    """The page as the code says it should read now."""
    return render(schema(), python_names())


def main() -> int:
    REFERENCE.write_text(current(), encoding="utf-8")
    print(f"wrote {REFERENCE.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
