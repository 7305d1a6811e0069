"""One event's story, for `relay events show`: when it was published and by which path, which
endpoints it matched, and what each delivery did — assembled from the records the fan-out and
the deliverer keep (the event table's publications, the attempt table's attempts and parked
deliveries) and the endpoints as they are now. Plain data in, plain data out.

A publication is what the fan-out received from the activity topic: one per SNS message, so an
event published again (a retried sync, the webhook fast path and a poll) shows each time. The
bus is published with the topic (an event counts as published only once every channel took
it) but keeps no per-event record the relay could read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from activity_relay.core.contracts.event_document import read_document
from activity_relay.core.webhooks_out.attempts import Action, AttemptRecord
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.filters import matches
from activity_relay.core.webhooks_out.ports import ParkedDelivery, StoredEvent


@dataclass(frozen=True, slots=True)
class Publication:
    """One SNS message of an event, as the fan-out received it."""

    event_id: str
    published_at: datetime
    message_id: str
    origin: str | None
    """`poll` or `webhook` (the document's `origin`); None when the document has none."""
    occurred_at: str | None
    attributes: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def contact_id(self) -> str | None:
        return self.attributes.get("contact_id")

    @property
    def activity_type(self) -> str | None:
        return self.attributes.get("activity_type")


def publication_of(event: StoredEvent) -> Publication:
    """What the event table indexes of a stored event: its document read once, here."""
    document = read_document(event.body)
    origin, occurred_at = document.get("origin"), document.get("occurred_at")
    return Publication(
        event_id=event.event_id,
        published_at=event.published_at,
        message_id=event.message_id,
        origin=origin if isinstance(origin, str) else None,
        occurred_at=occurred_at if isinstance(occurred_at, str) else None,
        attributes=dict(event.attributes),
    )


class DeliveryState(Enum):
    DELIVERED = "delivered"
    RETRYING = "retrying"
    DEAD_LETTERED = "dead-lettered"
    PARKED = "parked"
    """Its endpoint was disabled: kept until `relay webhooks enable`."""
    PENDING = "pending"
    """Matched by the endpoint's filter, no attempt recorded (queued, or its records expired)."""


@dataclass(frozen=True, slots=True)
class EndpointTrace:
    endpoint_id: str
    url: str | None
    """None for an endpoint that no longer exists."""
    state: DeliveryState
    attempts: tuple[AttemptRecord, ...]
    """Oldest first."""
    parked_at: datetime | None = None

    @property
    def next_step(self) -> str | None:
        """The command that moves it on, when it waits for a person."""
        if self.state is DeliveryState.DEAD_LETTERED:
            return f"relay webhooks redrive {self.endpoint_id}"
        if self.state is DeliveryState.PARKED:
            return f"relay webhooks enable {self.endpoint_id}"
        return None


@dataclass(frozen=True, slots=True)
class EventTrace:
    event_id: str
    publications: tuple[Publication, ...]
    """Oldest first; empty when only deliveries were found (the publication has expired)."""
    endpoints: tuple[EndpointTrace, ...]

    @property
    def found(self) -> bool:
        return bool(self.publications or self.endpoints)


def assemble_trace(
    event_id: str,
    publications: Iterable[Publication],
    attempts: Iterable[AttemptRecord],
    parked: Iterable[ParkedDelivery],
    endpoints: Sequence[Endpoint],
) -> EventTrace:
    """The event's trace. An endpoint appears when it has attempts or a parked delivery of the
    event, or when it exists now, was registered before the event's first publication and its
    filter matches it (then its delivery is pending)."""
    published = tuple(sorted(publications, key=lambda p: (p.published_at, p.message_id)))
    by_endpoint: dict[str, list[AttemptRecord]] = {}
    for record in sorted(attempts, key=lambda r: (r.at, r.attempt)):
        by_endpoint.setdefault(record.endpoint_id, []).append(record)
    parked_at = {p.endpoint_id: p.parked_at for p in parked}
    known = {e.endpoint_id: e for e in endpoints}
    traces = [
        _endpoint_trace(
            endpoint_id,
            known.get(endpoint_id),
            by_endpoint.get(endpoint_id, []),
            parked_at.get(endpoint_id),
        )
        for endpoint_id in sorted(by_endpoint.keys() | parked_at.keys())
    ]
    if published:
        first = published[0]
        traces += [
            EndpointTrace(e.endpoint_id, e.url, DeliveryState.PENDING, ())
            for e in endpoints
            if e.endpoint_id not in by_endpoint
            and e.endpoint_id not in parked_at
            and not e.removed
            and (e.created_at is None or e.created_at <= first.published_at)
            and matches(e.filter_policy, first.attributes)
        ]
    return EventTrace(event_id, published, tuple(traces))


def _endpoint_trace(
    endpoint_id: str,
    endpoint: Endpoint | None,
    records: list[AttemptRecord],
    parked_at: datetime | None,
) -> EndpointTrace:
    url = endpoint.url if endpoint is not None else None
    last = records[-1] if records else None
    if last is None or (parked_at is not None and parked_at > last.at):
        return EndpointTrace(endpoint_id, url, DeliveryState.PARKED, tuple(records), parked_at)
    state = {
        Action.DELIVERED.value: DeliveryState.DELIVERED,
        Action.DEAD_LETTER.value: DeliveryState.DEAD_LETTERED,
    }.get(last.action, DeliveryState.RETRYING)
    return EndpointTrace(endpoint_id, url, state, tuple(records), parked_at)
