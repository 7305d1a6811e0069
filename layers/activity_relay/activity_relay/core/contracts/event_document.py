"""The event document (CONTRACT.md, "Output"), written once: its fields, the filter attributes
SNS carries and webhook endpoints filter on, its wire form, and its cut to a size limit.

The same document is the SNS Message, the EventBridge Detail and the body of every webhook
delivery, so every one of them is built here.

An entry above a service's limit (SNS and EventBridge: 256 KB) would be rejected on every retry
and block its contact for good, and dropping it would break the completeness guarantee. So
`fit_document` shrinks the document instead: it cuts `activity.description` and, if that is
not enough, replaces `activity.metadata`, `activity.title` and then the activity's other
fields, largest first, with null. The document then says `"truncated": true` and lists the
changed fields in `"truncated_fields"` (e.g. `["activity.description"]`), so consumers know to
fetch the whole activity from LeadLex. Only a document whose fixed fields alone exceed the
limit cannot be fitted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from activity_relay.core.model import ActivityEvent

SCHEMA_VERSION = "1.0"
EVENT_TYPE = "activity.created"

FILTER_ATTRIBUTES = ("event_type", "activity_type", "entity_type", "contact_id")
"""The message attributes SNS carries and an endpoint filter may name (CONTRACT.md)."""


def event_document(event: ActivityEvent) -> dict[str, Any]:
    """The JSON document of CONTRACT.md: SNS Message and EventBridge Detail alike."""
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": event.activity.id,
        "event_type": EVENT_TYPE,
        "contact_id": event.contact_id,
        "activity_type": event.activity.activity_type,
        "occurred_at": event.activity.created_date,
        "activity": dict(event.activity.raw),
        "origin": event.origin,
    }


def read_document(body: str) -> Mapping[str, Any]:
    """A received body as a document: an empty one when it is not a JSON object."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, Mapping) else {}


def filter_attributes(document: Mapping[str, Any]) -> dict[str, str | None]:
    """The filter attributes of a document: each a string, or None where it has none."""
    activity = document.get("activity")
    values = {
        "event_type": document.get("event_type"),
        "activity_type": document.get("activity_type"),
        "entity_type": activity.get("entity_type") if isinstance(activity, Mapping) else None,
        "contact_id": document.get("contact_id"),
    }
    return {name: value if isinstance(value, str) else None for name, value in values.items()}


def serialize(document: Mapping[str, Any]) -> str:
    """The wire form: compact, and ASCII only, so that its length is its size in bytes and
    no subscriber (SQS rejects some code points) refuses a character of it."""
    return json.dumps(document, separators=(",", ":"))


class DocumentTooLarge(ValueError):
    """Even with every activity field cut, the document exceeds the limit."""


def fit_document(document: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """A copy of `document`, cut down to fit in `limit` bytes once serialized and marked as
    truncated when it has to be (see the module docstring)."""
    if len(serialize(document)) <= limit:
        return dict(document)
    activity = dict(document["activity"])
    description = activity.get("description")
    trimmable = description if isinstance(description, str) else None
    replaced: list[str] = []

    def candidate(kept: int) -> dict[str, Any]:
        fields = [f"activity.{name}" for name in replaced]
        body = dict(activity)
        if trimmable is not None and kept < len(trimmable):
            body["description"] = trimmable[:kept]
            fields.insert(0, "activity.description")
        return {**document, "activity": body, "truncated": True, "truncated_fields": fields}

    def fits(kept: int) -> bool:
        return len(serialize(candidate(kept))) <= limit

    for name in _replacement_order(activity, skip="description" if trimmable is not None else None):
        if fits(0):
            break
        activity[name] = None
        replaced.append(name)
    if not fits(0):
        # The id may be the very thing too large: quote only its start.
        raise DocumentTooLarge(
            f"event {str(document.get('event_id'))[:100]!r} exceeds {limit} bytes"
        )
    if trimmable is None:
        return candidate(0)
    # Each kept character costs at least one byte, so no more than `limit` can be kept.
    low, high = 0, min(len(trimmable), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return candidate(low)


def _replacement_order(activity: Mapping[str, Any], skip: str | None) -> list[str]:
    # The id stays: it is what a consumer needs to fetch the full activity. A value no larger
    # than null gains nothing by being replaced, and would be listed as truncated for nothing.
    sizes = {name: len(serialize(value)) for name, value in activity.items()}
    candidates = [n for n in activity if n not in {"id", skip} and sizes[n] > len("null")]
    first = [name for name in ("metadata", "title") if name in candidates]
    others = [name for name in candidates if name not in first]
    others.sort(key=sizes.__getitem__, reverse=True)
    return first + others
