"""Side by side, in one run: the unit suite's wall time (engine and e2e tests aside) of two
checkouts, alternating, with the machine's load average around each run. Not a test; run it by
hand and copy its table into docs/development.md:

    venv/bin/python benchmarks/unit_suite.py BEFORE_CHECKOUT [AFTER_CHECKOUT] [--rounds N]

BEFORE_CHECKOUT is another worktree (`git worktree add --detach /tmp/before <commit>` and a
`venv` symlink in it); AFTER_CHECKOUT defaults to this one. Each run is
`venv/bin/python -m pytest -q -p no:cacheprovider -m "not engine and not e2e"` in that checkout,
with this checkout's interpreter and packages. A checkout's first run also compiles its
bytecode: --warmup runs each once untimed first.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not engine and not e2e"]


def run_suite(checkout: Path) -> tuple[float, str, float]:
    """Seconds, pytest's summary line and the 1-minute load average at the start."""
    load = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *COMMAND], cwd=checkout, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - started
    # pytest's last line: "N passed, M failed, ... in 61.2s" (every count it has).
    summary = (re.findall(r"^=*\s*(\d+ \w+.* in [\d.]+s.*?)\s*=*$", done.stdout, re.M) or ["?"])[-1]
    return seconds, summary, load


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path, nargs="?", default=ROOT)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--warmup", action="store_true", help="run each once untimed first (bytecode, caches)"
    )
    args = parser.parse_args()
    if args.warmup:
        for name in ("before", "after"):
            run_suite(getattr(args, name))
    times: dict[str, list[float]] = {"before": [], "after": []}
    for round_number in range(args.rounds):
        # Alternate which goes first, so a change in the machine's load hits both alike.
        order = ("before", "after") if round_number % 2 == 0 else ("after", "before")
        for name in order:
            seconds, summary, load = run_suite(getattr(args, name))
            times[name].append(seconds)
            print(
                f"round {round_number + 1} {name:6} {seconds:6.1f} s  load {load:4.1f}  {summary}"
            )
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    print(f"median: before {before:.1f} s, after {after:.1f} s, ratio {before / after:.2f}x")


if __name__ == "__main__":
    main()
