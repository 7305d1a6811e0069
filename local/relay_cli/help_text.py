"""How `relay … --help` reads: plain words, the stack options once, each command's exit codes.

argparse, kept: it is in the standard library (no dependency for a command that runs against
AWS) and imports in a few milliseconds; what it lacked here is a formatter, written below.
"""

from __future__ import annotations

import argparse
from typing import Final

from relay_cli.exit_status import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE

STACK_OPTIONS_TITLE: Final = "where the stack is (before or after the sub-command)"
SEE_STACK_OPTIONS: Final = (
    "stack options (--stack-name, --region, --profile, --state-file, …): see relay --help"
)

PARTLY_DONE: Final = {
    "relay": "partly done: some ids, dead letters or deliveries not sent (each command's help)",
    "relay enqueue": "partly done: some ids invalid or not sent",
    "relay dlq redrive": "partly done: some dead letters could not be sent back",
    "relay webhooks enable": "partly done: some missed deliveries could not be queued (enable "
    "again)",
    "relay webhooks redrive": "partly done: some dead letters could not be sent again",
    "relay webhooks replay": "partly done: some events could not be queued (replay again)",
    "relay webhooks test": "not delivered (with --wait: its status or why nothing was sent), "
    "or the test delivery could not be queued",
    "relay tail": "something tail created could not be removed (named on stderr)",
    "relay leadlex register-webhook": "LeadLex refused the registration (or the URL is "
    "registered already)",
}
"""What exit status 1 means, for the commands that can end with it; the others end 0 or 2.
A command that sets its own epilog (exit_statuses(...)) needs no line here."""


def exit_statuses(partly_done: str | None = None, *, done: str = "done") -> str:
    """The exit-status table of one command: 1 only where the command can end so."""
    lines = ["exit status:", f"  {EXIT_OK}  {done}"]
    if partly_done:
        lines.append(f"  {EXIT_PARTIAL}  {partly_done}")
    lines.append(
        f"  {EXIT_USAGE}  nothing done: a usage error, no stack found, an error from AWS, a "
        "declined confirmation, or every item invalid or failed"
    )
    return "\n".join(lines) + "\n"


def strip_markup(text: str) -> str:
    """Docstrings double as help text: their reST literals (double backticks) read as plain."""
    return text.replace("``", "")


class PlainFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (their line breaks kept), without reST markup."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(strip_markup(text))

    def _expand_help(self, action: argparse.Action) -> str:
        return strip_markup(super()._expand_help(action))
