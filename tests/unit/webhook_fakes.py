"""In-memory stand-ins for the webhook ports, on a fake clock: an endpoint store, a delivery
queue whose visibility works as SQS's does, dead letters, and a sender that answers from a
script. `Simulation` runs the deliverer against them until nothing is left to do."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from activity_relay.core.delivery import DeliveryResult, WebhookDeliverer
from activity_relay.core.ports import Delivery
from activity_relay.core.webhooks import (
    AttemptOutcome,
    AttemptRecord,
    Endpoint,
    RetrySchedule,
    SigningSecret,
    generate_secret,
    new_endpoint_id,
)

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
QUEUE_VISIBILITY = 360


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_endpoint(url: str = "https://hooks.example.com/in", **fields: object) -> Endpoint:
    endpoint = Endpoint(
        endpoint_id=new_endpoint_id(),
        url=url,
        secrets=(SigningSecret(generate_secret()),),
        created_at=START,
    )
    return replace(endpoint, **fields)  # type: ignore[arg-type]


@dataclass
class MemoryEndpointStore:
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    attempts: list[AttemptRecord] = field(default_factory=list)

    def add(self, endpoint: Endpoint) -> Endpoint:
        self.endpoints[endpoint.endpoint_id] = endpoint
        return endpoint

    def enabled_endpoints(self) -> list[Endpoint]:
        return [e for e in self.endpoints.values() if e.enabled]

    def get(self, endpoint_id: str) -> Endpoint | None:
        return self.endpoints.get(endpoint_id)

    def record_attempt(self, record: AttemptRecord) -> None:
        self.attempts.append(record)

    def record_success(self, endpoint_id: str, at: datetime) -> None:
        if endpoint_id in self.endpoints:
            self.endpoints[endpoint_id] = replace(
                self.endpoints[endpoint_id], first_failure_at=None, failure_streak=0
            )

    def record_failure(self, endpoint_id: str, at: datetime) -> Endpoint | None:
        endpoint = self.endpoints.get(endpoint_id)
        if endpoint is None:
            return None
        endpoint = replace(
            endpoint,
            first_failure_at=endpoint.first_failure_at or at,
            failure_streak=endpoint.failure_streak + 1,
        )
        self.endpoints[endpoint_id] = endpoint
        return endpoint

    def disable(self, endpoint_id: str, reason: str, at: datetime) -> None:
        self.endpoints[endpoint_id] = replace(
            self.endpoints[endpoint_id], enabled=False, disabled_reason=reason
        )


@dataclass
class _Message:
    delivery: Delivery
    visible_at: datetime
    receives: int = 0


@dataclass
class SimulatedQueue:
    """SQS semantics that matter here: a received message is hidden for the visibility
    timeout unless the consumer changes it; its receive count is the attempt number."""

    clock: FakeClock
    messages: dict[str, _Message] = field(default_factory=dict)
    refuse: Callable[[Delivery], bool] = lambda _: False
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def enqueue(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        failed = []
        for delivery in deliveries:
            if self.refuse(delivery):
                failed.append(delivery)
                continue
            message_id = f"m-{next(self._ids)}"
            self.messages[message_id] = _Message(
                replace(delivery, message_id=message_id), self.clock.now
            )
        return failed

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        assert 0 <= seconds <= 43_200, "SQS refuses visibility timeouts over 12 h"
        self.messages[delivery.message_id].visible_at = self.clock.now + timedelta(seconds=seconds)

    def receive(self, limit: int = 10) -> list[Delivery]:
        visible = [m for m in self.messages.values() if m.visible_at <= self.clock.now][:limit]
        for message in visible:
            message.receives += 1
            message.visible_at = self.clock.now + timedelta(seconds=QUEUE_VISIBILITY)
        return [replace(m.delivery, receipt=f"r-{m.receives}", attempt=m.receives) for m in visible]

    def acknowledge(self, message_id: str) -> None:
        del self.messages[message_id]

    def next_visible_at(self) -> datetime | None:
        return min((m.visible_at for m in self.messages.values()), default=None)


@dataclass
class RecordingDeadLetters:
    letters: list[dict[str, str]] = field(default_factory=list)

    def dead_letter(
        self, delivery: Delivery, *, event_id: str, last_status: str, reason: str
    ) -> None:
        self.letters.append(
            {
                "endpoint_id": delivery.endpoint_id,
                "event_id": event_id,
                "body": delivery.body,
                "last_status": last_status,
                "reason": reason,
            }
        )


@dataclass(frozen=True)
class Post:
    url: str
    body: bytes
    headers: dict[str, str]
    at: datetime


Answer = Callable[[Post], AttemptOutcome]


@dataclass
class ScriptedSender:
    """Answers each URL's POSTs from its script, in turn (the last answer repeats)."""

    clock: FakeClock
    scripts: dict[str, list[AttemptOutcome]] = field(default_factory=dict)
    posts: list[Post] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        self.posts.append(Post(url, body, headers, self.clock()))
        script = self.scripts.get(url) or [AttemptOutcome(200)]
        return script.pop(0) if len(script) > 1 else script[0]

    def to(self, url: str) -> list[Post]:
        return [p for p in self.posts if p.url == url]


def status(code: int, retry_after: str | None = None) -> AttemptOutcome:
    return AttemptOutcome(code, retry_after=retry_after)


@dataclass
class Simulation:
    """The deliverer against fakes on a fake clock: what the delivery queue and its Lambda
    trigger do, without waiting for real time to pass."""

    schedule: RetrySchedule
    clock: FakeClock = field(default_factory=FakeClock)
    store: MemoryEndpointStore = field(default_factory=MemoryEndpointStore)
    dead_letters: RecordingDeadLetters = field(default_factory=RecordingDeadLetters)
    uniform: Callable[[float, float], float] = lambda low, high: 1.0
    results: list[DeliveryResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queue = SimulatedQueue(self.clock)
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
