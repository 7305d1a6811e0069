"""The relay's event document as subscribers receive it, and one line of it for people."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final


def event_document(body: str) -> Mapping[str, Any] | None:
    """The relay's event document inside a subscriber's message: raw SNS delivery, an SNS
    envelope, or an EventBridge event. None when the body is none of these."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    if parsed.get("Type") == "Notification" and isinstance(parsed.get("Message"), str):
        return event_document(parsed["Message"])
    if isinstance(parsed.get("detail"), dict):
        return event_document(json.dumps(parsed["detail"]))
    return parsed if "event_id" in parsed else None


def format_event(subscriber: str, document: Mapping[str, Any]) -> str:
    return (
        f"{subscriber:<6} {document.get('contact_id', '?'):<36}  "
        f"{document.get('activity_type', '?'):<11} {document.get('occurred_at', '?'):<21} "
        f"{document.get('origin', '?'):<7} {document.get('event_id', '?')}"
    )


EVENT_HEADER: Final = format_event(
    "SUBSCR",
    {
        "contact_id": "CONTACT",
        "activity_type": "TYPE",
        "occurred_at": "OCCURRED_AT",
        "origin": "VIA",
        "event_id": "EVENT_ID",
    },
)
