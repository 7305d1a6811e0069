"""In-memory adapters: a state store and a publisher that keep everything in dicts and lists.

For simulations and benchmarks that run the real engine without AWS, and for unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from activity_relay.core.model import ActivityEvent, ContactState
from activity_relay.core.ports import PublishFailed, QuotaSnapshot, StateConflict


@dataclass
class MemoryStateStore:
    states: dict[str, ContactState] = field(default_factory=dict)
    not_found: dict[str, datetime] = field(default_factory=dict)
    deferred: dict[str, datetime] = field(default_factory=dict)
    quota: QuotaSnapshot | None = None
    saves: int = 0

    def load(self, contact_id: str) -> ContactState | None:
        return self.states.get(contact_id)

    def save(self, state: ContactState) -> ContactState:
        stored = self.states.get(state.contact_id)
        if (stored.version if stored else 0) != state.version:
            raise StateConflict(f"contact {state.contact_id} was saved by someone else")
        saved = replace(state, seen=state.seen.copy(), version=state.version + 1)
        self.states[state.contact_id] = saved
        self.deferred.pop(state.contact_id, None)
        self.saves += 1
        return saved

    def record_not_found(self, contact_id: str, at: datetime) -> None:
        self.not_found[contact_id] = at
        self.deferred.pop(contact_id, None)

    # Deferrals

    def defer(self, contact_id: str, until: datetime) -> None:
        self.deferred[contact_id] = until

    def due(self, now: datetime, limit: int) -> list[str]:
        waiting = sorted((until, c) for c, until in self.deferred.items() if until <= now)
        return [contact_id for _, contact_id in waiting[:limit]]

    def postpone(self, contact_ids: Sequence[str], until: datetime) -> None:
        for contact_id in contact_ids:
            if contact_id in self.deferred:
                self.deferred[contact_id] = max(self.deferred[contact_id], until)

    def stale(self, synced_before: datetime, limit: int) -> list[str]:
        stale = [
            c
            for c, state in self.states.items()
            if state.last_sync_started_at is None or state.last_sync_started_at < synced_before
        ]
        return sorted(stale)[:limit]

    def record_quota(self, snapshot: QuotaSnapshot) -> None:
        if self.quota is None or snapshot.observed_at >= self.quota.observed_at:
            self.quota = snapshot

    def load_quota(self) -> QuotaSnapshot | None:
        return self.quota


@dataclass
class RecordingPublisher:
    """Keeps what was delivered; can be told to fail after delivering `fail_after` events."""

    delivered: list[ActivityEvent] = field(default_factory=list)
    calls: list[list[ActivityEvent]] = field(default_factory=list)
    fail_after: int | None = None

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        self.calls.append(list(events))
        if self.fail_after is not None and len(events) > self.fail_after:
            self.delivered.extend(events[: self.fail_after])
            raise PublishFailed("injected failure", delivered=self.fail_after)
        self.delivered.extend(events)

    @property
    def ids(self) -> list[str]:
        return [event.event_id for event in self.delivered]
