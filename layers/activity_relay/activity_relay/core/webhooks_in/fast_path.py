"""The fast path: a verified webhook that carries its activity → that activity's event, now,
with no LeadLex request; accounted in the contact's state so that no poll publishes it again.

Each activity goes out once, whichever of the webhook and a sync gets there first:

* a poll that published it already: the fingerprint names it (the state's recent window);
* a sync publishing it right now: it said so (`publishing`) before publishing, and the claim's
  condition refuses an activity a sync announced;
* the same delivery twice (LeadLex's retry, a replay): the first claim stands; a second
  receiver finds it published, or being published (then it answers and leaves it to the first).

The claim is written before the event is published, conditional on the contact's state not
having changed since it was read (a sync that published and saved meanwhile shows as a new
version); the sync reads the claims in the same write that announces its slice
(core/sync/claims.py). A receiver that dies between claim and publication leaves a claim that a
LeadLex retry takes over once it is older than PENDING_FRESH, and a sync publishes itself: at
worst the activity goes out twice, with the same event_id.

What the state cannot name exactly, an activity dated below its recent window (backdated), is
left to a poll: the contact goes on the queue as before. The claim schedules the contact's
reconciliation (core/quota/sweep.py): a poll within the reconcile window, which costs one request
and publishes nothing when the webhooks carried everything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from activity_relay.core.model import (
    WEBHOOK,
    Activity,
    ActivityEvent,
    Fingerprint,
    WebhookClaim,
    id_hash,
)
from activity_relay.core.sync.ports import Publisher, PublishFailed
from activity_relay.core.webhooks_in.ports import ClaimRequest, ReceiverUnavailable, WebhookLedger

logger = logging.getLogger(__name__)

CLAIM_ATTEMPTS = 3
"""Reads and claims before leaving the activity to a poll: a sync checkpointing quickly moves
the contact's version under the claim."""


class FastPathOutcome(StrEnum):
    PUBLISHED = "published"
    ALREADY_PUBLISHED = "already_published"  # by a poll, a sync under way or an earlier webhook
    IN_FLIGHT = "in_flight"  # another receiver is publishing it right now
    LEFT_TO_A_POLL = "left_to_a_poll"  # the contact goes on the queue, as without the fast path


@dataclass(frozen=True, slots=True)
class FastPathResult:
    outcome: FastPathOutcome
    reason: str | None = None  # why a poll was left to find it


@dataclass(eq=False, slots=True)
class FastPath:
    ledger: WebhookLedger
    publisher: Publisher
    _: KW_ONLY
    clock: Callable[[], datetime]
    reconcile_window: timedelta

    def publish(self, contact_id: str, activity: Activity) -> FastPathResult:
        hashed = id_hash(activity.id)
        for _ in range(CLAIM_ATTEMPTS):
            entry = self.ledger.look(contact_id)
            known = _known(entry.seen, activity)
            if known is None:
                return FastPathResult(
                    FastPathOutcome.LEFT_TO_A_POLL, "dated below what the state names exactly"
                )
            existing = entry.claims.get(hashed)
            if known or hashed in entry.publishing or (existing and existing.published):
                return FastPathResult(FastPathOutcome.ALREADY_PUBLISHED)
            now = self.clock()
            if existing is not None and existing.in_flight(now):
                return FastPathResult(FastPathOutcome.IN_FLIGHT)
            claim = WebhookClaim(hashed, activity.created_micros, claimed_at=now)
            request = ClaimRequest(
                contact_id,
                claim,
                version=entry.version,
                replacing=existing,
                reconcile_at=now + self.reconcile_window,
            )
            if self.ledger.claim(request):
                break
        else:
            return FastPathResult(FastPathOutcome.LEFT_TO_A_POLL, "its state kept changing")
        self._publish(contact_id, activity, claim)
        return FastPathResult(FastPathOutcome.PUBLISHED)

    def _publish(self, contact_id: str, activity: Activity, claim: WebhookClaim) -> None:
        try:
            self.publisher.publish([ActivityEvent(contact_id, activity, origin=WEBHOOK)])
        except PublishFailed as failure:
            self._withdraw(contact_id, claim)
            raise ReceiverUnavailable(f"the event could not be published: {failure}") from None
        try:
            self.ledger.confirm(contact_id, claim)
        except ReceiverUnavailable:
            # Published all the same: the claim stays pending, and once it is stale the next
            # sync publishes the activity again (allowed after a failure), or LeadLex's retry.
            logger.warning("contact %s: published, but the claim not confirmed", contact_id)

    def _withdraw(self, contact_id: str, claim: WebhookClaim) -> None:
        try:
            self.ledger.withdraw(contact_id, claim)
        except ReceiverUnavailable:
            # A pending claim outlives its receiver: a retry or a sync takes it over when stale.
            logger.warning("contact %s: could not withdraw an unpublished claim", contact_id)


def _known(seen: Fingerprint | None, activity: Activity) -> bool | None:
    """Whether the state names the activity as published; None when it cannot tell (dated
    below the recent window, where the fingerprint keeps counts, not names)."""
    if seen is None:
        return False
    if seen.recent_floor is not None and activity.created_micros < seen.recent_floor:
        return None
    return seen.is_recent(activity.id)
