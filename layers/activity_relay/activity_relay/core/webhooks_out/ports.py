"""What webhook fan-out and delivery need of the world: the endpoint table, the attempt ledger,
the event store, the delivery queue and its dead letters, the key that seals signing secrets,
and one HTTP POST."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from activity_relay.core.webhooks_out.attempts import AttemptOutcome, AttemptRecord
    from activity_relay.core.webhooks_out.endpoints import Endpoint


class WebhookConfigError(ValueError):
    """An invalid filter, URL, secret or schedule; the message says what is wrong."""


class EndpointStore(Protocol):
    """Registered webhook endpoints and their health; nothing else (attempts are the ledger's,
    so reading the endpoints never grows with history)."""

    def endpoints(self) -> list[Endpoint]:
        """Every endpoint not removed, enabled or not: what an event is fanned out to."""
        ...

    def get(self, endpoint_id: str) -> Endpoint | None:
        """The endpoint as it is now (a removed one comes back with `removed` set for a while);
        None for an id that was never registered."""
        ...

    def record_success(self, endpoint_id: str, at: datetime) -> None:
        """Clear the failure streak and its start."""
        ...

    def record_failure(self, endpoint_id: str, at: datetime, count: int = 1) -> Endpoint | None:
        """Count `count` failures (their start kept if one is running); the endpoint as it now
        is, or None if it no longer exists."""
        ...

    def disable(self, endpoint_id: str, reason: str, at: datetime) -> None: ...


ENDPOINT_ATTRIBUTE = "webhook_endpoint_id"
"""The delivery queue's message attribute naming a delivery's endpoint (its body is the event)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one endpoint: the event document exactly as published, and, once on the
    delivery queue, its message id, receipt and how often SQS has handed it out (receives are
    not attempts: the ledger counts those)."""

    endpoint_id: str
    body: str
    message_id: str = ""
    receipt: str = ""
    receives: int = 1


class DeliveryQueue(Protocol):
    def enqueue(self, deliveries: Sequence[Delivery]) -> list[tuple[Delivery, str]]:
        """Send each delivery as its own message; those that could not be sent, with why."""
        ...

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        """Keep the received delivery hidden for `seconds` (at most 12 h): its next attempt."""
        ...


class WebhookDeadLetters(Protocol):
    def dead_letter(
        self, delivery: Delivery, *, event_id: str, last_status: str, reason: str, attempts: int
    ) -> None:
        """Keep the delivery (endpoint, event, last status, POSTs sent) for
        `relay webhooks redrive`; raises if it could not be kept."""
        ...


@dataclass(frozen=True, slots=True)
class ParkedDelivery:
    """A delivery that found its endpoint disabled: kept until `relay webhooks enable`."""

    endpoint_id: str
    event_id: str
    body: str
    parked_at: datetime
    held_until: datetime | None = None  # held by an enable that is queueing it


class DeliveryLedger(Protocol):
    """Per endpoint: how many POSTs each delivery has sent, each attempt's record, and the
    deliveries parked while it is disabled (the attempt table)."""

    def count_attempt(self, delivery: Delivery, event_id: str, at: datetime) -> int:
        """One more POST of this delivery, counted before it is sent: its attempt number."""
        ...

    def record_attempt(self, record: AttemptRecord) -> None: ...

    def attempts(self, endpoint_id: str, limit: int = 20) -> list[AttemptRecord]:
        """The newest first."""
        ...

    def park(self, delivery: Delivery, event_id: str, at: datetime) -> None: ...

    def claim_parked(
        self, endpoint_id: str, event_id: str, *, now: datetime
    ) -> ParkedDelivery | None:
        """Take one parked delivery out, exactly once: None if someone else took it or holds
        it past `now`."""
        ...

    def hold_parked(
        self, endpoint_id: str, event_id: str, *, until: datetime, now: datetime
    ) -> ParkedDelivery | None:
        """Hold one parked delivery, until `until`, for whoever queues it (then releases it):
        None if it is gone, or another holds it past `now`."""
        ...

    def release_parked(self, endpoint_id: str, event_id: str) -> None:
        """Remove a parked delivery its holder has queued."""
        ...

    def parked(self, endpoint_id: str) -> Iterator[ParkedDelivery]: ...

    def forget(self, endpoint_id: str) -> None:
        """Everything kept for the endpoint (a removed endpoint's)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the fan-out received it, kept for `relay webhooks replay`."""

    event_id: str
    body: str
    published_at: datetime
    attributes: Mapping[str, str | None] = field(default_factory=dict)
    message_id: str = ""


class EventStore(Protocol):
    def keep(self, events: Sequence[StoredEvent]) -> list[StoredEvent]:
        """Store the events; those that could not be stored."""
        ...

    def between(self, since: datetime, until: datetime) -> Iterator[StoredEvent]:
        """The events published in [since, until), oldest first."""
        ...


class SecretSealer(Protocol):
    """Seals signing secrets so that only the delivery function can read them (a KMS key whose
    policy lets it alone decrypt), bound to their endpoint."""

    def seal(self, endpoint_id: str, secret: str) -> bytes: ...

    def unseal(self, endpoint_id: str, sealed: bytes) -> str: ...


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        """POST once, within the timeout as a whole; never raises for what the endpoint or the
        network did."""
        ...
