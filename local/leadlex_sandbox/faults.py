"""Failures injected into the sandbox's /v1 requests, settable while it serves."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

COUNTED = ("drop_next", "malform_next", "lose_webhooks_next")
"""The faults that are a count and nothing more, each named as `pending()` reports it."""


class Faults:
    """Failures injected into /v1 requests, settable while the server runs.

    Counted faults ("next N") are consumed in this order of precedence: drop, fail, then the
    random `error_rate`; `mutate_next` and `malform_next` spoil the body of a response
    computed normally. `lose_webhooks_next` is LeadLex losing deliveries: the next N webhooks
    an added activity would cause are never sent.
    """

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}:faults")  # noqa: S311 - reproducible, not secret
        self.latency = 0.0
        self.error_rate = 0.0
        self.error_status = 503
        self._fail: list[tuple[int, int | None]] = []
        self._counted = dict.fromkeys(COUNTED, 0)
        self._mutations: list[Callable[[dict[str, Any]], object]] = []

    def fail_next(self, count: int = 1, status: int = 503, retry_after: int | None = None) -> None:
        """Answer the next `count` requests with `status` (e.g. 500, 503, 429) untouched
        by auth or quota; `retry_after` seconds, if given, go into a Retry-After header."""
        with self._lock:
            self._fail.extend([(status, retry_after)] * count)

    def mutate_next(self, mutate: Callable[[dict[str, Any]], object], count: int = 1) -> None:
        """Let `mutate` edit, in place, the JSON body of the next `count` 200 pages: to play
        an API that breaks its own contract (short pages, wrong totals, bad activities)."""
        with self._lock:
            self._mutations.extend([mutate] * count)

    def malform_next(self, count: int = 1) -> None:
        self.add("malform_next", count)

    def drop_next(self, count: int = 1) -> None:
        self.add("drop_next", count)

    def lose_webhooks_next(self, count: int = 1) -> None:
        self.add("lose_webhooks_next", count)

    def add(self, kind: str, count: int) -> None:
        """`count` more faults of a counted `kind` (one of COUNTED)."""
        with self._lock:
            self._counted[kind] += count

    def reset(self) -> None:
        with self._lock:
            self.latency = 0.0
            self.error_rate = 0.0
            self.error_status = 503
            self._fail.clear()
            self._mutations.clear()
            self._counted = dict.fromkeys(COUNTED, 0)

    def pending(self) -> dict[str, int]:
        """The counted faults still to come, by kind."""
        with self._lock:
            return {"fail_next": len(self._fail), **self._counted}

    def take_failure(self) -> tuple[str, int, int | None] | None:
        """("drop", 0, None), ("fail", status, retry_after), or None for a normal request."""
        with self._lock:
            if self._take("drop_next"):
                return ("drop", 0, None)
            if self._fail:
                status, retry_after = self._fail.pop(0)
                return ("fail", status, retry_after)
            if self.error_rate and self._rng.random() < self.error_rate:
                return ("fail", self.error_status, None)
            return None

    def take_lost_webhook(self) -> bool:
        with self._lock:
            return self._take("lose_webhooks_next")

    def take_mutation(self) -> Callable[[dict[str, Any]], object] | None:
        with self._lock:
            return self._mutations.pop(0) if self._mutations else None

    def take_malform(self) -> bool:
        with self._lock:
            return self._take("malform_next")

    def _take(self, kind: str) -> bool:
        """Consume one fault of `kind`, if one is due (the caller holds the lock)."""
        if self._counted[kind]:
            self._counted[kind] -= 1
            return True
        return False
