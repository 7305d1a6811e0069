"""What the webhook tests share: endpoints (sealed or in the clear), event documents, and
`Simulation`, which runs the real fan-out and deliverer against the in-memory fakes of
relay_local.fakes until nothing is left to do."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from activity_relay.core.webhooks_out.attempts import AttemptOutcome, RetrySchedule
from activity_relay.core.webhooks_out.delivery import DeliveryResult, WebhookDeliverer
from activity_relay.core.webhooks_out.endpoints import Endpoint, new_endpoint_id
from activity_relay.core.webhooks_out.fanout import IncomingEvent, WebhookFanOut
from activity_relay.core.webhooks_out.ports import Delivery, WebhookSender
from activity_relay.core.webhooks_out.sealing import SecretKeeper
from activity_relay.core.webhooks_out.signing import SealedSecret, SigningSecret, generate_secret
from relay_local.fakes.webhook_records import FakeSealer, MemoryDeliveryLedger, MemoryEventStore
from relay_local.fakes.webhooks_out import (
    MemoryDeliveryQueue,
    MemoryEndpointStore,
    RecordedWebhookDeadLetters,
    ScriptedSender,
)
from tests.support.clock import Clock

__all__ = [
    "CONTACT",
    "START",
    "FakeSealer",
    "MemoryDeliveryLedger",
    "MemoryDeliveryQueue",
    "MemoryEndpointStore",
    "MemoryEventStore",
    "RecordedWebhookDeadLetters",
    "Simulation",
    "document",
    "event",
    "make_endpoint",
    "status",
]

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CONTACT = "123e4567-e89b-12d3-a456-426614174000"


def make_endpoint(url: str = "https://hooks.example.com/in", **fields: object) -> Endpoint:
    """An endpoint whose secret is in the clear (as a table not yet migrated holds it): tests
    verify signatures with `endpoint.secrets[0].value`."""
    endpoint = Endpoint(
        endpoint_id=new_endpoint_id(),
        url=url,
        secrets=(SigningSecret(generate_secret()),),
        created_at=START,
    )
    return replace(endpoint, **fields)  # type: ignore[arg-type]


def sealed_endpoint(
    sealer: FakeSealer, url: str = "https://hooks.example.com/in", **fields: object
) -> tuple[Endpoint, str]:
    """An endpoint as `relay webhooks add` stores it (its secret sealed), and the secret."""
    endpoint_id = new_endpoint_id()
    secret = generate_secret()
    endpoint = Endpoint(
        endpoint_id=endpoint_id,
        url=url,
        secrets=(SealedSecret(sealer.seal(endpoint_id, secret)),),
        created_at=START,
    )
    return replace(endpoint, **fields), secret  # type: ignore[arg-type]


def status(code: int, retry_after: str | None = None) -> AttemptOutcome:
    return AttemptOutcome(code, retry_after=retry_after)


def document(event_id: str = "act_1", activity_type: str = "call", **extra: object) -> str:
    return json.dumps(
        {
            "schema_version": "1.0",
            "event_id": event_id,
            "event_type": "activity.created",
            "contact_id": CONTACT,
            "activity_type": activity_type,
            "occurred_at": "2026-03-01T08:00:00Z",
            "activity": {"id": event_id, "entity_type": "contact", **extra},
        }
    )


def event(
    event_id: str = "act_1",
    activity_type: str = "call",
    published_at: datetime = START,
    **extra: object,
) -> IncomingEvent:
    return IncomingEvent(
        f"msg-{event_id}",
        document(event_id, activity_type, **extra),
        {"activity_type": activity_type},
        published_at,
    )


@dataclass
class Simulation:
    """The fan-out and the deliverer against fakes on a fake clock: what the two queues and
    their Lambda triggers do, without waiting for real time to pass."""

    schedule: RetrySchedule
    clock: Clock[datetime] = field(default_factory=lambda: Clock(START))
    store: MemoryEndpointStore = field(default_factory=MemoryEndpointStore)
    ledger: MemoryDeliveryLedger = field(default_factory=MemoryDeliveryLedger)
    events: MemoryEventStore = field(default_factory=MemoryEventStore)
    sealer: FakeSealer = field(default_factory=FakeSealer)
    dead_letters: RecordedWebhookDeadLetters = field(default_factory=RecordedWebhookDeadLetters)
    uniform: Callable[[float, float], float] = lambda low, high: 1.0
    max_receives: int | None = None
    results: list[DeliveryResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queue = MemoryDeliveryQueue(self.clock, max_receives=self.max_receives)
        self.sender = ScriptedSender(self.clock)
        self.fan_out = WebhookFanOut(
            self.store.endpoints, self.events, self.queue, self.dead_letters
        )
        self.deliverer = WebhookDeliverer(
            endpoints=self.store,
            ledger=self.ledger,
            secrets=SecretKeeper(self.sealer),
            sender=self.sender,
            queue=self.queue,
            dead_letters=self.dead_letters,
            schedule=self.schedule,
            clock=self.clock,
            uniform=self.uniform,
            max_receives=self.max_receives,
        )

    def publish(self, *events: IncomingEvent) -> None:
        result = self.fan_out.fan_out(list(events))
        assert result.failed_message_ids == []

    def run(
        self,
        *,
        until: datetime | None = None,
        max_batches: int = 1000,
        remaining_ms: Callable[[], int] = lambda: 60_000,
    ) -> None:
        """Deliver whatever becomes visible, jumping the clock from one visible time to the
        next, until the queue is empty (or the clock would pass `until`)."""
        for _ in range(max_batches):
            due = self.queue.next_visible_at()
            if due is None or (until is not None and due > until):
                return
            self.clock.now = max(self.clock.now, due)
            batch = self.queue.receive()
            if not batch:
                continue
            results = self.deliverer.deliver(batch, remaining_ms)
            self.results.extend(results)
            for result in results:
                if result.acknowledged:
                    self.queue.acknowledge(result.delivery.message_id)
        raise AssertionError("the simulation did not settle")

    def later(self, **delta: float) -> None:
        self.clock.now += timedelta(**delta)


class NoQueue:
    """A delivery queue that takes every retry and keeps none: for tests of one batch."""

    def enqueue(self, deliveries: object) -> list[tuple[Delivery, str]]:
        return []

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        pass


def sending_deliverer(
    store: MemoryEndpointStore,
    sender: WebhookSender,
    *,
    schedule: str = "5s",
    dead_letters: RecordedWebhookDeadLetters | None = None,
) -> WebhookDeliverer:
    """A deliverer that sends with `sender` over in-memory records, on the wall clock, its retry
    delays without jitter, its retries going nowhere (NoQueue)."""
    return WebhookDeliverer(
        endpoints=store,
        ledger=MemoryDeliveryLedger(),
        secrets=SecretKeeper(FakeSealer()),
        sender=sender,
        queue=NoQueue(),
        dead_letters=dead_letters if dead_letters is not None else RecordedWebhookDeadLetters(),
        schedule=RetrySchedule.parse(schedule),
        clock=lambda: datetime.now(UTC),
        uniform=lambda low, high: 1.0,
    )
