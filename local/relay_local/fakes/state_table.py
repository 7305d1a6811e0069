"""The state table in memory: the sync's StateStore, the sweep's Deferrals and quota, and the
webhook fast path's ledger."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from activity_relay.adapters.dynamodb.codec import REQUEST_MARGIN
from activity_relay.core.model import Activity, ContactState, WebhookClaim, id_hash
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.sync.ports import Covered, Lease, LeaseHeld, StateConflict
from activity_relay.core.webhooks_in.ports import ClaimRequest, LedgerEntry


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class MemoryStateTable:
    """The state table in dicts: DynamoDbStateStore, DynamoDbDeferrals and DynamoDbWebhookLedger
    in one. `clock` plays the store's own now, which `postpone` reads as the real one does. The
    conditions of a sync (versions, leases, claims) are decided under one lock, as DynamoDB
    decides a conditional write: threads may share the store. A contact waits in `deferred`
    (the quota, pacing) or in `reconciling`, never both, as one item holds one deferral."""

    states: dict[str, ContactState] = field(default_factory=dict)
    not_found: dict[str, datetime] = field(default_factory=dict)
    failures: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    deferred: dict[str, datetime] = field(default_factory=dict)
    deferred_asked: dict[str, datetime] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    reconciling: dict[str, datetime] = field(default_factory=dict)
    claims: dict[str, dict[int, WebhookClaim]] = field(default_factory=dict)
    publishing: dict[str, set[int]] = field(default_factory=dict)
    quota: QuotaSnapshot | None = None
    saves: int = 0
    clock: Callable[[], datetime] = _now
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def load(self, contact_id: str) -> ContactState | None:
        return self._read(contact_id)

    def _read(self, contact_id: str) -> ContactState | None:
        stored = self.states.get(contact_id)
        # A copy, as a read from a table is: what the caller changes stays with the caller.
        if stored is None:
            return None
        claims = dict(self.claims.get(contact_id, {}))
        return replace(stored, seen=stored.seen.copy(), claims=claims)

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
            return self._read(contact_id)

    def save(self, state: ContactState, lease: Lease | None = None) -> ContactState:
        with self._lock:
            stored = self.states.get(state.contact_id)
            if (stored.version if stored else 0) != state.version:
                raise StateConflict(f"contact {state.contact_id} was saved by someone else")
            held = self.leases.get(state.contact_id)
            if lease is not None and held is not None and held.holder != lease.holder:
                raise StateConflict(f"contact {state.contact_id} is held by another sync")
            claims = self.claims.get(state.contact_id, {})
            for hashed in state.settled_claims:
                claims.pop(hashed, None)
            self.publishing.pop(state.contact_id, None)
            saved = replace(
                state,
                version=state.version + 1,
                claims={h: c for h, c in state.claims.items() if h not in state.settled_claims},
                settled_claims=frozenset(),
            )
            self.states[state.contact_id] = replace(saved, seen=state.seen.copy(), claims={})
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

    def record_failure(self, contact_id: str, reason: str, at: datetime) -> None:
        self.failures[contact_id] = (reason, at)

    def _release(self, contact_id: str, lease: Lease) -> None:
        held = self.leases.get(contact_id)
        if held is not None and held.holder == lease.holder:
            del self.leases[contact_id]

    def forget(self, contact_id: str) -> None:
        self.claims.pop(contact_id, None)
        self.publishing.pop(contact_id, None)
        self.leases.pop(contact_id, None)
        self.states.pop(contact_id, None)
        self.not_found.pop(contact_id, None)
        self.failures.pop(contact_id, None)
        self._clear_deferral(contact_id)

    def _clear_deferral(self, contact_id: str) -> None:
        self.deferred.pop(contact_id, None)
        self.reconciling.pop(contact_id, None)
        self.deferred_asked.pop(contact_id, None)

    def defer(self, contact_id: str, until: datetime) -> None:
        self.reconciling.pop(contact_id, None)
        self.deferred[contact_id] = until
        self.deferred_asked[contact_id] = self.clock()

    def wait(self, contact_id: str, since: datetime) -> None:
        # A contact waiting for its reconciliation now waits like the others, from whichever
        # is earlier.
        waiting = self.deferred.get(contact_id) or self.reconciling.pop(contact_id, None)
        self.deferred[contact_id] = since if waiting is None else min(waiting, since)
        self.deferred_asked[contact_id] = self.clock()

    def due(self, now: datetime, limit: int) -> list[str]:
        return _longest_waiting(self.deferred, now, limit)

    def reconciliations(self, now: datetime, limit: int) -> list[str]:
        return _longest_waiting(self.reconciling, now, limit)

    def postpone(self, contact_ids: Sequence[str], until: datetime) -> None:
        # Only a deferral that has come due moves: one renewed since (a later reset) stays.
        now = self.clock()
        for contact_id in contact_ids:
            for kind in (self.deferred, self.reconciling):
                current = kind.get(contact_id)
                if current is not None and current <= now:
                    kind[contact_id] = until

    def stale(self, synced_before: datetime, limit: int) -> list[str]:
        if limit <= 0:
            return []
        stale = [
            c
            for c, state in self.states.items()
            if c not in self.not_found
            and c not in self.deferred
            and c not in self.reconciling
            and (state.last_sync_started_at is None or state.last_sync_started_at < synced_before)
        ]
        return sorted(stale)[:limit]

    def record_quota(self, snapshot: QuotaSnapshot) -> None:
        if self.quota is None or _newer_quota(snapshot, self.quota):
            self.quota = snapshot

    def load_quota(self) -> QuotaSnapshot | None:
        return self.quota

    # --- what a sync says of its publishing, and reads of the webhook claims -------------------

    def announce(
        self, contact_id: str, lease: Lease, activities: Sequence[Activity]
    ) -> dict[int, WebhookClaim]:
        with self._lock:
            held = self.leases.get(contact_id)
            if held is None or held.holder != lease.holder:
                raise StateConflict(f"contact {contact_id} is held by another sync now")
            hashes = {id_hash(activity.id) for activity in activities}
            self.publishing.setdefault(contact_id, set()).update(hashes)
            return dict(self.claims.get(contact_id, {}))

    def webhook_claims(self, contact_id: str) -> dict[int, WebhookClaim]:
        with self._lock:
            return dict(self.claims.get(contact_id, {}))

    # --- the webhook fast path's ledger (DynamoDbWebhookLedger) --------------------------------

    def look(self, contact_id: str) -> LedgerEntry:
        with self._lock:
            stored = self.states.get(contact_id)
            return LedgerEntry(
                version=stored.version if stored is not None else None,
                seen=stored.seen.copy() if stored is not None else None,
                claims=dict(self.claims.get(contact_id, {})),
                publishing=frozenset(self.publishing.get(contact_id, set())),
            )

    def claim(self, request: ClaimRequest) -> bool:
        contact_id, claim = request.contact_id, request.claim
        with self._lock:
            stored = self.states.get(contact_id)
            current = self.claims.get(contact_id, {}).get(claim.id_hash)
            if (
                (stored.version if stored is not None else None) != request.version
                or current != request.replacing
                or claim.id_hash in self.publishing.get(contact_id, set())
            ):
                return False
            self.claims.setdefault(contact_id, {})[claim.id_hash] = claim
            if contact_id not in self.deferred and contact_id not in self.reconciling:
                self.reconciling[contact_id] = request.reconcile_at
            self.deferred_asked[contact_id] = self.clock()
            return True

    def confirm(self, contact_id: str, claim: WebhookClaim) -> None:
        with self._lock:
            claims = self.claims.get(contact_id, {})
            if claims.get(claim.id_hash) == claim:
                claims[claim.id_hash] = replace(claim, published=True)

    def withdraw(self, contact_id: str, claim: WebhookClaim) -> None:
        with self._lock:
            claims = self.claims.get(contact_id, {})
            if claims.get(claim.id_hash) == claim:
                del claims[claim.id_hash]


def _newer_quota(new: QuotaSnapshot, stored: QuotaSnapshot) -> bool:
    """A newer window always wins; within a window the later observation, and on a tie the
    lower remaining count (DynamoDbDeferrals' condition)."""
    if new.resets_at != stored.resets_at:
        return new.resets_at > stored.resets_at
    if new.observed_at != stored.observed_at:
        return new.observed_at > stored.observed_at
    return new.remaining < stored.remaining


def _longest_waiting(waiting: dict[str, datetime], now: datetime, limit: int) -> list[str]:
    """The contacts due by `now`, the longest waiting first, at most `limit` of them."""
    if limit <= 0:
        return []
    due = sorted((until, contact_id) for contact_id, until in waiting.items() if until <= now)
    return [contact_id for _, contact_id in due[:limit]]
