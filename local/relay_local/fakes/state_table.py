"""The state table (StateStore, Deferrals and the shared quota observation) in memory."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from activity_relay.adapters.dynamodb.codec import REQUEST_MARGIN
from activity_relay.core.model import ContactState
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.sync.ports import Covered, Lease, LeaseHeld, StateConflict


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class MemoryStateTable:
    """The state table in dicts, DynamoDbStateStore and DynamoDbDeferrals in one. `clock` plays
    the store's own now, which `postpone` reads as the real one does. The conditions of a sync
    (versions, leases) are decided under one lock, as DynamoDB decides a conditional write:
    threads may share the store."""

    states: dict[str, ContactState] = field(default_factory=dict)
    not_found: dict[str, datetime] = field(default_factory=dict)
    deferred: dict[str, datetime] = field(default_factory=dict)
    deferred_asked: dict[str, datetime] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    quota: QuotaSnapshot | None = None
    saves: int = 0
    clock: Callable[[], datetime] = _now
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def load(self, contact_id: str) -> ContactState | None:
        stored = self.states.get(contact_id)
        # A copy, as a read from a table is: what the caller changes stays with the caller.
        return None if stored is None else replace(stored, seen=stored.seen.copy())

    def begin(
        self, contact_id: str, lease: Lease, *, covered_after: datetime | None = None
    ) -> ContactState | None:
        with self._lock:
            stored = self.states.get(contact_id)
            started = stored.last_sync_started_at if stored else None
            if covered_after is not None and started is not None and started > covered_after:
                raise Covered(
                    f"contact {contact_id}: its last sync started at {started.isoformat()}",
                    last_sync_started_at=started,
                )
            held = self.leases.get(contact_id)
            if (
                held is not None
                and held.holder != lease.holder
                and held.expires_at >= lease.taken_at
            ):
                raise LeaseHeld(
                    f"contact {contact_id}: another sync holds it until "
                    f"{held.expires_at.isoformat()}",
                    lease=held,
                )
            self.leases[contact_id] = lease
            return None if stored is None else replace(stored, seen=stored.seen.copy())

    def save(self, state: ContactState, lease: Lease | None = None) -> ContactState:
        with self._lock:
            stored = self.states.get(state.contact_id)
            if (stored.version if stored else 0) != state.version:
                raise StateConflict(f"contact {state.contact_id} was saved by someone else")
            held = self.leases.get(state.contact_id)
            if lease is not None and held is not None and held.holder != lease.holder:
                raise StateConflict(f"contact {state.contact_id} is held by another sync")
            saved = replace(state, version=state.version + 1)
            self.states[state.contact_id] = replace(saved, seen=state.seen.copy())
            # The sync a deferral waited for has happened (unless the deferral was asked for
            # after it began), and the contact has been found.
            requested = self.deferred_asked.get(state.contact_id)
            started = state.last_sync_started_at
            if started is None or requested is None or requested < started - REQUEST_MARGIN:
                self._clear_deferral(state.contact_id)
            self.not_found.pop(state.contact_id, None)
            if lease is not None:
                self.leases.pop(state.contact_id, None)
            self.saves += 1
            return saved

    def release(self, contact_id: str, lease: Lease) -> None:
        with self._lock:
            self._release(contact_id, lease)

    def record_not_found(self, contact_id: str, at: datetime, lease: Lease | None = None) -> None:
        with self._lock:
            self.not_found[contact_id] = at
            self._clear_deferral(contact_id)
            if lease is not None:
                self._release(contact_id, lease)

    def _release(self, contact_id: str, lease: Lease) -> None:
        held = self.leases.get(contact_id)
        if held is not None and held.holder == lease.holder:
            del self.leases[contact_id]

    def forget(self, contact_id: str) -> None:
        self.leases.pop(contact_id, None)
        self.states.pop(contact_id, None)
        self.not_found.pop(contact_id, None)
        self._clear_deferral(contact_id)

    def _clear_deferral(self, contact_id: str) -> None:
        self.deferred.pop(contact_id, None)
        self.deferred_asked.pop(contact_id, None)

    def defer(self, contact_id: str, until: datetime) -> None:
        self.deferred[contact_id] = until
        self.deferred_asked[contact_id] = self.clock()

    def wait(self, contact_id: str, since: datetime) -> None:
        waiting = self.deferred.get(contact_id)
        self.deferred[contact_id] = since if waiting is None else min(waiting, since)
        self.deferred_asked[contact_id] = self.clock()

    def due(self, now: datetime, limit: int) -> list[str]:
        if limit <= 0:
            return []
        waiting = sorted((until, c) for c, until in self.deferred.items() if until <= now)
        return [contact_id for _, contact_id in waiting[:limit]]

    def postpone(self, contact_ids: Sequence[str], until: datetime) -> None:
        # Only a deferral that has come due moves: one renewed since (a later reset) stays.
        now = self.clock()
        for contact_id in contact_ids:
            current = self.deferred.get(contact_id)
            if current is not None and current <= now:
                self.deferred[contact_id] = until

    def stale(self, synced_before: datetime, limit: int) -> list[str]:
        if limit <= 0:
            return []
        stale = [
            c
            for c, state in self.states.items()
            if c not in self.not_found
            and c not in self.deferred
            and (state.last_sync_started_at is None or state.last_sync_started_at < synced_before)
        ]
        return sorted(stale)[:limit]

    def record_quota(self, snapshot: QuotaSnapshot) -> None:
        if self.quota is None or _newer_quota(snapshot, self.quota):
            self.quota = snapshot

    def load_quota(self) -> QuotaSnapshot | None:
        return self.quota


def _newer_quota(new: QuotaSnapshot, stored: QuotaSnapshot) -> bool:
    """A newer window always wins; within a window the later observation, and on a tie the
    lower remaining count (DynamoDbDeferrals' condition)."""
    if new.resets_at != stored.resets_at:
        return new.resets_at > stored.resets_at
    if new.observed_at != stored.observed_at:
        return new.observed_at > stored.observed_at
    return new.remaining < stored.remaining
