"""The scheduled sweep: deferred contacts back onto the contact queue once the quota allows.

First the contacts deferred by the exhausted daily quota whose reset has come, longest-waiting
first; then, when reconciliation is on, contacts not synced for a while (a missed webhook leaves
no other trace). Never more contacts than the quota left can serve: each sync costs at least
one request, so one contact is one unit of budget; and no faster than the per-minute limit
allows, through SQS delivery delays. Plain Python over ports, no AWS imports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from activity_relay.core.ports import ContactQueue, Deferrals, QuotaSnapshot

logger = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 900  # SQS's longest delivery delay
RECHECK = timedelta(hours=2)  # beyond the pacing, a few visibility timeouts and retries


@dataclass(frozen=True, slots=True)
class SweepPolicy:
    """What the sweep may spend, and how fast."""

    quota_reserve: int
    default_daily_quota: int
    """Assumed until LeadLex has reported the real one."""
    requests_per_minute: int
    """The plan's per-minute limit, which LeadLex reports in no header."""
    stale_after: timedelta | None
    """None: no reconciliation of contacts not synced for a while."""


@dataclass(frozen=True, slots=True)
class SweepResult:
    budget: int
    deferred_enqueued: int
    stale_enqueued: int
    failed: tuple[str, ...]
    """Ids that could not be enqueued; deferred ones keep their deferral for the next sweep."""


def quota_budget(
    snapshot: QuotaSnapshot | None, *, now: datetime, default_limit: int, reserve: int
) -> int:
    """How many contacts the quota left can serve, the reserve kept back."""
    if snapshot is None:
        available = default_limit
    elif now >= snapshot.resets_at:
        # The observed window is over: a whole day's quota is back, however little was left.
        available = snapshot.limit if snapshot.limit is not None else default_limit
    else:
        available = snapshot.remaining
    return max(0, available - reserve)


def pacing(count: int, per_minute: int) -> list[int]:
    """Delivery delays that spread `count` contacts at `per_minute` a minute."""
    return [min(MAX_DELAY_SECONDS, 60 * (index // per_minute)) for index in range(count)]


def sweep(
    deferrals: Deferrals, queue: ContactQueue, policy: SweepPolicy, *, now: datetime
) -> SweepResult:
    budget = quota_budget(
        deferrals.load_quota(),
        now=now,
        default_limit=policy.default_daily_quota,
        reserve=policy.quota_reserve,
    )
    # Released all at once after a reset, a day's deferred contacts would hit the per-minute
    # limit and return to the queue until the DLQ took them: pace them over the delays SQS
    # allows, and leave the rest to the next sweep.
    budget = min(budget, policy.requests_per_minute * (MAX_DELAY_SECONDS // 60 + 1))
    if budget == 0:
        return SweepResult(budget=0, deferred_enqueued=0, stale_enqueued=0, failed=())

    due = deferrals.due(now, budget)
    failed_due = set(queue.enqueue(due, delays=pacing(len(due), policy.requests_per_minute)))
    enqueued_due = [contact_id for contact_id in due if contact_id not in failed_due]
    if enqueued_due:
        # Not forgotten: should the message never lead to a successful sync (the DLQ, say),
        # the next sweep after RECHECK enqueues the contact again.
        deferrals.postpone(enqueued_due, now + RECHECK)

    stale: list[str] = []
    failed_stale: set[str] = set()
    left = budget - len(enqueued_due)
    if policy.stale_after is not None and left > 0:
        already = set(due)
        stale = [
            contact_id
            for contact_id in deferrals.stale(now - policy.stale_after, left)
            if contact_id not in already
        ]
        delays = pacing(len(enqueued_due) + len(stale), policy.requests_per_minute)
        failed_stale = set(queue.enqueue(stale, delays=delays[len(enqueued_due) :]))

    failed = tuple(c for c in due if c in failed_due) + tuple(c for c in stale if c in failed_stale)
    if failed:
        logger.warning(
            "%d contact(s) could not be enqueued; deferred ones stay deferred", len(failed)
        )
    return SweepResult(
        budget=budget,
        deferred_enqueued=len(enqueued_due),
        stale_enqueued=len(stale) - len(failed_stale),
        failed=failed,
    )
