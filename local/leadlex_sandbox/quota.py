"""Plans and the quota: two fixed windows on the sandbox clock, and the headers that report one.

Every request with a valid key that is not itself answered 429 consumes one unit of the UTC day
and one of the clock minute. Only the day is reported (X-RateLimit-*); the minute has no
headers, as in the real API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    per_day: int
    per_minute: int


PLANS = {
    plan.name: plan
    for plan in (
        Plan("starter", 100, 10),
        Plan("pro", 1_000, 50),
        Plan("org", 10_000, 200),
        # Still counted and reported, so headers look real; just never reached.
        Plan("unlimited", 1_000_000_000, 1_000_000_000),
    )
}


def resolve_plan(plan: str | Plan) -> Plan:
    if isinstance(plan, Plan):
        return plan
    try:
        return PLANS[plan]
    except KeyError:
        raise ValueError(f"unknown plan {plan!r}; one of {', '.join(PLANS)}") from None


class Quota:
    """The plan's windows and what they have counted. Not thread-safe: the sandbox's lock
    guards it. `retry_after` adds Retry-After to the listing's 429s (the real API documents
    none)."""

    def __init__(self, plan: str | Plan, *, retry_after: bool) -> None:
        self._plan = resolve_plan(plan)
        self.retry_after = retry_after
        self._day: date | None = None
        self._day_count = 0
        self._minute: int | None = None
        self._minute_count = 0

    @property
    def plan(self) -> Plan:
        return self._plan

    @plan.setter
    def plan(self, plan: str | Plan) -> None:
        self._plan = resolve_plan(plan)

    def reset(self) -> None:
        self._day = self._minute = None
        self._day_count = self._minute_count = 0

    def consume(self, now: datetime) -> int | None:
        """None if the request fits the quota (and is counted), else seconds until it would."""
        today = now.date()
        minute = int(now.timestamp() // 60)
        if today != self._day:
            self._day, self._day_count = today, 0
        if minute != self._minute:
            self._minute, self._minute_count = minute, 0
        if self._day_count >= self._plan.per_day:
            return max(1, math.ceil((next_midnight(now) - now).total_seconds()))
        if self._minute_count >= self._plan.per_minute:
            return max(1, math.ceil((minute + 1) * 60 - now.timestamp()))
        self._day_count += 1
        self._minute_count += 1
        return None

    def headers(self, moment: datetime) -> list[tuple[str, str]]:
        """The daily window's headers (the per-minute window has none, as in the real API)."""
        used = self._day_count if self._day == moment.date() else 0
        return [
            ("X-RateLimit-Limit", str(self._plan.per_day)),
            ("X-RateLimit-Remaining", str(max(0, self._plan.per_day - used))),
            ("X-RateLimit-Reset", str(int(next_midnight(moment).timestamp()))),
        ]


def next_midnight(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
