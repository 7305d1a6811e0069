"""The event document's schema (schemas/activity-event.schema.json) as tests apply it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from relay_local.event_schema import load_schema


@cache
def validator() -> Draft202012Validator:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_valid_event(document: Mapping[str, Any]) -> None:
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "event document outside schemas/activity-event.schema.json: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '(document)'}: {e.message}" for e in errors
    )
