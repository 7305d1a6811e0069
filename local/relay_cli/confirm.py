"""Asking before a command does what cannot be undone (`relay reset`, `relay dlq purge`)."""

from __future__ import annotations

import sys
from typing import IO

from relay_cli.target import UsageError


def confirmed(question: str, *, yes: bool, without_terminal: str, err: IO[str]) -> bool:
    """Whether to go ahead: `--yes`, or "y" typed at a terminal after `question` (on stderr).
    Without a terminal to ask at and without `--yes` (a script, a pipe): a UsageError saying
    `without_terminal`, and nothing done, since no one could have said no."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(without_terminal)
    print(f"{question} [y/N] ", end="", file=err)
    err.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")
