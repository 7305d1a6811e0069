"""In-memory fakes of every port of activity_relay.core.ports, the only ones in the project.

For unit tests, simulations and benchmarks that run the real engine without AWS or LeadLex.
tests/contract/ runs the same cases against each fake and its real adapter, so a fake that
drifts from the adapter it stands for fails there: the real adapter is the reference.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from activity_relay.adapters.dynamodb.contacts import REQUEST_MARGIN
from activity_relay.adapters.leadlex import RequestRejected
from activity_relay.adapters.sqs.batch import EMPTY_BODY
from activity_relay.core.model import (
    Activity,
    ActivityEvent,
    ActivityPage,
    ContactNotFound,
    ContactState,
)
from activity_relay.core.model import parse_contact_id as _parse_contact_id
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.quota.sweep import MAX_DELAY_SECONDS
from activity_relay.core.sync.ports import Covered, Lease, LeaseHeld, PublishFailed, StateConflict
from activity_relay.core.webhooks_in.ports import ReceiverUnavailable
from activity_relay.core.webhooks_out.attempts import AttemptOutcome, AttemptRecord
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.ports import Delivery

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def at(seconds: int) -> str:
    """`seconds` after EPOCH as the API writes a created_date."""
    return (EPOCH + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


# --- StateStore and Deferrals (DynamoDbStateStore) -----------------------------------------------


@dataclass
class MemoryStateStore:
    """DynamoDbStateStore in dicts. `clock` plays the store's own now, which `postpone` reads
    as the real one does. The conditions of a sync (versions, leases) are decided under one
    lock, as DynamoDB decides a conditional write: threads may share the store."""

    states: dict[str, ContactState] = field(default_factory=dict)
    not_found: dict[str, datetime] = field(default_factory=dict)
    deferred: dict[str, datetime] = field(default_factory=dict)
    deferred_asked: dict[str, datetime] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    quota: QuotaSnapshot | None = None
    saves: int = 0
    clock: Callable[[], datetime] = _now
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def load(self, contact_id: str) -> ContactState | None:
        stored = self.states.get(contact_id)
        # A copy, as a read from a table is: what the caller changes stays with the caller.
        return None if stored is None else replace(stored, seen=stored.seen.copy())

    def begin(
        self, contact_id: str, lease: Lease, *, covered_after: datetime | None = None
    ) -> ContactState | None:
        with self._lock:
            stored = self.states.get(contact_id)
            started = stored.last_sync_started_at if stored else None
            if covered_after is not None and started is not None and started > covered_after:
                raise Covered(
                    f"contact {contact_id}: its last sync started at {started.isoformat()}",
                    last_sync_started_at=started,
                )
            held = self.leases.get(contact_id)
            if (
                held is not None
                and held.holder != lease.holder
                and held.expires_at >= lease.taken_at
            ):
                raise LeaseHeld(
                    f"contact {contact_id}: another sync holds it until "
                    f"{held.expires_at.isoformat()}",
                    lease=held,
                )
            self.leases[contact_id] = lease
            return None if stored is None else replace(stored, seen=stored.seen.copy())

    def save(self, state: ContactState, lease: Lease | None = None) -> ContactState:
        with self._lock:
            stored = self.states.get(state.contact_id)
            if (stored.version if stored else 0) != state.version:
                raise StateConflict(f"contact {state.contact_id} was saved by someone else")
            held = self.leases.get(state.contact_id)
            if lease is not None and held is not None and held.holder != lease.holder:
                raise StateConflict(f"contact {state.contact_id} is held by another sync")
            saved = replace(state, version=state.version + 1)
            self.states[state.contact_id] = replace(saved, seen=state.seen.copy())
            # The sync a deferral waited for has happened (unless the deferral was asked for
            # after it began), and the contact has been found.
            requested = self.deferred_asked.get(state.contact_id)
            started = state.last_sync_started_at
            if started is None or requested is None or requested < started - REQUEST_MARGIN:
                self._clear_deferral(state.contact_id)
            self.not_found.pop(state.contact_id, None)
            if lease is not None:
                self.leases.pop(state.contact_id, None)
            self.saves += 1
            return saved

    def release(self, contact_id: str, lease: Lease) -> None:
        with self._lock:
            self._release(contact_id, lease)

    def record_not_found(self, contact_id: str, at: datetime, lease: Lease | None = None) -> None:
        with self._lock:
            self.not_found[contact_id] = at
            self._clear_deferral(contact_id)
            if lease is not None:
                self._release(contact_id, lease)

    def _release(self, contact_id: str, lease: Lease) -> None:
        held = self.leases.get(contact_id)
        if held is not None and held.holder == lease.holder:
            del self.leases[contact_id]

    def forget(self, contact_id: str) -> None:
        self.leases.pop(contact_id, None)
        self.states.pop(contact_id, None)
        self.not_found.pop(contact_id, None)
        self._clear_deferral(contact_id)

    def _clear_deferral(self, contact_id: str) -> None:
        self.deferred.pop(contact_id, None)
        self.deferred_asked.pop(contact_id, None)

    def defer(self, contact_id: str, until: datetime) -> None:
        self.deferred[contact_id] = until
        self.deferred_asked[contact_id] = self.clock()

    def wait(self, contact_id: str, since: datetime) -> None:
        waiting = self.deferred.get(contact_id)
        self.deferred[contact_id] = since if waiting is None else min(waiting, since)
        self.deferred_asked[contact_id] = self.clock()

    def due(self, now: datetime, limit: int) -> list[str]:
        if limit <= 0:
            return []
        waiting = sorted((until, c) for c, until in self.deferred.items() if until <= now)
        return [contact_id for _, contact_id in waiting[:limit]]

    def postpone(self, contact_ids: Sequence[str], until: datetime) -> None:
        # Only a deferral that has come due moves: one renewed since (a later reset) stays.
        now = self.clock()
        for contact_id in contact_ids:
            current = self.deferred.get(contact_id)
            if current is not None and current <= now:
                self.deferred[contact_id] = until

    def stale(self, synced_before: datetime, limit: int) -> list[str]:
        if limit <= 0:
            return []
        stale = [
            c
            for c, state in self.states.items()
            if c not in self.not_found
            and c not in self.deferred
            and (state.last_sync_started_at is None or state.last_sync_started_at < synced_before)
        ]
        return sorted(stale)[:limit]

    def record_quota(self, snapshot: QuotaSnapshot) -> None:
        if self.quota is None or _newer_quota(snapshot, self.quota):
            self.quota = snapshot

    def load_quota(self) -> QuotaSnapshot | None:
        return self.quota


def _newer_quota(new: QuotaSnapshot, stored: QuotaSnapshot) -> bool:
    """A newer window always wins; within a window the later observation, and on a tie the
    lower remaining count (DynamoDbStateStore's condition)."""
    if new.resets_at != stored.resets_at:
        return new.resets_at > stored.resets_at
    if new.observed_at != stored.observed_at:
        return new.observed_at > stored.observed_at
    return new.remaining < stored.remaining


# --- ContactQueue (SqsContactQueue) --------------------------------------------------------------


@dataclass
class MemoryContactQueue:
    """The contact queue: `sent` and `delays` hold each accepted message, in order, and the
    delay it waits (the queue's own `queue_delay` when the sender names none). Ids in
    `refuse` are refused as SQS refuses a message it blames on the sender."""

    queue_delay: int = 0
    refuse: set[str] = field(default_factory=set)
    sent: list[str] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)

    def enqueue(
        self, contact_ids: Sequence[str], *, delays: Sequence[int] | None = None
    ) -> list[str]:
        given: Sequence[int | None] = [None] * len(contact_ids) if delays is None else delays
        if len(given) != len(contact_ids):
            raise ValueError(f"{len(contact_ids)} contacts but {len(given)} delays")
        failed: list[str] = []
        for contact_id, delay in zip(contact_ids, given, strict=True):
            if contact_id in self.refuse or (
                delay is not None and not 0 <= delay <= MAX_DELAY_SECONDS
            ):
                failed.append(contact_id)
                continue
            self.sent.append(contact_id)
            self.delays.append(self.queue_delay if delay is None else delay)
        return failed

    def visible(self) -> list[str]:
        """What a receive would return now: the messages that wait no delay."""
        return [c for c, delay in zip(self.sent, self.delays, strict=True) if delay == 0]


