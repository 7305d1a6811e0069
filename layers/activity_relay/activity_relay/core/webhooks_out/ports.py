"""What webhook delivery needs of the world: the endpoint table, the delivery queue, its dead
letters, and one HTTP POST."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from activity_relay.core.webhooks_out.attempts import AttemptOutcome, AttemptRecord
    from activity_relay.core.webhooks_out.endpoints import Endpoint


class WebhookConfigError(ValueError):
    """An invalid filter, URL, secret or schedule; the message says what is wrong."""


class EndpointStore(Protocol):
    """Registered webhook endpoints, their health and their recent attempts."""

    def enabled_endpoints(self) -> list[Endpoint]: ...

    def get(self, endpoint_id: str) -> Endpoint | None: ...

    def record_attempt(self, record: AttemptRecord) -> None: ...

    def record_success(self, endpoint_id: str, at: datetime) -> None:
        """Clear the failure streak and its start."""
        ...

    def record_failure(self, endpoint_id: str, at: datetime) -> Endpoint | None:
        """Count a failure (its start kept if one is running); the endpoint as it now is."""
        ...

    def disable(self, endpoint_id: str, reason: str, at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one endpoint: the event document exactly as published, and, once on the
    delivery queue, its receipt and which attempt this is (its receive count)."""

    endpoint_id: str
    body: str
    message_id: str = ""
    receipt: str = ""
    attempt: int = 1


class DeliveryQueue(Protocol):
    def enqueue(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Send each delivery as its own message; return those that could not be sent."""
        ...

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        """Keep the received delivery hidden for `seconds` (at most 12 h): its next attempt."""
        ...


class WebhookDeadLetters(Protocol):
    def dead_letter(
        self, delivery: Delivery, *, event_id: str, last_status: str, reason: str
    ) -> None:
        """Keep the delivery (endpoint, event, last status) for `relay webhooks redrive`."""
        ...


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        """POST once; never raises for what the endpoint or the network did."""
