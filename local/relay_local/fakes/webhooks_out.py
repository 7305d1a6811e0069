"""Webhook delivery's ports in memory: the endpoint table, the delivery queue, its dead letters
and a scripted HTTP sender. The attempt ledger, the event store and the secret sealer are in
webhook_records.py."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from activity_relay.adapters.sqs.batch import SqsEntry, refusal_of
from activity_relay.core.webhooks_out.attempts import AttemptOutcome
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.ports import ENDPOINT_ATTRIBUTE, Delivery
from activity_relay.core.webhooks_out.signing import StoredSecret


@dataclass
class MemoryEndpointStore:
    """EndpointStore in memory (DynamoDbEndpointStore is the reference: tests/contract)."""

    endpoints_by_id: dict[str, Endpoint] = field(default_factory=dict)
    reads: int = 0
    """Calls of endpoints(): what the fan-out's cache saves."""

    def add(self, endpoint: Endpoint) -> Endpoint:
        self.endpoints_by_id[endpoint.endpoint_id] = endpoint
        return endpoint

    def endpoints(self) -> list[Endpoint]:
        self.reads += 1
        return [e for e in self.endpoints_by_id.values() if not e.removed]

    def get(self, endpoint_id: str) -> Endpoint | None:
        return self.endpoints_by_id.get(endpoint_id)

    def record_success(self, endpoint_id: str, at: datetime) -> None:
        self._change(endpoint_id, first_failure_at=None, failure_streak=0)

    def record_failure(self, endpoint_id: str, at: datetime, count: int = 1) -> Endpoint | None:
        endpoint = self._live(endpoint_id)
        if endpoint is None:
            return None
        return self._change(
            endpoint_id,
            first_failure_at=endpoint.first_failure_at or at,
            failure_streak=endpoint.failure_streak + count,
        )

    def disable(self, endpoint_id: str, reason: str, at: datetime) -> None:
        self._change(endpoint_id, enabled=False, disabled_reason=reason, disabled_at=at)

    # What the CLI does to the table, for tests that play its part.

    def enable(self, endpoint_id: str) -> bool:
        changed = self._change(
            endpoint_id,
            enabled=True,
            disabled_reason=None,
            disabled_at=None,
            first_failure_at=None,
            failure_streak=0,
        )
        return changed is not None

    def remove(self, endpoint_id: str, at: datetime) -> bool:
        endpoint = self._live(endpoint_id)
        if endpoint is None:
            return False
        self.endpoints_by_id[endpoint_id] = replace(
            endpoint, url="", secrets=(), enabled=False, removed=True
        )
        return True

    def replace_secrets(self, endpoint_id: str, secrets: tuple[StoredSecret, ...]) -> bool:
        return self._change(endpoint_id, secrets=secrets) is not None

    def _live(self, endpoint_id: str) -> Endpoint | None:
        endpoint = self.endpoints_by_id.get(endpoint_id)
        return None if endpoint is None or endpoint.removed else endpoint

    def _change(self, endpoint_id: str, **fields: object) -> Endpoint | None:
        endpoint = self._live(endpoint_id)
        if endpoint is None:
            return None
        changed = replace(endpoint, **fields)  # type: ignore[arg-type]
        self.endpoints_by_id[endpoint_id] = changed
        return changed


@dataclass
class _QueuedDelivery:
    delivery: Delivery
    visible_at: datetime
    receives: int = 0


@dataclass
class MemoryDeliveryQueue:
    """DeliveryQueue with the SQS semantics delivery relies on, on an injected clock: a
    received message is hidden for the visibility timeout unless postponed, and counts its
    receives; past `max_receives` a receive moves it to `redriven` (the redrive policy).
    `refuse` makes enqueue fail the deliveries it picks, with its reason."""

    clock: Callable[[], datetime]
    visibility_seconds: int = 360
    max_receives: int | None = None
    refuse: Callable[[Delivery], str | None] = lambda _: None
    messages: dict[str, _QueuedDelivery] = field(default_factory=dict)
    redriven: list[Delivery] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def enqueue(self, deliveries: Sequence[Delivery]) -> list[tuple[Delivery, str]]:
        failed = []
        with self._lock:
            for delivery in deliveries:
                why = self.refuse(delivery) or _too_large(delivery)
                if why is not None:
                    failed.append((delivery, why))
                    continue
                message_id = f"delivery-{next(self._ids)}"
                self.messages[message_id] = _QueuedDelivery(
                    replace(delivery, message_id=message_id, receipt="", receives=1),
                    self.clock(),
                )
        return failed

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        if not 0 <= seconds <= 43_200:
            raise ValueError(f"SQS refuses a visibility timeout of {seconds} s")
        with self._lock:
            self.messages[delivery.message_id].visible_at = self.clock() + timedelta(
                seconds=seconds
            )

    def receive(self, limit: int = 10) -> list[Delivery]:
        now = self.clock()
        received: list[Delivery] = []
        with self._lock:
            for message_id, message in list(self.messages.items()):
                if len(received) == limit:
                    break
                if message.visible_at > now:
                    continue
                if self.max_receives is not None and message.receives >= self.max_receives:
                    self.redriven.append(message.delivery)
                    del self.messages[message_id]
                    continue
                message.receives += 1
                message.visible_at = now + timedelta(seconds=self.visibility_seconds)
                received.append(
                    replace(
                        message.delivery,
                        receipt=f"receipt-{message.receives}",
                        receives=message.receives,
                    )
                )
        return received

    def acknowledge(self, message_id: str) -> None:
        with self._lock:
            del self.messages[message_id]

    def next_visible_at(self) -> datetime | None:
        with self._lock:
            return min((m.visible_at for m in self.messages.values()), default=None)


def _too_large(delivery: Delivery) -> str | None:
    """SQS's refusal of a message over the relay's limit, as SqsBatchSender reports it."""
    return refusal_of(
        SqsEntry(delivery.body, attributes={ENDPOINT_ATTRIBUTE: delivery.endpoint_id}).size
    )


@dataclass
class RecordedWebhookDeadLetters:
    """WebhookDeadLetters kept in a list, as the SQS adapter's message attributes name them.
    `down` makes it raise, as SQS out of reach would."""

    letters: list[dict[str, str]] = field(default_factory=list)
    down: bool = False

    def dead_letter(
        self, delivery: Delivery, *, event_id: str, last_status: str, reason: str, attempts: int
    ) -> None:
        if self.down:
            raise ConnectionError("the dead-letter queue is out of reach")
        self.letters.append(
            {
                "endpoint_id": delivery.endpoint_id,
                "event_id": event_id,
                "body": delivery.body,
                "last_status": last_status,
                "reason": reason,
                "attempts": str(attempts),
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
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        with self._lock:
            self.posts.append(Post(url, body, headers, self.clock()))
            script = self.scripts.get(url) or [AttemptOutcome(200)]
            return script.pop(0) if len(script) > 1 else script[0]

    def to(self, url: str) -> list[Post]:
        return [p for p in self.posts if p.url == url]
