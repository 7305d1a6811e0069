"""Webhook delivery: one delivery → a signed POST, retried on the schedule, dead-lettered at
the end.

Each delivery is its own message on the delivery queue (webhooks_out/fanout.py), so a slow or
failing endpoint holds up nothing but its own deliveries: the queue's visibility carries its
retries, and a batch's deliveries are attempted concurrently.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from activity_relay.core.webhooks_out.attempts import (
    Action,
    AttemptOutcome,
    AttemptRecord,
    RetrySchedule,
    decide,
)
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.ports import (
    Delivery,
    DeliveryQueue,
    EndpointStore,
    WebhookDeadLetters,
    WebhookSender,
)
from activity_relay.core.webhooks_out.signing import delivery_headers

logger = logging.getLogger(__name__)

ATTEMPT_BUDGET_MS = 20_000
"""An attempt is started only with this much of the invocation left (a POST may take 15 s)."""


class Fate(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD_LETTERED = "dead_lettered"
    DROPPED = "dropped"
    """The endpoint was removed: nobody to deliver to, nothing to keep."""
    RETURNED = "returned"
    """Not attempted or not settled (out of time, a store or queue call failed): SQS brings
    it back after its visibility timeout."""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    delivery: Delivery
    fate: Fate
    outcome: AttemptOutcome | None = None
    disabled_reason: str | None = None
    failure_streak: int = 0

    @property
    def acknowledged(self) -> bool:
        return self.fate not in (Fate.RETRY, Fate.RETURNED)


class WebhookDeliverer:
    def __init__(
        self,
        *,
        endpoints: EndpointStore,
        sender: WebhookSender,
        queue: DeliveryQueue,
        dead_letters: WebhookDeadLetters,
        schedule: RetrySchedule,
        clock: Callable[[], datetime],
        uniform: Callable[[float, float], float],
        concurrency: int = 10,
    ) -> None:
        self._endpoints = endpoints
        self._sender = sender
        self._queue = queue
        self._dead_letters = dead_letters
        self._schedule = schedule
        self._clock = clock
        self._uniform = uniform
        self._concurrency = concurrency

    def deliver(
        self, deliveries: Sequence[Delivery], remaining_ms: Callable[[], int]
    ) -> list[DeliveryResult]:
        """Attempt every delivery at once (up to `concurrency` in flight), each settled alone."""
        known = {d.endpoint_id: self._endpoints.get(d.endpoint_id) for d in deliveries}

        def one(delivery: Delivery) -> DeliveryResult:
            if remaining_ms() < ATTEMPT_BUDGET_MS:
                return DeliveryResult(delivery, Fate.RETURNED)
            try:
                return self._attempt(delivery, known[delivery.endpoint_id])
            except Exception:
                logger.exception("delivery to %s not settled; it comes back", delivery.endpoint_id)
                return DeliveryResult(delivery, Fate.RETURNED)

        if len(deliveries) <= 1:
            return [one(d) for d in deliveries]
        with ThreadPoolExecutor(min(self._concurrency, len(deliveries))) as pool:
            return list(pool.map(one, deliveries))

    def _attempt(self, delivery: Delivery, endpoint: Endpoint | None) -> DeliveryResult:
        if endpoint is None:
            logger.warning("endpoint %s no longer exists: delivery dropped", delivery.endpoint_id)
            return DeliveryResult(delivery, Fate.DROPPED)
        event_id = _event_id(delivery.body)
        if event_id is None:
            self._dead_letters.dead_letter(
                delivery, event_id="", last_status="", reason="not an event document"
            )
            return DeliveryResult(delivery, Fate.DEAD_LETTERED)
        if not endpoint.enabled:
            self._dead_letters.dead_letter(
                delivery,
                event_id=event_id,
                last_status="",
                reason=f"endpoint disabled: {endpoint.disabled_reason or 'by hand'}",
            )
            return DeliveryResult(delivery, Fate.DEAD_LETTERED)

        headers = delivery_headers(endpoint.secrets, event_id, self._clock(), delivery.body)
        outcome = self._sender.post(endpoint.url, delivery.body.encode(), headers)
        now = self._clock()
        streak, failing_since = 0, None
        if outcome.delivered:
            self._endpoints.record_success(endpoint.endpoint_id, now)
        else:
            updated = self._endpoints.record_failure(endpoint.endpoint_id, now)
            if updated is not None:
                streak, failing_since = updated.failure_streak, updated.first_failure_at
        verdict = decide(
            outcome,
            attempt=delivery.attempt,
            schedule=self._schedule,
            failing_since=failing_since,
            now=now,
            uniform=self._uniform,
        )
        self._endpoints.record_attempt(
            AttemptRecord(
                endpoint_id=endpoint.endpoint_id,
                event_id=event_id,
                attempt=delivery.attempt,
                at=now,
                status=outcome.status,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                action=verdict.action.value,
            )
        )
        logger.info(
            "webhook attempt %d of %s to %s: %s → %s",
            delivery.attempt,
            event_id,
            endpoint.endpoint_id,
            outcome.describe(),
            verdict.action.value,
            extra={"status_code": outcome.status, "delay_seconds": verdict.delay_seconds},
        )
        if verdict.action is Action.DELIVERED:
            return DeliveryResult(delivery, Fate.DELIVERED, outcome)
        if verdict.action is Action.RETRY:
            self._queue.postpone(delivery, verdict.delay_seconds)
            return DeliveryResult(delivery, Fate.RETRY, outcome, failure_streak=streak)
        self._dead_letters.dead_letter(
            delivery, event_id=event_id, last_status=outcome.describe(), reason=verdict.reason
        )
        if verdict.disable_reason is not None:
            self._endpoints.disable(endpoint.endpoint_id, verdict.disable_reason, now)
            logger.warning("endpoint %s disabled: %s", endpoint.endpoint_id, verdict.disable_reason)
        return DeliveryResult(
            delivery, Fate.DEAD_LETTERED, outcome, verdict.disable_reason, failure_streak=streak
        )


def _event_id(body: str) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    event_id = document.get("event_id") if isinstance(document, dict) else None
    return event_id if isinstance(event_id, str) and event_id else None
