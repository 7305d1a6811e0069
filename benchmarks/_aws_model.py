"""AWS answered by a model of its latency instead of moto: the in-memory fakes of relay_local,
each call held for the time the service takes in-region, and every call timed.

The model (a constant per call; in-region, warm connections, small items):

| service call | modeled | from |
|---|---:|---|
| DynamoDB GetItem | 4 ms | "single-digit millisecond" reads (AWS); typical p50 3-5 ms |
| DynamoDB UpdateItem / PutItem / DeleteItem | 6 ms | writes, typical p50 5-8 ms |
| SQS ChangeMessageVisibility, SendMessage | 8 ms | typical p50 5-10 ms |
| KMS Decrypt | 8 ms | typical p50 5-10 ms (once per secret and container) |
| Lambda, between two batches of one instance | 10 ms | the poller's invoke (its receive and |
|   |   | delete run beside the instance) |

moto in-process answers in 5-30 ms of Python on this machine (much more on a loaded one), which
is what the older figure (19.5 deliveries/s) mostly measured.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from activity_relay.core.webhooks_out.attempts import AttemptOutcome, AttemptRecord
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.ports import Delivery, ParkedDelivery
from relay_local.fakes.webhook_records import FakeSealer, MemoryDeliveryLedger
from relay_local.fakes.webhooks_out import MemoryEndpointStore, RecordedWebhookDeadLetters

T = TypeVar("T")


@dataclass(frozen=True)
class LatencyModel:
    read_ms: float = 4.0
    write_ms: float = 6.0
    sqs_ms: float = 8.0
    kms_ms: float = 8.0
    invoke_ms: float = 10.0

    def describe(self) -> str:
        return (
            f"DynamoDB read {self.read_ms:g} ms, write {self.write_ms:g} ms; SQS {self.sqs_ms:g} "
            f"ms; KMS {self.kms_ms:g} ms; Lambda between batches {self.invoke_ms:g} ms"
        )


@dataclass
class CallLog:
    """Every modeled call: (kind, thread, start, end), for where the time goes."""

    calls: list[tuple[str, int, float, float]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, seconds: float, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        if seconds:
            time.sleep(seconds)
        try:
            return call()
        finally:
            with self._lock:
                self.calls.append((kind, threading.get_ident(), started, time.perf_counter()))

    def totals(self) -> dict[str, float]:
        """Seconds per kind of call, summed (concurrent calls overlap)."""
        summed: dict[str, float] = defaultdict(float)
        for kind, _, start, end in self.calls:
            summed[kind] += end - start
        return dict(summed)

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = defaultdict(int)
        for kind, *_ in self.calls:
            counted[kind] += 1
        return dict(counted)


class ModeledEndpoints:
    def __init__(self, store: MemoryEndpointStore, model: LatencyModel, log: CallLog) -> None:
        self._store, self._model, self._log = store, model, log

    def endpoints(self) -> list[Endpoint]:
        return self._log.timed("dynamodb.Scan", self._model.read_ms / 1000, self._store.endpoints)

    def get(self, endpoint_id: str) -> Endpoint | None:
        return self._log.timed(
            "dynamodb.GetItem", self._model.read_ms / 1000, lambda: self._store.get(endpoint_id)
        )

    def record_success(self, endpoint_id: str, at: datetime) -> None:
        self._log.timed(
            "dynamodb.UpdateItem (health)",
            self._model.write_ms / 1000,
            lambda: self._store.record_success(endpoint_id, at),
        )

    def record_failure(self, endpoint_id: str, at: datetime, count: int = 1) -> Endpoint | None:
        return self._log.timed(
            "dynamodb.UpdateItem (health)",
            self._model.write_ms / 1000,
            lambda: self._store.record_failure(endpoint_id, at, count),
        )

    def disable(self, endpoint_id: str, reason: str, at: datetime) -> None:
        self._log.timed(
            "dynamodb.UpdateItem (health)",
            self._model.write_ms / 1000,
            lambda: self._store.disable(endpoint_id, reason, at),
        )


class ModeledLedger:
    def __init__(self, ledger: MemoryDeliveryLedger, model: LatencyModel, log: CallLog) -> None:
        self._ledger, self._model, self._log = ledger, model, log

    def count_attempt(self, delivery: Delivery, event_id: str, at: datetime) -> int:
        return self._log.timed(
            "dynamodb.UpdateItem (count)",
            self._model.write_ms / 1000,
            lambda: self._ledger.count_attempt(delivery, event_id, at),
        )

    def record_attempt(self, record: AttemptRecord) -> None:
        self._log.timed(
            "dynamodb.PutItem (attempt)",
            self._model.write_ms / 1000,
            lambda: self._ledger.record_attempt(record),
        )

    def attempts(self, endpoint_id: str, limit: int = 20) -> list[AttemptRecord]:
        return self._ledger.attempts(endpoint_id, limit)

    def park(self, delivery: Delivery, event_id: str, at: datetime) -> None:
        self._log.timed(
            "dynamodb.PutItem (park)",
            self._model.write_ms / 1000,
            lambda: self._ledger.park(delivery, event_id, at),
        )

    def claim_parked(
        self, endpoint_id: str, event_id: str, *, now: datetime
    ) -> ParkedDelivery | None:
        return self._log.timed(
            "dynamodb.DeleteItem (claim)",
            self._model.write_ms / 1000,
            lambda: self._ledger.claim_parked(endpoint_id, event_id, now=now),
        )

    def hold_parked(
        self, endpoint_id: str, event_id: str, *, until: datetime, now: datetime
    ) -> ParkedDelivery | None:
        return self._log.timed(
            "dynamodb.UpdateItem (hold)",
            self._model.write_ms / 1000,
            lambda: self._ledger.hold_parked(endpoint_id, event_id, until=until, now=now),
        )

    def release_parked(self, endpoint_id: str, event_id: str) -> None:
        self._log.timed(
            "dynamodb.DeleteItem (release)",
            self._model.write_ms / 1000,
            lambda: self._ledger.release_parked(endpoint_id, event_id),
        )

    def parked(self, endpoint_id: str) -> Iterator[ParkedDelivery]:
        return self._ledger.parked(endpoint_id)

    def forget(self, endpoint_id: str) -> None:
        self._ledger.forget(endpoint_id)


class ModeledSealer:
    def __init__(self, sealer: FakeSealer, model: LatencyModel, log: CallLog) -> None:
        self._sealer, self._model, self._log = sealer, model, log

    def seal(self, endpoint_id: str, secret: str) -> bytes:
        return self._sealer.seal(endpoint_id, secret)

    def unseal(self, endpoint_id: str, sealed: bytes) -> str:
        return self._log.timed(
            "kms.Decrypt",
            self._model.kms_ms / 1000,
            lambda: self._sealer.unseal(endpoint_id, sealed),
        )


class ModeledQueue:
    def __init__(self, model: LatencyModel, log: CallLog) -> None:
        self._model, self._log = model, log

    def enqueue(self, deliveries: Any) -> list[tuple[Delivery, str]]:
        return []

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        self._log.timed("sqs.ChangeMessageVisibility", self._model.sqs_ms / 1000, lambda: None)


class ModeledDeadLetters:
    def __init__(self, model: LatencyModel, log: CallLog) -> None:
        self._model, self._log = model, log
        self.kept = RecordedWebhookDeadLetters()

    def dead_letter(
        self, delivery: Delivery, *, event_id: str, last_status: str, reason: str, attempts: int
    ) -> None:
        self._log.timed(
            "sqs.SendMessage (dead letter)",
            self._model.sqs_ms / 1000,
            lambda: self.kept.dead_letter(
                delivery,
                event_id=event_id,
                last_status=last_status,
                reason=reason,
                attempts=attempts,
            ),
        )


class TimedSender:
    """The real sender, each POST timed into the same log."""

    def __init__(self, sender: Any, log: CallLog) -> None:
        self._sender, self._log = sender, log

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        outcome: AttemptOutcome = self._log.timed(
            "https POST", 0, lambda: self._sender.post(url, body, headers)
        )
        return outcome
