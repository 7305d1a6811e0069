"""The event document's JSON Schema (schemas/activity-event.schema.json, draft 2020-12) and its
draft-4 rendering, the dialect an EventBridge schema registry accepts (JSONSchemaDraft4), which
template.yaml registers. A test checks that the template holds exactly this rendering.

    .venv/bin/python -m relay_local.event_schema     # prints the draft-4 rendering
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

SCHEMA_PATH: Final = Path(__file__).resolve().parents[2] / "schemas" / "activity-event.schema.json"
DRAFT4: Final = "http://json-schema.org/draft-04/schema#"

# Keywords that mean the same in both drafts; anything else is refused, not silently dropped.
_SAME: Final = frozenset(
    {
        "title",
        "description",
        "type",
        "required",
        "properties",
        "items",
        "pattern",
        "minLength",
        "minItems",
        "uniqueItems",
        "enum",
    }
)


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def draft4(schema: dict[str, Any]) -> dict[str, Any]:
    """The same constraints in draft 4: `const` becomes a one-value `enum`, `dependentRequired`
    becomes `dependencies`, `$id` becomes `id`."""
    return {"$schema": DRAFT4, **_node(schema, top=True)}


def _node(node: dict[str, Any], *, top: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$schema" and top:
            continue
        if key == "$id" and top:
            out["id"] = value
        elif key == "const":
            out["enum"] = [value]
        elif key == "dependentRequired":
            out["dependencies"] = value
        elif key == "properties":
            out[key] = {name: _node(child) for name, child in value.items()}
        elif key == "items":
            out[key] = _node(value)
        elif key in _SAME:
            out[key] = value
        else:
            raise ValueError(f"no draft-4 rendering for keyword {key!r}")
    return out


def main() -> int:
    print(json.dumps(draft4(load_schema()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
