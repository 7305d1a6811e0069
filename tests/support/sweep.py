"""The sweep's policy as its unit tests set it: a Pro-like plan's budget, paced or not."""

from __future__ import annotations

from activity_relay.core.quota.pacing import PacePolicy
from activity_relay.core.quota.sweep import SweepPolicy


def policy(*, per_minute: int = 50, paced: bool = True) -> SweepPolicy:
    return SweepPolicy(
        quota_reserve=0,
        default_daily_quota=100,
        requests_per_minute=per_minute,
        stale_after=None,
        pace=PacePolicy() if paced else None,
    )
