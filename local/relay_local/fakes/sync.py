"""The sync's ports other than the state table, in memory: LeadLex's activity list, the
publishers, and the place rejected messages go."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from activity_relay.adapters.leadlex import RequestRejected
from activity_relay.adapters.sqs.dead_letters import EMPTY_BODY
from activity_relay.core.model import (
    Activity,
    ActivityEvent,
    ActivityPage,
    ContactNotFound,
)
from activity_relay.core.model import parse_contact_id as _parse_contact_id
from activity_relay.core.sync.ports import PublishFailed

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def at(seconds: int) -> str:
    """`seconds` after EPOCH as the API writes a created_date."""
    return (EPOCH + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@dataclass
class FakeLeadLex:
    """A contact's activity list as the API serves it: newest first, offset pages.

    `tie_order` decides how activities with equal created_date are ordered, since the API
    does not say: by insertion, newest insertion first ("newest", the sandbox's order), oldest
    first ("oldest"), or by id ("id").
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
        # As LeadLexClient: no request for a page before the first or an id that is no UUID.
        if page < 1:
            raise ValueError(f"page must be >= 1, not {page}")
        try:
            contact = _parse_contact_id(contact_id)
        except ValueError:
            raise RequestRejected(f"not a contact UUID: {contact_id[:100]!r}", requests=0) from None
        if contact not in self.contacts:
            raise ContactNotFound(f"contact {contact} not found")
        for hook in self.between_pages:
            hook(contact, page)
        self.requests += 1
        items = self.listing(contact)
        chunk = items[(page - 1) * self.page_size : page * self.page_size]
        return ActivityPage(
            number=page,
            per_page=self.page_size,
            total=len(items),
            activities=tuple(Activity.from_api(raw) for raw in chunk),
        )


@dataclass
class RecordingPublisher:
    """Keeps what was delivered; can be told to fail after delivering `fail_after` events."""

    delivered: list[ActivityEvent] = field(default_factory=list)
    calls: list[list[ActivityEvent]] = field(default_factory=list)
    fail_after: int | None = None

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        self.calls.append(list(events))
        if self.fail_after is not None and len(events) > self.fail_after:
            self.delivered.extend(events[: self.fail_after])
            raise PublishFailed("injected failure", delivered=self.fail_after)
        self.delivered.extend(events)

    @property
    def ids(self) -> list[str]:
        return [event.event_id for event in self.delivered]


@dataclass
class RejectionLog:
    """Rejected messages as (message id, body, reason), the body as the dead-letter queue keeps
    it (SQS refuses an empty one)."""

    rejected: list[tuple[str, str, str]] = field(default_factory=list)

    def reject(self, *, message_id: str, body: str, reason: str) -> None:
        self.rejected.append((message_id, body or EMPTY_BODY, reason))
