"""The retry schedule, and what each attempt's outcome means for its delivery and endpoint."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import Enum

from activity_relay.core.webhooks_out.ports import WebhookConfigError

MAX_VISIBILITY_SECONDS = 43_200
"""SQS's longest visibility timeout (12 h): the longest one retry step can wait."""

JITTER = 0.1
"""Each retry waits its step ±10 %, so endpoints recovering from an outage are not hit at once."""

DISABLE_AFTER = timedelta(days=5)
"""An endpoint failing this long without a success is disabled (CONTRACT.md)."""

DEFAULT_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h"

_DURATION = re.compile(r"(\d+)([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Waits between attempts: a delivery gets len(delays) + 1 attempts."""

    delays: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """`5s,5m,30m,2h` → seconds; each step 0 s to 12 h (SQS's longest visibility)."""
        delays: list[int] = []
        for part in (p.strip() for p in text.split(",")):
            match = _DURATION.fullmatch(part)
            if match is None:
                raise WebhookConfigError(
                    f"retry schedule step {part!r}: a whole number with s, m or h"
                )
            seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            if seconds > MAX_VISIBILITY_SECONDS:
                raise WebhookConfigError(f"retry schedule step {part!r} is longer than 12 h")
            delays.append(seconds)
        return cls(tuple(delays))

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1

    @property
    def retry_after_cap(self) -> int:
        """The longest wait a Retry-After can ask for: the schedule's longest step."""
        return max(self.delays, default=0)

    def delay_after(
        self, attempt: int, retry_after: int | None, uniform: Callable[[float, float], float]
    ) -> int:
        """Seconds to wait after failed attempt `attempt` (1-based): its step with jitter, or
        longer if the endpoint's Retry-After asks (capped at the schedule's longest step)."""
        step = self.delays[attempt - 1]
        jittered = round(step * uniform(1 - JITTER, 1 + JITTER))
        if retry_after is not None:
            jittered = max(jittered, min(retry_after, self.retry_after_cap))
        return max(0, min(jittered, MAX_VISIBILITY_SECONDS))


def parse_retry_after(value: str | None, now: datetime) -> int | None:
    """Retry-After as seconds from `now`: delta-seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, math.ceil((when - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one POST came to: a status, or an error (timeout, refused, blocked)."""

    status: int | None
    error: str | None = None
    retry_after: str | None = None
    duration_ms: int = 0
    blocked: bool = False
    """Refused before sending (not https, address not public): nothing went out."""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return str(self.status) if self.status is not None else (self.error or "no response")


class Action(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    delay_seconds: int = 0
    disable_reason: str | None = None
    """Set when this outcome disables the endpoint (410, or failing for DISABLE_AFTER)."""
    reason: str = ""


def decide(
    outcome: AttemptOutcome,
    *,
    attempt: int,
    schedule: RetrySchedule,
    failing_since: datetime | None,
    now: datetime,
    uniform: Callable[[float, float], float],
) -> Verdict:
    """The fate of a delivery after attempt `attempt`, and of its endpoint.

    `failing_since` is the endpoint's first failure since its last success, this one included.
    """
    if outcome.delivered:
        return Verdict(Action.DELIVERED, reason=outcome.describe())
    if outcome.status == 410:
        return Verdict(
            Action.DEAD_LETTER, disable_reason="the endpoint answered 410 Gone", reason="410"
        )
    if failing_since is not None and now - failing_since >= DISABLE_AFTER:
        return Verdict(
            Action.DEAD_LETTER,
            disable_reason=(
                f"failing without a success since {failing_since.isoformat()} "
                f"({DISABLE_AFTER.days} days)"
            ),
            reason=outcome.describe(),
        )
    if outcome.blocked:
        # The same URL resolves the same way next time: retrying cannot help.
        return Verdict(Action.DEAD_LETTER, reason=outcome.describe())
    if attempt >= schedule.attempts:
        return Verdict(
            Action.DEAD_LETTER, reason=f"{outcome.describe()} after {attempt} attempt(s)"
        )
    retry_after = parse_retry_after(outcome.retry_after, now)
    return Verdict(
        Action.RETRY,
        delay_seconds=schedule.delay_after(attempt, retry_after, uniform),
        reason=outcome.describe(),
    )


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt, as `relay webhooks show` lists it."""

    endpoint_id: str
    event_id: str
    attempt: int
    at: datetime
    status: int | None
    error: str | None
    duration_ms: int
    action: str
    """delivered / retry / dead_letter"""
    retry_at: datetime | None = None
    """When a `retry` is due (its step, jitter and Retry-After applied): what
    `relay webhooks test --wait` tells."""
