"""Webhook fan-out: an event from the activity topic → kept in the event store (for replays),
then one delivery per matching endpoint, each its own message on the delivery queue.

Nothing is lost between the topic and an endpoint:
- an event that cannot be stored comes back whole (nothing was queued for it yet);
- a delivery that cannot be queued (SQS refuses it, or keeps failing) is dead-lettered alone,
  as the (event, endpoint) pair `relay webhooks redrive` sends again, and counted; the event's
  other deliveries are not held back by it;
- only when even that fails does the event come back, to be fanned out again (its endpoints
  may then get it twice, with the same webhook-id).

Disabled endpoints get their deliveries like the others: the deliverer parks them until the
endpoint is enabled (delivery.py), so what is published while it is disabled is not missed.
The endpoint list is read from the table at most once per `ttl` (EndpointDirectory).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from activity_relay.core.contracts.event_document import filter_attributes, read_document
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.filters import matches
from activity_relay.core.webhooks_out.ports import (
    Delivery,
    DeliveryQueue,
    EndpointStore,
    EventStore,
    StoredEvent,
    WebhookDeadLetters,
)

logger = logging.getLogger(__name__)

NOT_AN_EVENT = "not an event document (no event_id)"


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """An event from the activity topic (raw delivery): the document and its attributes, and
    when SNS put it on the queue."""

    message_id: str
    body: str
    attributes: Mapping[str, str]
    published_at: datetime


@dataclass(frozen=True, slots=True)
class FanOutResult:
    queued: int
    """Deliveries put on the delivery queue."""
    dead_lettered: int
    """Deliveries (or unreadable events) dead-lettered instead: counted, redrivable."""
    failed_message_ids: list[str]
    """Events that come back whole: not stored, or a delivery neither queued nor kept."""


def event_attributes(
    document: Mapping[str, Any], attributes: Mapping[str, str]
) -> dict[str, str | None]:
    """The filter attributes: the message attributes SNS delivered, else the document's."""
    from_document = filter_attributes(document)
    return {name: attributes.get(name, value) for name, value in from_document.items()}


def event_id_of(body: str | Mapping[str, Any]) -> str | None:
    """The event id of a body, or of a document already read from one."""
    document = read_document(body) if isinstance(body, str) else body
    event_id = document.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None


class EndpointDirectory:
    """The endpoints an event is fanned out to, read from the store at most once per `ttl`:
    a fan-out reads the endpoints, never their history, and most batches not even that."""

    def __init__(self, store: EndpointStore, ttl: timedelta, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded: tuple[datetime, list[Endpoint]] | None = None

    def __call__(self) -> list[Endpoint]:
        now = self._clock()
        with self._lock:
            if self._loaded is None or now - self._loaded[0] >= self._ttl:
                self._loaded = (now, self._store.endpoints())
            return list(self._loaded[1])


class WebhookFanOut:
    def __init__(
        self,
        endpoints: Callable[[], list[Endpoint]],
        store: EventStore,
        queue: DeliveryQueue,
        dead_letters: WebhookDeadLetters,
    ) -> None:
        self._endpoints = endpoints
        self._store = store
        self._queue = queue
        self._dead_letters = dead_letters

    def fan_out(self, events: Sequence[IncomingEvent]) -> FanOutResult:
        endpoints = [e for e in self._endpoints() if not e.removed]
        returned: set[str] = set()
        dead_lettered = 0
        readable: list[tuple[IncomingEvent, StoredEvent]] = []
        for event in events:
            document = read_document(event.body)
            event_id = event_id_of(document)
            if event_id is None:
                if self._dead_letter(Delivery("", event.body, event.message_id), "", NOT_AN_EVENT):
                    dead_lettered += 1
                else:
                    returned.add(event.message_id)
                continue
            attributes = event_attributes(document, event.attributes)
            stored = StoredEvent(
                event_id, event.body, event.published_at, attributes, event.message_id
            )
            readable.append((event, stored))
        not_kept = (
            {id(s) for s in self._store.keep([s for _, s in readable])} if readable else set()
        )
        deliveries: list[tuple[Delivery, StoredEvent]] = []
        for event, stored in readable:
            if id(stored) in not_kept:
                logger.warning("event %s not stored: it comes back", stored.event_id)
                returned.add(event.message_id)
                continue
            for endpoint in endpoints:
                if matches(endpoint.filter_policy, stored.attributes):
                    deliveries.append((Delivery(endpoint.endpoint_id, event.body), stored))
        failed = self._queue.enqueue([d for d, _ in deliveries]) if deliveries else []
        origin = {id(d): stored for d, stored in deliveries}
        for delivery, why in failed:
            stored = origin[id(delivery)]
            if self._dead_letter(delivery, stored.event_id, f"not queued: {why}"):
                dead_lettered += 1
            else:
                returned.add(stored.message_id)
        order = [e.message_id for e in events]
        return FanOutResult(
            queued=len(deliveries) - len(failed),
            dead_lettered=dead_lettered,
            failed_message_ids=sorted(returned, key=order.index),
        )

    def _dead_letter(self, delivery: Delivery, event_id: str, reason: str) -> bool:
        try:
            self._dead_letters.dead_letter(
                delivery, event_id=event_id, last_status="", reason=reason, attempts=0
            )
        except Exception:
            logger.exception(
                "delivery of %s to %s could not be dead-lettered either; the event comes back",
                event_id or "(unreadable)",
                delivery.endpoint_id or "(no endpoint)",
            )
            return False
        logger.warning(
            "delivery of %s to %s dead-lettered: %s",
            event_id or "(unreadable)",
            delivery.endpoint_id or "(no endpoint)",
            reason,
        )
        return True
