"""`.ci/run`, the whole check: shellcheck finds nothing in it, and the private engine it starts
where none answers (for tests/engine) is torn down by a trap on every way out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPT = ROOT / ".ci" / "run"


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed (Debian/Ubuntu: apt-get install -y shellcheck)"
    result = subprocess.run(
        [shellcheck, "--shell=bash", str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_private_engine_lives_in_a_temporary_folder_and_is_stopped_on_exit() -> None:
    text = SCRIPT.read_text()
    dockerd = re.search(r"^\s*dockerd \\\n((?:.*\\\n)*.*)$", text, re.MULTILINE)
    assert dockerd, "no dockerd command in .ci/run"
    options = dockerd.group(1)
    for option in ("--data-root", "--exec-root", "--pidfile", "--host"):
        assert re.search(rf'{option} "[^"]*\$ENGINE_DIR/', options), f"{option} not in ENGINE_DIR"
    assert 'ENGINE_DIR="$(mktemp -d' in text, "ENGINE_DIR is not a new temporary folder"
    assert "trap stop_engine EXIT" in text, "the private engine is not stopped when the run ends"
    # The engine is started before pytest, whose engine tests need it.
    assert text.index("\nensure_engine\n") < text.index("venv/bin/python -m pytest")


# In parallel (the default, pyproject.toml's addopts) the controller that decides the exit status
# collects nothing itself; in one process (`-n 0`) it collects everything.
@pytest.mark.parametrize("workers", ["1", "0"])
def test_a_run_without_engine_tests_fails_in_ci_and_ci_run_is_ci(workers: str) -> None:
    """`.ci/run` runs pytest with CI=true, and with CI=true a pytest run whose engine tests are
    all deselected fails (exit 1, pytest's TESTS_FAILED) where it would otherwise end with
    "no tests ran" (exit 5), in parallel or not. Collection only: no engine is needed."""
    text = SCRIPT.read_text()
    pytest_line = next(line for line in text.splitlines() if "venv/bin/python -m pytest" in line)
    assert pytest_line.startswith('CI="${CI:-true}" '), f"pytest runs without CI: {pytest_line}"
    outcomes = {}
    for ci in ("true", "false"):
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers,
             "-m", "not engine", "tests/engine"],
            cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
            env={**os.environ, "CI": ci},
        )  # fmt: skip
        # Every engine test counted as deselected, in parallel too (the workers' count).
        counted = r"engine tests: 0 ran \(0 passed, 0 failed\), 0 skipped, [1-9]\d* deselected"
        assert re.search(counted, result.stdout), result.stdout[-2000:]
        outcomes[ci] = result.returncode
    assert outcomes == {"true": 1, "false": 5}, outcomes
