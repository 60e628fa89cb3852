"""The layers point one way (issue 28 item 2): the package never imports the stack program, and
the program (__main__.py and stack/) uses only the package's public API, `container_registry`'s
`__all__`.

The second is a structural check of the program's source: the issue asks for exactly that
structure, and what a name means is the package's business; the rest of the suite runs the
program."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import container_registry

ROOT = Path(__file__).resolve().parent.parent
# The program's top-level names: its modules, and the folder it had before issue 28.
PROGRAM = ("stack", "stack_config")

# A fresh interpreter, run from the checkout (where `stack` is importable, so an import of it
# would succeed and show): every module under container_registry/, then the program's modules
# among those loaded, and whether the checkout's __main__.py ran.
IMPORT_ALL = """
import importlib, json, pkgutil, sys
BEFORE
import container_registry
failed = []
for found in pkgutil.walk_packages(container_registry.__path__, "container_registry.",
                                   onerror=failed.append):
    importlib.import_module(found.name)
main = getattr(sys.modules["__main__"], "__file__", None)
print(json.dumps({
    "imported": sorted(name for name in sys.modules if name.startswith("container_registry")),
    "program": sorted(name for name in sys.modules if name.split(".")[0] in PROGRAM),
    "main": main,
    "failed": failed,
}))
"""


def _import_everything(before: str = "") -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = IMPORT_ALL.replace("BEFORE", before).replace("PROGRAM", repr(PROGRAM))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_no_module_of_the_package_imports_the_program() -> None:
    found = _import_everything()
    assert found["failed"] == []
    # Every module was imported, the CLI's old home gone from the package.
    imported = found["imported"]
    assert isinstance(imported, list)
    for module in ("container_registry.registry", "container_registry.local.retention"):
        assert module in imported
    assert not any(name.startswith("container_registry.cli") for name in imported)
    assert found["program"] == []
    assert found["main"] is None


def test_the_import_check_sees_the_program() -> None:
    """The check above can fail: the same run, with a program module imported, reports it."""
    found = _import_everything("import stack.config.keys")
    program = found["program"]
    assert isinstance(program, list) and "stack.config.keys" in program


def private_uses(source: str) -> list[str]:
    """What `source` takes from container_registry beyond its `__all__`: a submodule imported,
    a name imported or read that the package does not export."""
    public = set(container_registry.__all__)
    found: list[str] = []
    aliases: set[str] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "container_registry":
                    aliases.add(alias.asname or alias.name)
                elif alias.name.startswith("container_registry."):
                    found.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("container_registry."):
                found.append(f"from {node.module} import ...")
            elif node.module == "container_registry":
                found.extend(
                    f"from container_registry import {alias.name}"
                    for alias in node.names
                    if alias.name not in public
                )
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr not in public
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def program_modules() -> Iterator[Path]:
    yield ROOT / "__main__.py"
    yield from sorted((ROOT / "stack").rglob("*.py"))


def test_the_program_uses_only_the_public_api() -> None:
    modules = list(program_modules())
    # The config mapping, the CLI and the retention run are all looked at.
    names = {path.relative_to(ROOT).as_posix() for path in modules}
    assert {"stack/config/parse.py", "stack/cli/main.py", "stack/retention.py"} <= names
    private = {
        path.relative_to(ROOT).as_posix(): uses
        for path in modules
        if (uses := private_uses(path.read_text(encoding="utf-8")))
    }
    assert private == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from container_registry.registry import resolve", ["from container_registry.registry"]),
        ("import container_registry.local.container", ["import container_registry.local"]),
        ("from container_registry import github", ["from container_registry import github"]),
        ("import container_registry as cr\ncr.naming.fold('x')", ["cr.naming"]),
        ("from container_registry import Registry, ArgumentError", []),
    ],
)
def test_the_public_api_check_finds_private_uses(source: str, expected: list[str]) -> None:
    found = private_uses(source)
    assert len(found) == len(expected)
    for use, start in zip(found, expected, strict=True):
        assert use.startswith(start)
