"""The daily quota as the relay last saw it, and the reserve it never spends.

LeadLex reports the account's daily quota on its answers (X-RateLimit-Limit, -Remaining and
-Reset, the next UTC midnight); the client reports each observation here, and so do other
containers through the state table. Once what is left is down to the configured reserve, no
request is sent until the window resets: `admit` raises QuotaExhausted instead, so the reserve
stays for other uses of the key. The observation is replaced whole, never updated in place, so
the sync's threads may share one guard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from activity_relay.core.model import QuotaExhausted
from activity_relay.core.quota.ports import QuotaSnapshot

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def next_utc_midnight(moment: datetime) -> datetime:
    """When LeadLex's daily window resets, as X-RateLimit-Reset documents it."""
    tomorrow = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(tomorrow, datetime.min.time(), UTC)


class QuotaGuard:
    """The newest observation of the daily quota, and the reserve rule."""

    def __init__(self, *, reserve: int = 0, clock: Callable[[], datetime] = _utc_now) -> None:
        if reserve < 0:
            raise ValueError(f"the reserve must be >= 0, not {reserve}")
        self.reserve = reserve
        self._clock = clock
        self._last: QuotaSnapshot | None = None

    def snapshot(self) -> QuotaSnapshot | None:
        """The newest observation, to share with other containers; None before any."""
        return self._last

    def record(self, snapshot: QuotaSnapshot) -> None:
        """What LeadLex's latest answer to this container said: it replaces what was known."""
        self._last = snapshot

    def seed(self, snapshot: QuotaSnapshot) -> None:
        """What another container saw: kept unless this one has seen something as new."""
        last = self._last
        if last is None or snapshot.observed_at > last.observed_at:
            self._last = snapshot

    def resets_at(self) -> datetime:
        """When the current window resets: as LeadLex said, else the next UTC midnight."""
        if self._last is not None:
            return self._last.resets_at
        return next_utc_midnight(self._clock())

    def admit(self, contact_id: str) -> None:
        """Raise QuotaExhausted, sending nothing, once the quota left is down to the reserve
        and its window has not reset yet."""
        last = self._last
        if last is None or last.remaining > self.reserve or self._clock() >= last.resets_at:
            return
        message = f"daily quota down to {last.remaining} (reserve {self.reserve}); no request sent"
        logger.warning(
            "LeadLex quota exhausted until %s: contact_id=%s %s",
            last.resets_at.isoformat(),
            contact_id,
            message,
        )
        raise QuotaExhausted(message, resets_at=last.resets_at, requests=0)
