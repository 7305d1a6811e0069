"""The scheduled sweep: deferred contacts back onto the contact queue once the quota allows.

First the contacts deferred by the exhausted daily quota whose reset has come, or waiting for
the paced budget, longest-waiting first; then the reconciliations of contacts whose webhooks
carried their activities (due a reconcile window after the first, or all of them in the pace's
last hour); then, when STALE_AFTER_HOURS is set, contacts not synced for a while. Never more
contacts than the quota left can serve: each sync costs at least one request, so one contact is
one unit of budget; and no faster than the per-minute limit allows, through SQS delivery
delays. Plain Python over ports, no AWS imports.

With pacing (pacing.py) the sweep is what spends the paced budget on waiting contacts: each
run (every minute) releases as many as the line allows now, at most a minute of the per-minute
limit, and claims them in the shared quota observation (one conditional write a run, not one a
contact), so neither the next run nor a cold container counts them as still available.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from activity_relay.core.contracts.contact_queue import (
    MAX_DELAY_SECONDS,
    ContactQueue,
    Purpose,
    QueuedContact,
)
from activity_relay.core.quota.pacing import PacePolicy, budget, releasable
from activity_relay.core.quota.ports import Deferrals, QuotaSnapshot

logger = logging.getLogger(__name__)

RECHECK = timedelta(hours=2)  # beyond the pacing, a few visibility timeouts and retries
EVERY_RECONCILIATION = datetime.max.replace(tzinfo=UTC)


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
    pace: PacePolicy | None = None
    """None: no pacing, the quota left is released at once after the reset."""


@dataclass(frozen=True, slots=True)
class SweepResult:
    budget: int
    deferred_enqueued: int
    stale_enqueued: int
    failed: tuple[str, ...]
    """Ids that could not be enqueued; deferred ones keep their deferral for the next sweep."""
    reconciliations_enqueued: int = 0


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
    snapshot = deferrals.load_quota()
    if policy.pace is not None:
        allowed = releasable(snapshot, now, policy.pace, per_minute=policy.requests_per_minute)
    else:
        allowed = quota_budget(
            snapshot,
            now=now,
            default_limit=policy.default_daily_quota,
            reserve=policy.quota_reserve,
        )
        # Released all at once after a reset, a day's deferred contacts would hit the per-minute
        # limit and return to the queue until the DLQ took them: pace them over the delays SQS
        # allows, and leave the rest to the next sweep.
        allowed = min(allowed, policy.requests_per_minute * (MAX_DELAY_SECONDS // 60 + 1))
    result = _release(deferrals, queue, policy, now=now, budget=allowed, snapshot=snapshot)
    released = result.deferred_enqueued + result.reconciliations_enqueued + result.stale_enqueued
    if policy.pace is not None and snapshot is not None and released:
        _claim(deferrals, snapshot, policy.pace, now=now, units=released)
    return result


def _claim(
    deferrals: Deferrals, snapshot: QuotaSnapshot, pace: PacePolicy, *, now: datetime, units: int
) -> None:
    """Record the released contacts as spent: until a sync reports the quota again, the next
    run (or a cold container) must not count their units as still available. A later
    observation replaces this one, and by then it includes what they spent."""
    current = budget(snapshot, now, pace)
    deferrals.record_quota(
        QuotaSnapshot(
            limit=snapshot.limit,
            remaining=max(0, current.remaining - units),
            resets_at=current.resets_at,
            observed_at=max(now, snapshot.observed_at),
        )
    )


def _release(
    deferrals: Deferrals,
    queue: ContactQueue,
    policy: SweepPolicy,
    *,
    now: datetime,
    budget: int,
    snapshot: QuotaSnapshot | None,
) -> SweepResult:
    if budget == 0:
        return SweepResult(budget=0, deferred_enqueued=0, stale_enqueued=0, failed=())

    # First the contacts waiting for the quota or the pace, whose activities nobody published
    # yet; then, with what is left, the reconciliations of contacts whose webhooks carried
    # their activities; then, with reconciliation on, contacts not synced for a while.
    released: list[str] = []
    failed: list[str] = []
    counts: list[int] = []
    reconcile_by = _reconcile_by(policy, snapshot, now)
    finders: list[Callable[[int], list[str]]] = [
        lambda left: deferrals.due(now, left),
        lambda left: deferrals.reconciliations(reconcile_by, left),
        lambda left: _stale(deferrals, policy, now, left, already={*released, *failed}),
    ]
    for find in finders:
        left = budget - len(released)
        found = find(left) if left > 0 else []
        delays = pacing(len(released) + len(found), policy.requests_per_minute)
        refused = _enqueue(queue, policy, found, delays[len(released) :])
        enqueued = [c for c in found if c not in refused]
        failed.extend(c for c in found if c in refused)
        counts.append(len(enqueued))
        if enqueued and len(counts) < 3:
            # Not forgotten: should the message never lead to a successful sync (the DLQ, say),
            # the next sweep after RECHECK enqueues the contact again.
            deferrals.postpone(enqueued, now + RECHECK)
        released.extend(enqueued)
    if failed:
        logger.warning(
            "%d contact(s) could not be enqueued; deferred ones stay deferred", len(failed)
        )
    return SweepResult(
        budget=budget,
        deferred_enqueued=counts[0],
        reconciliations_enqueued=counts[1],
        stale_enqueued=counts[2],
        failed=tuple(failed),
    )


def _reconcile_by(policy: SweepPolicy, snapshot: QuotaSnapshot | None, now: datetime) -> datetime:
    """Until when reconciliations count as due: now, or, in the pace's tail (the day's last
    hour, when nothing is held back any more), whenever: what the day left over reconciles
    every contact still waiting, so that the day ends in sync."""
    if policy.pace is None or snapshot is None:
        return now
    resets_at = budget(snapshot, now, policy.pace).resets_at
    return EVERY_RECONCILIATION if now >= resets_at - policy.pace.tail else now


def _stale(
    deferrals: Deferrals, policy: SweepPolicy, now: datetime, limit: int, *, already: set[str]
) -> list[str]:
    if policy.stale_after is None:
        return []
    return [c for c in deferrals.stale(now - policy.stale_after, limit) if c not in already]


def _enqueue(
    queue: ContactQueue, policy: SweepPolicy, contact_ids: list[str], delays: list[int]
) -> set[str]:
    """The contacts that could not be enqueued. With pacing, each message is a release: the
    sweep spent the paced budget's unit on it, so the sync does not pace it again."""
    purpose = Purpose.RELEASE if policy.pace is not None else Purpose.REQUEST
    messages = [
        QueuedContact(contact_id, purpose, delay_seconds=delay)
        for contact_id, delay in zip(contact_ids, delays, strict=True)
    ]
    return {message.contact_id for message in queue.send(messages)}
