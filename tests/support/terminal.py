"""A person at a terminal, for the commands that ask before acting (`relay reset`, `relay dlq
purge`): stdin that says it is a terminal and answers with what the test typed."""

from __future__ import annotations

import io
import sys

import pytest


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def type_at_terminal(monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
    """stdin is a terminal at which the person types `answer` (and Enter)."""
    monkeypatch.setattr(sys, "stdin", Terminal(f"{answer}\n"))


def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin is a pipe (a script, cron, CI): no one to ask; it would even say "y"."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
