"""What webhook delivery keeps, in memory: the attempt ledger (attempt counts, records, parked
deliveries), the event store for replays, and a secret sealer bound to the endpoint id. Their
references are DynamoDbDeliveryLedger, DynamoDbEventStore and KmsSecretSealer (tests/contract)."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from activity_relay.core.webhooks_out.attempts import AttemptRecord
from activity_relay.core.webhooks_out.ports import Delivery, ParkedDelivery, StoredEvent
from activity_relay.core.webhooks_out.trace import Publication, publication_of


@dataclass
class MemoryDeliveryLedger:
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    records: list[AttemptRecord] = field(default_factory=list)
    parked_by_key: dict[tuple[str, str], ParkedDelivery] = field(default_factory=dict)
    down: bool = False
    """Every call raises, as a table out of reach would."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count_attempt(self, delivery: Delivery, event_id: str, at: datetime) -> int:
        self._check()
        key = (delivery.endpoint_id, event_id, delivery.message_id)
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def record_attempt(self, record: AttemptRecord) -> None:
        self._check()
        with self._lock:
            self.records.append(record)

    def attempts(self, endpoint_id: str, limit: int = 20) -> list[AttemptRecord]:
        mine = [r for r in self.records if r.endpoint_id == endpoint_id]
        return sorted(mine, key=lambda r: r.at, reverse=True)[:limit]

    def history(self, event_id: str) -> tuple[list[AttemptRecord], list[ParkedDelivery]]:
        with self._lock:
            attempts = [r for r in self.records if r.event_id == event_id]
            parked = [p for (_, e), p in self.parked_by_key.items() if e == event_id]
        return attempts, [replace(p, body="") for p in parked]

    def park(self, delivery: Delivery, event_id: str, at: datetime) -> None:
        self._check()
        with self._lock:
            self.parked_by_key[(delivery.endpoint_id, event_id)] = ParkedDelivery(
                delivery.endpoint_id, event_id, delivery.body, at
            )

    def claim_parked(
        self, endpoint_id: str, event_id: str, *, now: datetime
    ) -> ParkedDelivery | None:
        self._check()
        with self._lock:
            if self._unheld(endpoint_id, event_id, now) is None:
                return None
            return self.parked_by_key.pop((endpoint_id, event_id))

    def hold_parked(
        self, endpoint_id: str, event_id: str, *, until: datetime, now: datetime
    ) -> ParkedDelivery | None:
        self._check()
        with self._lock:
            parked = self._unheld(endpoint_id, event_id, now)
            if parked is None:
                return None
            held = replace(parked, held_until=until)
            self.parked_by_key[(endpoint_id, event_id)] = held
            return held

    def release_parked(self, endpoint_id: str, event_id: str) -> None:
        self._check()
        with self._lock:
            self.parked_by_key.pop((endpoint_id, event_id), None)

    def parked(self, endpoint_id: str) -> Iterator[ParkedDelivery]:
        self._check()
        with self._lock:
            found = [p for (ep, _), p in self.parked_by_key.items() if ep == endpoint_id]
        yield from found

    def forget(self, endpoint_id: str) -> None:
        with self._lock:
            self.counts = {k: v for k, v in self.counts.items() if k[0] != endpoint_id}
            self.records = [r for r in self.records if r.endpoint_id != endpoint_id]
            self.parked_by_key = {
                k: v for k, v in self.parked_by_key.items() if k[0] != endpoint_id
            }

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("the attempt table is out of reach")

    def _unheld(self, endpoint_id: str, event_id: str, now: datetime) -> ParkedDelivery | None:
        """The parked delivery, unless there is none or someone holds it; under the lock."""
        parked = self.parked_by_key.get((endpoint_id, event_id))
        if parked is None or (parked.held_until is not None and parked.held_until > now):
            return None
        return parked


@dataclass
class MemoryEventStore:
    events: dict[tuple[datetime, str, str], StoredEvent] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)
    """Event ids it fails to store."""

    def keep(self, events: Sequence[StoredEvent]) -> list[StoredEvent]:
        failed = []
        for event in events:
            if event.event_id in self.refuse:
                failed.append(event)
                continue
            self.events[(event.published_at, event.event_id, event.message_id)] = event
        return failed

    def between(self, since: datetime, until: datetime) -> Iterator[StoredEvent]:
        for key in sorted(self.events):
            if since <= key[0] < until:
                yield self.events[key]

    def publications(self, event_id: str) -> list[Publication]:
        return [publication_of(self.events[k]) for k in sorted(self.events) if k[1] == event_id]

    def publications_of_contact(
        self, contact_id: str, since: datetime, until: datetime
    ) -> Iterator[Publication]:
        for event in self.between(since, until):
            publication = publication_of(event)
            if publication.contact_id == contact_id:
                yield publication


@dataclass
class FakeSealer:
    """A reversible seal that, like KMS with an encryption context, opens only for the
    endpoint it was sealed for; `unseals` counts the calls that reached the 'key'."""

    key: bytes = b"fake-key"
    unseals: int = 0
    down: bool = False

    def seal(self, endpoint_id: str, secret: str) -> bytes:
        tag = hmac.new(self.key, endpoint_id.encode() + secret.encode(), hashlib.sha256).digest()
        return tag + secret.encode()[::-1]

    def unseal(self, endpoint_id: str, sealed: bytes) -> str:
        self.unseals += 1
        if self.down:
            raise ConnectionError("KMS is out of reach")
        tag, body = sealed[:32], sealed[32:]
        secret = body[::-1]
        expected = hmac.new(self.key, endpoint_id.encode() + secret, hashlib.sha256).digest()
        if not hmac.compare_digest(tag, expected):
            raise PermissionError("InvalidCiphertextException: the context does not match")
        return secret.decode()
