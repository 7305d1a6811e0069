"""Failures injected into the sandbox's /v1 requests, settable while it serves."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any


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
        self._malform = 0
        self._drop = 0
        self._lost_webhooks = 0
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
        with self._lock:
            self._malform += count

    def drop_next(self, count: int = 1) -> None:
        with self._lock:
            self._drop += count

    def lose_webhooks_next(self, count: int = 1) -> None:
        with self._lock:
            self._lost_webhooks += count

    def reset(self) -> None:
        with self._lock:
            self.latency = 0.0
            self.error_rate = 0.0
            self.error_status = 503
            self._fail.clear()
            self._mutations.clear()
            self._malform = 0
            self._drop = 0
            self._lost_webhooks = 0

    def pending(self) -> dict[str, int]:
        """The counted faults still to come, by kind."""
        with self._lock:
            return {
                "fail_next": len(self._fail),
                "drop_next": self._drop,
                "malform_next": self._malform,
                "lose_webhooks_next": self._lost_webhooks,
            }

    def take_failure(self) -> tuple[str, int, int | None] | None:
        """("drop", 0, None), ("fail", status, retry_after), or None for a normal request."""
        with self._lock:
            if self._drop:
                self._drop -= 1
                return ("drop", 0, None)
            if self._fail:
                status, retry_after = self._fail.pop(0)
                return ("fail", status, retry_after)
            if self.error_rate and self._rng.random() < self.error_rate:
                return ("fail", self.error_status, None)
            return None

    def take_lost_webhook(self) -> bool:
        with self._lock:
            if self._lost_webhooks:
                self._lost_webhooks -= 1
                return True
            return False

    def take_mutation(self) -> Callable[[dict[str, Any]], object] | None:
        with self._lock:
            return self._mutations.pop(0) if self._mutations else None

    def take_malform(self) -> bool:
        with self._lock:
            if self._malform:
                self._malform -= 1
                return True
            return False
