"""Activity events as the publishing tests make them: distinct, ordered ids and dates."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from activity_relay.core.model import Activity, ActivityEvent

CONTACT_ID = "123e4567-e89b-12d3-a456-426614174000"

MakeEvent = Callable[..., ActivityEvent]


def event_maker() -> MakeEvent:
    """A maker of events with distinct, ordered ids and dates (a fresh count for each maker);
    keyword arguments override activity fields (None removes one)."""
    counter = itertools.count()

    def make(contact_id: str = CONTACT_ID, **fields: Any) -> ActivityEvent:
        number = next(counter)
        raw: dict[str, Any] = {
            "id": f"act-{number:05d}",
            "created_date": f"2024-05-01T10:{number // 60 % 60:02d}:{number % 60:02d}Z",
            "activity_type": "email",
            "entity_type": "contact",
            "title": f"Activity {number}",
            "description": "Sent the proposal.",
        }
        raw.update(fields)
        raw = {name: value for name, value in raw.items() if value is not None}
        return ActivityEvent(contact_id=contact_id, activity=Activity.from_api(raw))

    return make
