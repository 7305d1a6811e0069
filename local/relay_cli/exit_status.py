"""The relay CLI's exit status, one meaning each, as README.md and every command's help say."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
"""Done."""
EXIT_PARTIAL: Final = 1
"""Partly done: some of the work was done, some not (ids not sent, dead letters not redriven)."""
EXIT_USAGE: Final = 2
"""Nothing done: a usage error, no stack found, an error from AWS, a declined confirmation, or
every item failed."""


def status_of(done: int, failed: int) -> int:
    """The status of a command that did `done` items and failed `failed`: partly done only when
    some of each; nothing done when items failed and none was done."""
    if not failed:
        return EXIT_OK
    return EXIT_PARTIAL if done else EXIT_USAGE