# --- RejectedMessages (SqsDeadLetters) -----------------------------------------------------------


@dataclass
class RejectionLog:
    """Rejected messages as (message id, body, reason), the body as the dead-letter queue keeps
    it (SQS refuses an empty one)."""

    rejected: list[tuple[str, str, str]] = field(default_factory=list)

    def reject(self, *, message_id: str, body: str, reason: str) -> None:
        self.rejected.append((message_id, body or EMPTY_BODY, reason))


# --- Publisher (SnsPublisher, EventBridgePublisher) ----------------------------------------------


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


# --- ActivitySource (LeadLexClient) --------------------------------------------------------------


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
class QueuedContinuations:
    """Continuations kept in order instead of sent: (contact id, delay in seconds), the delay
    held to SQS's 0-900 as SqsContinuations holds it."""

    queued: list[tuple[str, int]] = field(default_factory=list)
    fail: bool = False

    def continue_later(self, contact_id: str, *, delay_seconds: int) -> None:
        if self.fail:
            raise RuntimeError("injected failure to queue a continuation")
        self.queued.append((contact_id, max(0, min(MAX_DELAY_SECONDS, delay_seconds))))


# --- Webhooks out (core/delivery.py's ports) -------------------------------------------------


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


# --- ContactSender (SqsContactSender, the webhook receiver's) -------------------------------------


@dataclass
class MemoryContactSender:
    """What the webhook receiver sent: (contact id, activity id), in order; after go_down()
    every send raises ReceiverUnavailable, as SQS failing would."""

    sent: list[tuple[str, str | None]] = field(default_factory=list)
    down: bool = False

    def send(self, contact_id: str, *, activity_id: str | None) -> None:
        if self.down:
            raise ReceiverUnavailable("the contact queue is down")
        self.sent.append((contact_id, activity_id))

    def go_down(self) -> None:
        self.down = True
