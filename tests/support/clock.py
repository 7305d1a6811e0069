"""The tests' clock: what the code under test calls for the time, moved only by the test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Clock[T: (datetime, float)]:
    """A callable returning `now`: frozen until the test sets it (`clock.now = ...`,
    `clock.now += ...`). A datetime for the relay's clocks, seconds for a monotonic one."""

    now: T

    def __call__(self) -> T:
        return self.now
