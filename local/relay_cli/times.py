"""Times as people type them on the command line: `--since 6h`, `--backdate 2026-03-01T09:00Z`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from relay_cli.target import UsageError

_AGO = re.compile(r"(\d+)([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, at: datetime, flag: str) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise), or `90m`, `6h`, `3d` before `at`."""
    text = text.strip()
    ago = _AGO.fullmatch(text)
    if ago:
        return at - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{flag}: not an ISO 8601 time or 90m / 6h / 3d: {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
