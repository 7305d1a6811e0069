"""What the webhook unit tests share: endpoints, and `Simulation`, which runs the
real deliverer against the in-memory fakes of relay_local.fakes until nothing is left to do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from activity_relay.core.webhooks_out.attempts import AttemptOutcome, RetrySchedule
from activity_relay.core.webhooks_out.delivery import DeliveryResult, WebhookDeliverer
from activity_relay.core.webhooks_out.endpoints import Endpoint, new_endpoint_id
from activity_relay.core.webhooks_out.signing import SigningSecret, generate_secret
from relay_local.fakes.webhooks_out import (
    MemoryDeliveryQueue,
    MemoryEndpointStore,
    RecordedWebhookDeadLetters,
    ScriptedSender,
)
from tests.support.clock import Clock

__all__ = [
    "START",
    "MemoryDeliveryQueue",
    "MemoryEndpointStore",
    "RecordedWebhookDeadLetters",
    "Simulation",
    "make_endpoint",
    "status",
]

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def make_endpoint(url: str = "https://hooks.example.com/in", **fields: object) -> Endpoint:
    endpoint = Endpoint(
        endpoint_id=new_endpoint_id(),
        url=url,
        secrets=(SigningSecret(generate_secret()),),
        created_at=START,
    )
    return replace(endpoint, **fields)  # type: ignore[arg-type]


def status(code: int, retry_after: str | None = None) -> AttemptOutcome:
    return AttemptOutcome(code, retry_after=retry_after)


@dataclass
class Simulation:
    """The deliverer against fakes on a fake clock: what the delivery queue and its Lambda
    trigger do, without waiting for real time to pass."""

    schedule: RetrySchedule
    clock: Clock[datetime] = field(default_factory=lambda: Clock(START))
    store: MemoryEndpointStore = field(default_factory=MemoryEndpointStore)
    dead_letters: RecordedWebhookDeadLetters = field(default_factory=RecordedWebhookDeadLetters)
    uniform: Callable[[float, float], float] = lambda low, high: 1.0
    results: list[DeliveryResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queue = MemoryDeliveryQueue(self.clock)
        self.sender = ScriptedSender(self.clock)
        self.deliverer = WebhookDeliverer(
            endpoints=self.store,
            sender=self.sender,
            queue=self.queue,
            dead_letters=self.dead_letters,
            schedule=self.schedule,
            clock=self.clock,
            uniform=self.uniform,
        )

    def run(self, *, until: datetime | None = None, max_batches: int = 1000) -> None:
        """Deliver whatever becomes visible, jumping the clock from one visible time to the
        next, until the queue is empty (or the clock would pass `until`)."""
        for _ in range(max_batches):
            due = self.queue.next_visible_at()
            if due is None or (until is not None and due > until):
                return
            self.clock.now = max(self.clock.now, due)
            batch = self.queue.receive()
            results = self.deliverer.deliver(batch, lambda: 60_000)
            self.results.extend(results)
            for result in results:
                if result.acknowledged:
                    self.queue.acknowledge(result.delivery.message_id)
        raise AssertionError("the simulation did not settle")
