"""How ./up.sh stops: a line or more on stderr, each `up.sh: ...`, and an exit status."""

from __future__ import annotations


class Exit(Exception):
    """Stop with `code` (2: a refusal, 1: a declined question), after printing each line as
    `up.sh: <line>` on stderr."""

    def __init__(self, code: int, *lines: str) -> None:
        super().__init__(*lines)
        self.code = code
        self.lines = lines
