"""The CI guard of the engine tests: in CI (`CI=true`) a run that collected the engine tests
(tests/engine among its paths) fails when any was skipped or deselected, or none ran; its
summary says how many engine tests ran. A run of other paths only is left alone.

A plugin that tests/conftest.py registers, not hooks of tests/engine/conftest.py: the unit suite
runs in parallel (pytest-xdist, `-n auto` in pyproject.toml), where the controller process that
prints the summary and sets the exit status collects nothing and so never loads
tests/engine/conftest.py. The workers collect and deselect; each hands its counts of collected
and deselected engine tests to the controller in `config.workeroutput` (xdist's channel for a
worker's results, xdist/remote.py `WorkerInteractor.pytest_sessionfinish`), and the controller
gets every test's report (xdist/dsession.py `worker_runtest_logreport`), so it counts the
outcomes itself.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest

ENGINE_DIR = Path(__file__).resolve().parent
_DESELECTED = "engine_tests_deselected"
_COLLECTED = "engine_tests_collected"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def is_engine_test(item: pytest.Item) -> bool:
    return _in_engine_dir(str(item.path))


@functools.cache
def _in_engine_dir(path: str) -> bool:
    """Once per test file, not per test: resolving a path asks the file system."""
    return ENGINE_DIR in Path(path).resolve().parents


class EngineTestGuard:
    """Counts the engine tests' outcomes in the process that reports them."""

    def __init__(self) -> None:
        self.counts = {"passed": 0, "failed": 0, "skipped": 0, "deselected": 0}
        # Engine tests collected, selected or not (0 in xdist's controller until a worker ends).
        self.collected = 0

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.counts["deselected"] += sum(1 for item in items if is_engine_test(item))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        selected = sum(1 for item in session.items if is_engine_test(item))
        self.collected = selected + self.counts["deselected"]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if Path(report.nodeid.split("::")[0]).parent.name != ENGINE_DIR.name:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = "passed" if report.passed else "skipped" if report.skipped else "failed"
            self.counts[outcome] += 1

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """xdist's controller: a worker is done. Every worker collects the same tests, so each
        collected and deselected the same ones: take the largest counts, not the sums."""
        workeroutput = getattr(node, "workeroutput", {})
        self.collected = max(self.collected, workeroutput.get(_COLLECTED, 0))
        deselected = workeroutput.get(_DESELECTED, 0)
        self.counts["deselected"] = max(self.counts["deselected"], deselected)

    def _fails(self) -> bool:
        ran = self.counts["passed"] + self.counts["failed"]
        return in_ci() and bool(self.counts["skipped"] or self.counts["deselected"] or ran == 0)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.collected:
            return
        counts = self.counts
        terminalreporter.write_line(
            f"engine tests: {counts['passed'] + counts['failed']} ran ({counts['passed']} "
            f"passed, {counts['failed']} failed), {counts['skipped']} skipped, "
            f"{counts['deselected']} deselected"
        )
        if self._fails():
            terminalreporter.write_line(
                "CI=true: engine tests were skipped or deselected (or none ran): the run fails",
                red=True,
            )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: the controller decides
            workeroutput[_DESELECTED] = self.counts["deselected"]
            workeroutput[_COLLECTED] = self.collected
            return
        if self.collected and self._fails():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
