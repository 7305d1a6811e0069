"""Webhook delivery's ports in memory: the endpoint table, the delivery queue, its dead letters
and a scripted HTTP sender."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from activity_relay.core.webhooks_out.attempts import AttemptOutcome, AttemptRecord
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.ports import Delivery


@dataclass
class MemoryEndpointStore:
    """EndpointStore in memory (DynamoDbEndpointStore is the reference: tests/contract)."""

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
        if endpoint_id in self.endpoints:
            self.endpoints[endpoint_id] = replace(
                self.endpoints[endpoint_id], enabled=False, disabled_reason=reason
            )


@dataclass
class _QueuedDelivery:
    delivery: Delivery
    visible_at: datetime
    receives: int = 0


@dataclass
class MemoryDeliveryQueue:
    """DeliveryQueue with the SQS semantics delivery relies on, on an injected clock: a
    received message is hidden for the visibility timeout unless postponed; its receive count
    is the attempt number. `refuse` makes enqueue fail the deliveries it picks."""

    clock: Callable[[], datetime]
    visibility_seconds: int = 360
    refuse: Callable[[Delivery], bool] = lambda _: False
    messages: dict[str, _QueuedDelivery] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def enqueue(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        failed = []
        for delivery in deliveries:
            if self.refuse(delivery):
                failed.append(delivery)
                continue
            message_id = f"delivery-{next(self._ids)}"
            self.messages[message_id] = _QueuedDelivery(
                replace(delivery, message_id=message_id), self.clock()
            )
        return failed

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        if not 0 <= seconds <= 43_200:
            raise ValueError(f"SQS refuses a visibility timeout of {seconds} s")
        self.messages[delivery.message_id].visible_at = self.clock() + timedelta(seconds=seconds)

    def receive(self, limit: int = 10) -> list[Delivery]:
        now = self.clock()
        visible = [m for m in self.messages.values() if m.visible_at <= now][:limit]
        for message in visible:
            message.receives += 1
            message.visible_at = now + timedelta(seconds=self.visibility_seconds)
        return [
            replace(m.delivery, receipt=f"receipt-{m.receives}", attempt=m.receives)
            for m in visible
        ]

    def acknowledge(self, message_id: str) -> None:
        del self.messages[message_id]

    def next_visible_at(self) -> datetime | None:
        return min((m.visible_at for m in self.messages.values()), default=None)


@dataclass
class RecordedWebhookDeadLetters:
    """WebhookDeadLetters kept in a list, as the SQS adapter's message attributes name them."""

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


@dataclass
class ScriptedSender:
    """WebhookSender that answers each URL from its script, in turn (the last answer repeats;
    200 for a URL without one), and remembers every POST with the clock's time."""

    clock: Callable[[], datetime]
    scripts: dict[str, list[AttemptOutcome]] = field(default_factory=dict)
    posts: list[Post] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        self.posts.append(Post(url, body, headers, self.clock()))
        script = self.scripts.get(url) or [AttemptOutcome(200)]
        return script.pop(0) if len(script) > 1 else script[0]

    def to(self, url: str) -> list[Post]:
        return [p for p in self.posts if p.url == url]
