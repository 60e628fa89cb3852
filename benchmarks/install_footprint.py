"""Side by side, in one run: the size and cold-cache install time of each Python environment a
stack needs. Not a test; run it by hand and copy its table into docs/development.md:

    venv/bin/python benchmarks/install_footprint.py [--uv]

Each install gets a fresh virtualenv and an empty pip (or uv) cache in a temporary folder, and
repeats what Pulumi's pip toolchain does for `pulumi install` (InstallDependencies in
sdk/python/toolchain/pip.go of pulumi/pulumi): `python -m venv`, `pip install --upgrade pip
setuptools wheel`, `pip install -r <file>`. "before" is the requirements.txt of commit 597f696
(every cloud SDK, what every stack installed until then); the others are this checkout's files.
With --uv, each set is also installed with uv (`uv venv` and `uv pip install -r`, uv's own cache).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE_COMMIT = "597f696"


def du_bytes(path: Path) -> int:
    """The disk usage `du -s` reports, in bytes (the blocks files take, as a user sees it)."""
    done = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0]) * 1024


def installed_count(python: Path) -> int:
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(len(list(m.distributions())))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def run(args: list[str], env: dict[str, str], cwd: Path) -> None:
    subprocess.run(args, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def pip_install(requirements: Path, work: Path) -> tuple[float, int, int]:
    venv, cache = work / "venv", work / "pip-cache"
    # No pip.conf and no find-links: every package from the index, as on a newcomer's machine.
    env = {**os.environ, "PIP_CACHE_DIR": str(cache), "PIP_CONFIG_FILE": os.devnull}
    for name in ("VIRTUAL_ENV", "PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
        env.pop(name, None)
    start = time.monotonic()
    run([sys.executable, "-m", "venv", str(venv)], env, requirements.parent)
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", "-U", "pip", "setuptools", "wheel"], env,
        requirements.parent)  # fmt: skip
    run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], env,
        requirements.parent)  # fmt: skip
    seconds = time.monotonic() - start
    return seconds, du_bytes(venv), installed_count(python)


def uv_install(uv: str, requirements: Path, work: Path) -> tuple[float, int, int]:
    venv, cache = work / "venv", work / "uv-cache"
    env = {**os.environ, "UV_CACHE_DIR": str(cache), "VIRTUAL_ENV": str(venv)}
    start = time.monotonic()
    run([uv, "venv", "-q", "--python", sys.executable, str(venv)], env, requirements.parent)
    run([uv, "pip", "install", "-q", "-r", str(requirements)], env, requirements.parent)
    seconds = time.monotonic() - start
    return seconds, du_bytes(venv), installed_count(venv / "bin" / "python")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Size and cold-cache install time of each stack's environment, side by side."
    )
    parser.add_argument("--uv", action="store_true", help="also install each set with uv")
    options = parser.parse_args()
    uv = shutil.which("uv") if options.uv else None
    if options.uv and uv is None:
        sys.exit("--uv: no uv on PATH (pip install uv)")

    with tempfile.TemporaryDirectory(prefix="install-footprint-") as tmp:
        tmp_path = Path(tmp)
        # The files as they were, in a folder of their own (their -r lines are relative).
        before = tmp_path / "before"
        before.mkdir()
        old = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{BEFORE_COMMIT}:requirements.txt"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        (before / "requirements.txt").write_text(old, encoding="utf-8")
        sets = {
            "before: requirements.txt with every cloud SDK": before / "requirements.txt",
            "local stack: requirements.txt": ROOT / "requirements.txt",
            "aws stack: requirements-aws.txt": ROOT / "requirements-aws.txt",
        }
        rows: list[tuple[str, str, float, int, int]] = []
        for number, (label, path) in enumerate(sets.items()):
            tools = [("pip", None)] + ([("uv", uv)] if uv else [])
            for tool, binary in tools:
                work = tmp_path / f"{number}-{tool}"
                work.mkdir()
                if binary is None:
                    seconds, size, count = pip_install(path, work)
                else:
                    seconds, size, count = uv_install(binary, path, work)
                rows.append((label, tool, seconds, size, count))
                print(f"{label} ({tool}): {seconds:.0f} s, {size / 1e6:.0f} MB, {count} packages",
                      flush=True)  # fmt: skip
                shutil.rmtree(work)

    print("\n| install | tool | packages | `venv/` size | cold install time |")
    print("| --- | --- | --- | --- | --- |")
    for label, tool, seconds, size, count in rows:
        print(f"| {label} | {tool} | {count} | {size / 1e6:.0f} MB | {seconds:.0f} s |")
    base = {tool: (s, b) for label, tool, s, b, _ in rows if label.startswith("before")}
    for label, tool, seconds, size, _ in rows:
        if label.startswith("local"):
            s0, b0 = base[tool]
            print(
                f"\nlocal vs before ({tool}): {b0 / size:.1f}x smaller, {s0 / seconds:.1f}x faster"
            )
    if uv:
        pip_local = next(r for r in rows if r[0].startswith("local") and r[1] == "pip")
        uv_local = next(r for r in rows if r[0].startswith("local") and r[1] == "uv")
        print(f"local stack, uv vs pip: {pip_local[2] / uv_local[2]:.1f}x faster")


if __name__ == "__main__":
    main()
