"""Webhook delivery: one delivery → a signed POST, retried on the schedule, dead-lettered at
the end.

Each delivery is its own message on the delivery queue (webhooks_out/fanout.py), so a slow or
failing endpoint holds up nothing but its own deliveries: the queue's visibility carries its
retries, and a batch's deliveries are attempted concurrently.

Attempts are counted honestly: the ledger counts a POST just before it is sent, so the attempt
number is the POSTs this delivery has sent, never SQS's receive count (a receive that sent
nothing — the invocation out of time, a throttle, a failed table read — costs no attempt).
Each delivery is settled alone: one that names no endpoint or an unknown one, or carries no
event, is dead-lettered with its reason while the rest of the batch goes out. SQS's own limit
(the queue's maxReceiveCount) is kept too: a delivery on its last receive that would come back
is dead-lettered here, with its endpoint and reason, instead of being moved blind by SQS.

An endpoint that is disabled gets nothing: its deliveries are parked in the ledger, and
`relay webhooks enable` sends them (they are claimed exactly once, by the CLI or, if the
endpoint was enabled meanwhile, by the deliverer itself).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from activity_relay.core.webhooks_out.attempts import (
    Action,
    AttemptOutcome,
    AttemptRecord,
    RetrySchedule,
    Verdict,
    decide,
)
from activity_relay.core.webhooks_out.endpoints import Endpoint, is_endpoint_id
from activity_relay.core.webhooks_out.fanout import event_id_of
from activity_relay.core.webhooks_out.ports import (
    Delivery,
    DeliveryLedger,
    DeliveryQueue,
    EndpointStore,
    WebhookDeadLetters,
    WebhookSender,
)
from activity_relay.core.webhooks_out.sealing import SecretKeeper
from activity_relay.core.webhooks_out.signing import delivery_headers

logger = logging.getLogger(__name__)

ATTEMPT_BUDGET_MS = 20_000
"""An attempt is started only with this much of the invocation left: the POST's own deadline
(15 s, as a whole) and the calls around it."""


class Fate(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD_LETTERED = "dead_lettered"
    DROPPED = "dropped"
    """The endpoint was removed: nobody to deliver to, nothing to keep (counted)."""
    PARKED = "parked"
    """The endpoint is disabled: kept until it is enabled."""
    RETURNED = "returned"
    """Not attempted or not settled (out of time, a store or queue call failed): SQS brings
    it back after its visibility timeout. Costs a receive, not an attempt."""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    delivery: Delivery
    fate: Fate
    outcome: AttemptOutcome | None = None
    disabled_reason: str | None = None
    failure_streak: int = 0
    attempt: int = 0
    """The POSTs this delivery has sent, this one included (0: none this time)."""

    @property
    def acknowledged(self) -> bool:
        return self.fate not in (Fate.RETRY, Fate.RETURNED)


class _Returned(Exception):
    """This delivery goes back to the queue unsettled."""


class WebhookDeliverer:
    def __init__(
        self,
        *,
        endpoints: EndpointStore,
        ledger: DeliveryLedger,
        secrets: SecretKeeper,
        sender: WebhookSender,
        queue: DeliveryQueue,
        dead_letters: WebhookDeadLetters,
        schedule: RetrySchedule,
        clock: Callable[[], datetime],
        uniform: Callable[[float, float], float],
        concurrency: int = 10,
        max_receives: int | None = None,
    ) -> None:
        """`max_receives` is the delivery queue's maxReceiveCount (None: no limit)."""
        self._endpoints = endpoints
        self._ledger = ledger
        self._secrets = secrets
        self._sender = sender
        self._queue = queue
        self._dead_letters = dead_letters
        self._schedule = schedule
        self._clock = clock
        self._uniform = uniform
        self._concurrency = concurrency
        self._max_receives = max_receives

    def deliver(
        self, deliveries: Sequence[Delivery], remaining_ms: Callable[[], int]
    ) -> list[DeliveryResult]:
        """Attempt every delivery at once (up to `concurrency` in flight), each settled alone;
        then each endpoint's health is written once."""
        known = self._read_endpoints(deliveries)

        def one(delivery: Delivery) -> DeliveryResult:
            try:
                return self._one(delivery, known, remaining_ms)
            except _Returned:
                return self._returned(delivery)
            except Exception:
                logger.exception("delivery to %s not settled; it comes back", delivery.endpoint_id)
                return self._returned(delivery)

        if len(deliveries) <= 1:
            results = [one(d) for d in deliveries]
        else:
            with ThreadPoolExecutor(min(self._concurrency, len(deliveries))) as pool:
                results = list(pool.map(one, deliveries))
        return self._settle_health(results, known)

    # --- one delivery --------------------------------------------------------------------------

    def _one(
        self,
        delivery: Delivery,
        known: dict[str, Endpoint | Exception | None],
        remaining_ms: Callable[[], int],
    ) -> DeliveryResult:
        event_id = event_id_of(delivery.body)
        if not delivery.endpoint_id:
            return self._dead(delivery, event_id or "", "", "the delivery names no endpoint", 0)
        if not is_endpoint_id(delivery.endpoint_id):
            reason = f"not an endpoint id: {delivery.endpoint_id[:100]!r}"
            return self._dead(delivery, event_id or "", "", reason, 0)
        if event_id is None:
            return self._dead(delivery, "", "", "not an event document (no event_id)", 0)
        endpoint = known.get(delivery.endpoint_id)
        if isinstance(endpoint, Exception):
            raise _Returned from endpoint
        if endpoint is None:
            reason = f"unknown endpoint {delivery.endpoint_id}"
            return self._dead(delivery, event_id, "", reason, 0)
        if endpoint.removed:
            logger.warning("endpoint %s was removed: delivery dropped", delivery.endpoint_id)
            return DeliveryResult(delivery, Fate.DROPPED)
        if not endpoint.enabled and not self._park(delivery, endpoint, event_id):
            return DeliveryResult(delivery, Fate.PARKED)
        if remaining_ms() < ATTEMPT_BUDGET_MS:
            raise _Returned
        return self._attempt(delivery, endpoint, event_id)

    def _park(self, delivery: Delivery, endpoint: Endpoint, event_id: str) -> bool:
        """Park the delivery of a disabled endpoint; True if the endpoint was enabled meanwhile
        and this deliverer took the delivery back (then it is sent now)."""
        self._ledger.park(delivery, event_id, self._clock())
        now = self._endpoints.get(endpoint.endpoint_id)
        if now is None or not now.enabled or now.removed:
            logger.info(
                "endpoint %s is disabled: delivery of %s parked until it is enabled",
                endpoint.endpoint_id,
                event_id,
            )
            return False
        # Enabled since it was read: whoever claims the parked delivery sends it, once (an
        # enable holding it sends it).
        taken = self._ledger.claim_parked(endpoint.endpoint_id, event_id, now=self._clock())
        return taken is not None

    def _attempt(self, delivery: Delivery, endpoint: Endpoint, event_id: str) -> DeliveryResult:
        # Whatever fails before the POST (the key, the ledger) returns it uncounted.
        headers = delivery_headers(
            self._secrets.signing_secrets(endpoint), event_id, self._clock(), delivery.body
        )
        attempt = self._ledger.count_attempt(delivery, event_id, self._clock())
        outcome = self._sender.post(endpoint.url, delivery.body.encode(), headers)
        now = self._clock()
        failing_since = None if outcome.delivered else (endpoint.first_failure_at or now)
        verdict = decide(
            outcome,
            attempt=attempt,
            schedule=self._schedule,
            failing_since=failing_since,
            now=now,
            uniform=self._uniform,
        )
        if verdict.action is Action.RETRY and self._last_receive(delivery):
            verdict = Verdict(
                Action.DEAD_LETTER,
                reason=f"{verdict.reason}; the queue's receive limit ({self._max_receives}) "
                "is reached",
            )
        self._record(delivery, endpoint, event_id, attempt, outcome, verdict, now)
        if verdict.action is Action.DELIVERED:
            return DeliveryResult(delivery, Fate.DELIVERED, outcome, attempt=attempt)
        if verdict.action is Action.RETRY:
            try:
                self._queue.postpone(delivery, verdict.delay_seconds)
            except Exception:
                logger.exception("retry of %s not scheduled; it comes back", event_id)
                return DeliveryResult(delivery, Fate.RETURNED, outcome, attempt=attempt)
            return DeliveryResult(delivery, Fate.RETRY, outcome, attempt=attempt)
        dead = self._dead(delivery, event_id, outcome.describe(), verdict.reason, attempt)
        return DeliveryResult(delivery, dead.fate, outcome, verdict.disable_reason, attempt=attempt)

    def _record(
        self,
        delivery: Delivery,
        endpoint: Endpoint,
        event_id: str,
        attempt: int,
        outcome: AttemptOutcome,
        verdict: Verdict,
        now: datetime,
    ) -> None:
        logger.info(
            "webhook attempt %d of %s to %s: %s → %s",
            attempt,
            event_id,
            endpoint.endpoint_id,
            outcome.describe(),
            verdict.action.value,
            extra={"status_code": outcome.status, "delay_seconds": verdict.delay_seconds},
        )
        record = AttemptRecord(
            endpoint_id=endpoint.endpoint_id,
            event_id=event_id,
            attempt=attempt,
            at=now,
            status=outcome.status,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            action=verdict.action.value,
            retry_at=now + timedelta(seconds=verdict.delay_seconds)
            if verdict.action is Action.RETRY
            else None,
        )
        try:
            self._ledger.record_attempt(record)
        except Exception:
            # What was sent is sent: a lost record must not send a delivered event again.
            logger.exception("attempt %d of %s not recorded", attempt, event_id)

    def _dead(
        self, delivery: Delivery, event_id: str, last_status: str, reason: str, attempts: int
    ) -> DeliveryResult:
        try:
            self._dead_letters.dead_letter(
                delivery,
                event_id=event_id,
                last_status=last_status,
                reason=reason,
                attempts=attempts,
            )
        except Exception:
            logger.exception("delivery of %s not dead-lettered; it comes back", event_id)
            return DeliveryResult(delivery, Fate.RETURNED, attempt=attempts)
        logger.warning(
            "delivery of %s to %s dead-lettered: %s",
            event_id or "(unreadable)",
            delivery.endpoint_id or "(no endpoint)",
            reason,
        )
        return DeliveryResult(delivery, Fate.DEAD_LETTERED, attempt=attempts)

    def _returned(self, delivery: Delivery) -> DeliveryResult:
        """Back to the queue, unless this was its last receive: then dead-lettered here, so
        that SQS does not move it blind."""
        if not self._last_receive(delivery):
            return DeliveryResult(delivery, Fate.RETURNED)
        reason = f"the queue's receive limit ({self._max_receives}) is reached before it was sent"
        return self._dead(delivery, event_id_of(delivery.body) or "", "", reason, 0)

    def _last_receive(self, delivery: Delivery) -> bool:
        return self._max_receives is not None and delivery.receives >= self._max_receives

    # --- the batch's endpoints -----------------------------------------------------------------

    def _read_endpoints(
        self, deliveries: Sequence[Delivery]
    ) -> dict[str, Endpoint | Exception | None]:
        """Each endpoint the batch names, read once; a failed read returns only its deliveries."""
        known: dict[str, Endpoint | Exception | None] = {}
        for endpoint_id in {d.endpoint_id for d in deliveries if is_endpoint_id(d.endpoint_id)}:
            try:
                known[endpoint_id] = self._endpoints.get(endpoint_id)
            except Exception as error:
                logger.exception("endpoint %s not read; its deliveries come back", endpoint_id)
                known[endpoint_id] = error
        return known

    def _settle_health(
        self, results: list[DeliveryResult], known: dict[str, Endpoint | Exception | None]
    ) -> list[DeliveryResult]:
        """At most one health write per endpoint: a success clears its failure streak (no write
        when it had none), else its failures are counted; an outcome that disables it (410, 5
        days failing) disables it. The results come back with the endpoint's failure streak as
        it now is."""
        by_endpoint: dict[str, list[int]] = defaultdict(list)
        for index, result in enumerate(results):
            if result.outcome is not None:
                by_endpoint[result.delivery.endpoint_id].append(index)
        now = self._clock()
        settled = list(results)
        for endpoint_id, indices in by_endpoint.items():
            attempted = [results[i] for i in indices]
            streak = 0
            endpoint = known.get(endpoint_id)
            try:
                if any(r.outcome is not None and r.outcome.delivered for r in attempted):
                    if not _healthy(endpoint):
                        self._endpoints.record_success(endpoint_id, now)
                else:
                    updated = self._endpoints.record_failure(endpoint_id, now, len(attempted))
                    streak = updated.failure_streak if updated is not None else 0
                disable = next((r.disabled_reason for r in attempted if r.disabled_reason), None)
                if disable is not None and isinstance(endpoint, Endpoint) and endpoint.enabled:
                    self._endpoints.disable(endpoint_id, disable, now)
                    logger.warning("endpoint %s disabled: %s", endpoint_id, disable)
            except Exception:
                logger.exception("health of endpoint %s not recorded", endpoint_id)
            for i in indices:
                settled[i] = replace(results[i], failure_streak=streak)
        return settled


def _healthy(endpoint: Endpoint | Exception | None) -> bool:
    """Known to have no failure streak to clear (as read at the start of the batch)."""
    return (
        isinstance(endpoint, Endpoint)
        and endpoint.failure_streak == 0
        and endpoint.first_failure_at is None
    )
