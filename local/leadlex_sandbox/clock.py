"""The sandbox's notion of now: real time by default, movable by tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Real time plus an offset, or a frozen instant.

    Rate-limit windows, key expiry and "now" activities all read this clock, so a test can
    cross UTC midnight or expire a key without waiting.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        if start is not None:
            self.set(start, frozen=frozen)
        elif frozen:
            self._frozen_at = _utcnow()

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return _utcnow() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def set(self, moment: datetime, *, frozen: bool = False) -> None:
        """Jump to `moment` (naive means UTC); it keeps ticking unless `frozen`."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        with self._lock:
            if frozen:
                self._frozen_at = moment
            else:
                self._frozen_at = None
                self._offset = moment - _utcnow()

    def advance(self, seconds: float | timedelta) -> None:
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += delta
            else:
                self._offset += delta

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._frozen_at = None
            self._offset = timedelta(0)


def _utcnow() -> datetime:
    return datetime.now(UTC)
