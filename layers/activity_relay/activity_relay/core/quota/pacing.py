"""Pacing the daily quota over the day: how much of it may be spent now.

Spent first come, first served, a day's quota is gone by early afternoon and the rest of the day
waits for midnight. Paced, the budget (the day's quota less the reserve) is released along a
straight line over the window, and what the line does not yet allow waits, longest-waiting
first, one sync per waiting contact however many messages it gathered. Latency then grows with
the load instead of jumping to "after the reset".

The line, for a window of length W ending at the reset R (LeadLex's: 24 h to the next UTC
midnight) and a day's budget B = limit - reserve:

* a head of `head_share` x B (10 %) is spendable at once when the window opens: the catch-up
  of the contacts still waiting at the reset, so they go out right after it (the sweep paces
  them to the per-minute limit);
* an end of `end_share` x B (25 %) is held back until the tail, the day's last hour by default:
  then nothing is held back any more, and the contacts that waited or were touched late in the
  day are synced before the reset with it and whatever else the day left over;
* the rest, B - head - end, is released evenly from the window's start until the tail.

What must still be kept at time t before the tail is
`keep(t) = end + (B - head - end) x (R - tail - t) / (W - tail)`, and the allowance is what
the quota has left beyond it and the reserve. Why a quarter for the end: a contact touched
again after its sync needs another one, so syncs spent early in a busy day are partly spent
twice; the ones held for the last hour sync each waiting contact once, after its last touch of
the day. On the simulated Pro day (benchmarks/README.md, delay 300 s) 0 % keeps 72 % of the
active contacts in sync at the reset, 20 % 89 %, 25 % 96 %, 30 % 99 %, each 5 points costing
about half an hour of median latency.

The allowance is computed from the last observation of the quota (LeadLex reports the
account's remaining count on every answer), so every container and the sweep read one shared
budget, and whatever spent it - a sync that needed several requests, a backdated search,
another use of the key - is accounted for. Unspent budget carries over: a quiet morning leaves
the afternoon more, and a day below the line never waits (no pacing delay when the budget is
not ahead of the rate).

Pure: no clock, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from activity_relay.core.quota.ports import QuotaSnapshot

DAY = timedelta(days=1)
DEFAULT_HEAD_SHARE = 0.1
DEFAULT_END_SHARE = 0.25
DEFAULT_TAIL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class PacePolicy:
    """The shape of the line along which a day's budget is released."""

    reserve: int = 0
    """Requests a day left to other uses of the key: never part of the budget."""
    default_limit: int = 100
    """The daily quota assumed when LeadLex did not report X-RateLimit-Limit."""
    head_share: float = DEFAULT_HEAD_SHARE
    end_share: float = DEFAULT_END_SHARE
    """Share of the day's budget held back until the tail, for the contacts touched late."""
    tail: timedelta = DEFAULT_TAIL
    window: timedelta = DAY

    def __post_init__(self) -> None:
        if self.reserve < 0 or self.default_limit < 1:
            raise ValueError("reserve must be >= 0 and default_limit >= 1")
        if (
            not (self.head_share >= 0 and self.end_share >= 0)
            or self.head_share + self.end_share > 1
        ):
            raise ValueError(
                f"head_share and end_share must be >= 0 with a sum <= 1, got {self.head_share}"
                f" and {self.end_share}"
            )
        if not timedelta(0) <= self.tail < self.window:
            raise ValueError("tail must be shorter than the window")


@dataclass(frozen=True, slots=True)
class Budget:
    """The quota as it stands at `now`, by the pace."""

    allowance: int
    """Units that may be spent now without getting ahead of the line."""
    remaining: int
    """The quota left in the current window, reserve included."""
    resets_at: datetime
    per_hour: float
    """The line's rate between the head and the tail: units released per hour."""


def budget(snapshot: QuotaSnapshot, now: datetime, policy: PacePolicy) -> Budget:
    """The allowance at `now`, from the last observation of the quota."""
    limit = snapshot.limit if snapshot.limit is not None else policy.default_limit
    remaining, resets_at = snapshot.remaining, snapshot.resets_at
    if now >= resets_at:
        # The observed window is over: a whole day's quota is back, however little was left.
        windows = (now - resets_at) // policy.window + 1
        remaining, resets_at = limit, resets_at + windows * policy.window
    day_budget = max(0, limit - policy.reserve)
    head = math.floor(day_budget * policy.head_share)
    end = math.floor(day_budget * policy.end_share)
    paced = day_budget - head - end
    span = (policy.window - policy.tail).total_seconds()
    left = (resets_at - policy.tail - now).total_seconds()
    keep = math.ceil(paced * min(1.0, max(0.0, left / span))) + (end if left > 0 else 0)
    allowance = max(0, remaining - policy.reserve - keep)
    return Budget(
        allowance=allowance,
        remaining=remaining,
        resets_at=resets_at,
        per_hour=paced * 3600 / span,
    )


def admit(
    snapshot: QuotaSnapshot | None, now: datetime, policy: PacePolicy, *, contacts: int
) -> int:
    """How many of `contacts` arriving now may be synced at once; the others wait.

    Without an observation nothing is known yet: the first answer will tell, and the client's
    quota guard still keeps the reserve.
    """
    if snapshot is None:
        return contacts
    return min(contacts, budget(snapshot, now, policy).allowance)


def releasable(
    snapshot: QuotaSnapshot | None,
    now: datetime,
    policy: PacePolicy,
    *,
    per_minute: int,
) -> int:
    """How many waiting contacts the sweep may release now: one unit of budget each (a sync
    costs at least one request; one needing more spends it from the same budget, and the
    next allowance sees it), at most a minute's worth of the per-minute limit."""
    if snapshot is None:
        return min(per_minute, max(0, policy.default_limit - policy.reserve))
    return min(per_minute, budget(snapshot, now, policy).allowance)
