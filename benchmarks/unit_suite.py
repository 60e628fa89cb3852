"""Side by side, in one run: the unit suite's time (engine and e2e tests aside) in two
checkouts, alternating, with the machine's load average at each start. Not a test; run it by
hand and copy its table into docs/development.md:

    venv/bin/python benchmarks/unit_suite.py BEFORE_CHECKOUT [AFTER_CHECKOUT] [--rounds N]
        [--warmup] [--before-tests PATH ...] [--after-tests PATH ...]

BEFORE_CHECKOUT is another worktree (`git worktree add --detach /tmp/before <commit>` and a
`venv` symlink in it); AFTER_CHECKOUT defaults to this one. Each run is
`python -m pytest -q -p no:cacheprovider -m "not engine and not e2e" [PATH ...]` in that
checkout, with this checkout's interpreter and packages. Wall time moves with the load of a
shared machine; the CPU time (user + system, of pytest and everything it starts) much less, so
both are shown. A checkout's first run also compiles its bytecode: --warmup runs each once
untimed first.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not engine and not e2e"]


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_suite(checkout: Path, tests: list[str]) -> tuple[float, float, str, float]:
    """Wall seconds, CPU seconds, pytest's summary line, and the 1-minute load average at the
    start."""
    load = os.getloadavg()[0]
    cpu = _children_cpu()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *COMMAND, *tests],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    # pytest's last line: "N passed, M failed, ... in 61.2s" (every count it has).
    summary = (re.findall(r"^=*\s*(\d+ \w+.* in [\d.]+s.*?)\s*=*$", done.stdout, re.M) or ["?"])[-1]
    return seconds, _children_cpu() - cpu, summary, load


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path, nargs="?", default=ROOT)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--warmup", action="store_true", help="run each once untimed first (bytecode, caches)"
    )
    parser.add_argument("--before-tests", nargs="*", default=[], help="test paths (default: all)")
    parser.add_argument("--after-tests", nargs="*", default=[], help="test paths (default: all)")
    args = parser.parse_args()
    checkouts = {"before": args.before, "after": args.after}
    tests = {"before": args.before_tests, "after": args.after_tests}
    if args.warmup:
        for name in ("before", "after"):
            run_suite(checkouts[name], tests[name])
    wall: dict[str, list[float]] = {"before": [], "after": []}
    cpu: dict[str, list[float]] = {"before": [], "after": []}
    for round_number in range(args.rounds):
        # Alternate which goes first, so a change in the machine's load hits both alike.
        order = ("before", "after") if round_number % 2 == 0 else ("after", "before")
        for name in order:
            seconds, used, summary, load = run_suite(checkouts[name], tests[name])
            wall[name].append(seconds)
            cpu[name].append(used)
            print(
                f"round {round_number + 1} {name:6} wall {seconds:6.1f} s  cpu {used:6.1f} s  "
                f"load {load:4.1f}  {summary}",
                flush=True,
            )
    for label, values in (("wall", wall), ("cpu", cpu)):
        before, after = statistics.median(values["before"]), statistics.median(values["after"])
        print(
            f"median {label}: before {before:.1f} s, after {after:.1f} s, "
            f"ratio {before / after:.2f}x"
        )


if __name__ == "__main__":
    main()
