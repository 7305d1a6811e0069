"""Values as people read them in the CLI's text output (JSON output keeps JSON's own)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence


def plain(value: object) -> str:
    """yes / no for booleans, - for nothing, JSON for structures; never a Python repr."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, Mapping | Sequence) and not isinstance(value, str):
        return json.dumps(value)
    return str(value)
