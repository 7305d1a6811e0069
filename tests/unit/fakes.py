"""In-memory stand-ins for the engine's ports: a LeadLex list (and, re-exported, the store
and publisher of relay_local.memory)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from activity_relay.core.model import Activity, ActivityPage
from activity_relay.core.ports import ContactNotFound
from relay_local.memory import MemoryStateStore, RecordingPublisher

__all__ = ["EPOCH", "FakeLeadLex", "MemoryStateStore", "RecordingPublisher", "at"]

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> str:
    return (EPOCH + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@dataclass
class FakeLeadLex:
    """A contact's activity list as the API serves it: newest first, offset pages.

    `tie_order` decides how activities with equal created_date are ordered, since the API
    does not say: by insertion, newest insertion first ("newest"), oldest first ("oldest"),
    or by id ("id").
    """

    page_size: int = 100
    tie_order: str = "newest"
    contacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: int = 0
    between_pages: list[Callable[[str, int], None]] = field(default_factory=list)
    _sequence: itertools.count[int] = field(default_factory=itertools.count)
    _order: dict[str, int] = field(default_factory=dict)

    def add(self, contact_id: str, seconds: int, activity_type: str = "call") -> dict[str, Any]:
        number = next(self._sequence)
        activity = {
            "id": f"act_{number:06d}",
            "activity_type": activity_type,
            "entity_type": "contact",
            "description": f"activity {number}",
            "created_date": at(seconds),
        }
        self._order[activity["id"]] = number
        self.contacts.setdefault(contact_id, []).append(activity)
        return activity

    def listing(self, contact_id: str) -> list[dict[str, Any]]:
        items = self.contacts[contact_id]

        def tie(activity: dict[str, Any]) -> Any:
            if self.tie_order == "id":
                return activity["id"]
            sequence = self._order[activity["id"]]
            return sequence if self.tie_order == "newest" else -sequence

        return sorted(items, key=lambda a: (a["created_date"], tie(a)), reverse=True)

    def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
        if contact_id not in self.contacts:
            raise ContactNotFound(f"contact {contact_id} not found")
        for hook in self.between_pages:
            hook(contact_id, page)
        self.requests += 1
        items = self.listing(contact_id)
        chunk = items[(page - 1) * self.page_size : page * self.page_size]
        return ActivityPage(
            number=page,
            per_page=self.page_size,
            total=len(items),
            activities=tuple(Activity.from_api(raw) for raw in chunk),
        )
