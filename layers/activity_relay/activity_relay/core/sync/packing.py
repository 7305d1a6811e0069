"""Events of syncs that run at the same time, published in shared batch calls.

A batch of ten webhook-triggered contacts typically finds one or two new activities each: on
its own, every sync would spend a PublishBatch and a PutEvents call on them, twenty calls for
what fits in two. The BatchSync runs its syncs in threads; each sync runs inside `running()`, and
each of its publish() calls waits, for at most `window` seconds, until the other running syncs
have either published too or finished, or until a call's worth of events is waiting. Then one
of the waiting threads publishes everything waiting, as one sequence — each sync's events in
its own order, oldest first, one after the other — and hands each caller its own result. A
lone sync, or one with a call's worth of events already, never waits.

Results. The inner publisher reports how many leading events of the whole sequence were
delivered; a caller whose events all lie inside that prefix has its events delivered, one
whose events straddle it gets PublishFailed with its own delivered prefix. A failure thus also
counts later callers' events as undelivered: they are published again on the next try, with the
same event ids, as the contract allows after a failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from activity_relay.core.model import ActivityEvent
from activity_relay.core.sync.ports import Publisher, PublishFailed

CALL_ENTRIES = 10  # what one PublishBatch or PutEvents call takes
DEFAULT_WINDOW = 0.05  # seconds a publish waits at most for other syncs' events


@dataclass
class _Request:
    events: Sequence[ActivityEvent]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class PackingPublisher:
    """A Publisher that packs the events of concurrently running syncs into shared calls."""

    def __init__(self, inner: Publisher, *, window: float = DEFAULT_WINDOW) -> None:
        self._inner = inner
        self._window = window
        self._changed = threading.Condition()
        self._running = 0
        self._pending: list[_Request] = []

    @contextmanager
    def running(self) -> Iterator[None]:
        """Wrap one sync: while it runs, others' publishes may wait for its events."""
        with self._changed:
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        if not events:
            return
        request = _Request(events)
        with self._changed:
            self._pending.append(request)
            self._changed.notify_all()
            deadline = time.monotonic() + self._window
            while request in self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._ready():
                    break
                self._changed.wait(remaining)
            # Still waiting: this thread publishes for all. Otherwise another took it along.
            group = self._take() if request in self._pending else []
            if group:
                self._changed.notify_all()
        if group:
            self._publish(group)
        request.done.wait()
        if request.error is not None:
            raise request.error

    def _ready(self) -> bool:
        waiting = sum(len(r.events) for r in self._pending)
        # Syncs outside running() (a caller that never registered) count as none.
        return waiting >= CALL_ENTRIES or len(self._pending) >= self._running

    def _take(self) -> list[_Request]:
        group, self._pending = self._pending, []
        return group

    def _publish(self, group: list[_Request]) -> None:
        events = [event for request in group for event in request.events]
        delivered = len(events)
        failure: BaseException | None = None
        try:
            self._inner.publish(events)
        except PublishFailed as error:
            delivered, failure = error.delivered, error
        except Exception as error:  # noqa: BLE001 - raised again in every caller of the group
            delivered, failure = 0, error
        start = 0
        for request in group:
            own = max(0, min(len(request.events), delivered - start))
            start += len(request.events)
            if own < len(request.events):
                request.error = (
                    PublishFailed(str(failure), delivered=own)
                    if isinstance(failure, PublishFailed)
                    else failure
                )
            request.done.set()
