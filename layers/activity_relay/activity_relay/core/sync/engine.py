"""What is new for a contact, read with the fewest requests, published oldest first.

The API lists a contact's activities newest first in offset pages, with no cursor and no
"since" filter, but with `meta.total`. Activities are append-only, so an offset page can
only drift towards later pages: reading pages in order never skips what existed when the
sync began, it can only show an activity twice (we de-duplicate by id).

A sync of a known contact reads what is new from the top (core/sync/discovery.py: ceil(k/100)
requests for k new, backdated ones found by a binary search over the fingerprint's buckets).
A new contact, or a burst of more than a page, is read from the end up in slices, each
published oldest first and checkpointed (core/sync/backfill.py); so is the history a first sync
under INITIAL_SYNC=none or a date left unread, should activities be logged into it later.

One sync of a contact runs at a time: it begins by taking the contact's lease in the state
store, with the same call that loads the state, and releases it with its checkpoint. A sync
that finds the lease held by another raises LeaseHeld, unless the holder began after the
request was made, which it then covers like any later sync.

No I/O here: the engine speaks to the world through core/sync/ports.py.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import Enum

from activity_relay.core.model import (
    ActivityEvent,
    Backfill,
    ContactNotFound,
    ContactState,
    InitialSync,
    QuotaExhausted,
    RateLimited,
)
from activity_relay.core.model.fingerprint import Fingerprint
from activity_relay.core.sync.backfill import BackfillReader, Progress
from activity_relay.core.sync.claims import PublishGate, settled_claims
from activity_relay.core.sync.discovery import Discovery, UnreadGrew, read_what_is_new
from activity_relay.core.sync.listing import Listing, Tally
from activity_relay.core.sync.ports import (
    ActivitySource,
    Covered,
    Lease,
    LeaseHeld,
    OutOfTime,
    Publisher,
    PublishFailed,
    StateStore,
)

logger = logging.getLogger(__name__)

# SQS stamps SentTimestamp with its clock, the sync's start comes from ours: allow for skew.
COALESCING_MARGIN = timedelta(seconds=1)
# A continuing sync checkpoints at least this often while its continuation is alive; past it,
# the chain is taken for broken (its message dead-lettered, say) and any message resumes it.
CHAIN_STALE_AFTER = timedelta(minutes=15)
# LeadLex's per-minute window has no headers: a continuation after a 429 waits a whole window.
RATE_LIMIT_PAUSE_SECONDS = 60
# The lease of a caller that names no deadline: Lambda's longest timeout.
DEFAULT_LEASE = timedelta(minutes=15)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SyncStatus(Enum):
    SYNCED = "synced"
    COALESCED = "coalesced"
    COVERED = "covered"  # a sync in flight began after the request: it covers it
    NOT_FOUND = "not_found"
    CONTINUED = "continued"  # checkpointed; the rest waits for a continuation message


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    contact_id: str
    status: SyncStatus
    published: int = 0
    requests: int = 0
    first_sync: bool = False
    continue_after: int = 0  # seconds before the continuation is delivered (CONTINUED)


@dataclass(eq=False, kw_only=True, slots=True)
class SyncEngine:
    source: ActivitySource
    store: StateStore
    publisher: Publisher
    initial_sync: InitialSync
    clock: Callable[[], datetime] = _utc_now
    pause: Callable[[float], None] = time.sleep

    def sync(
        self,
        contact_id: str,
        *,
        started_at: datetime,
        requested_at: datetime | None = None,
        continuation: bool = False,
        retried: bool = False,
        out_of_time: Callable[[], bool] = lambda: False,
        deadline: datetime | None = None,
        tally: Tally | None = None,
    ) -> SyncOutcome:
        """Publish every activity of `contact_id` not yet published, then checkpoint.

        A request made (`requested_at`) before the last successful sync started was covered
        by it and costs nothing; so is one made before a sync in flight began, and any
        message but the continuation while a sync of the contact is continuing — except one
        back from a failed invocation (`retried`), which may be all that is left of the sync —
        and a continuation whose sync another message completed. The contact's
        lease is held until `deadline` (the invocation's end) at the latest; LeaseHeld is
        raised when another sync holds it. A long read (a new contact, a burst) goes slice by
        slice, each published and checkpointed; when time or the per-minute limit runs out
        between two, the outcome is CONTINUED and the caller queues a continuation. Raises
        SourceError subclasses, StateConflict and PublishFailed for the caller to turn into a
        retry; what was delivered before a failure is checkpointed first. `tally` counts the
        requests sent as they go.
        """
        lease = Lease(
            holder=uuid.uuid4().hex,
            taken_at=started_at,
            # SQS's clock and ours may disagree by the margin; so may two containers'.
            expires_at=(deadline or started_at + DEFAULT_LEASE) + COALESCING_MARGIN,
        )
        # A continuation carries on a sync that nothing else covers, whenever it was sent.
        covered_after = (
            None if requested_at is None or continuation else requested_at + COALESCING_MARGIN
        )
        try:
            state = self.store.begin(contact_id, lease, covered_after=covered_after)
        except Covered:
            return SyncOutcome(contact_id, SyncStatus.COALESCED)
        except LeaseHeld as held:
            if covered_after is not None and held.lease.taken_at > covered_after:
                return SyncOutcome(contact_id, SyncStatus.COVERED)
            raise
        chain = None if state is None else state.backfill
        if chain is not None and not (continuation or retried or chain.parked):
            alive = started_at - chain.checkpointed_at < CHAIN_STALE_AFTER
            if alive:
                # Its continuation carries the sync on: this message has nothing to add.
                self._release(contact_id, lease)
                return SyncOutcome(contact_id, SyncStatus.COALESCED)
        if chain is None and state is not None and continuation:
            # Its sync was finished by another message, which started after it was queued.
            self._release(contact_id, lease)
            return SyncOutcome(contact_id, SyncStatus.COALESCED)
        listing = Listing(self.source, contact_id, out_of_time, tally or Tally())
        try:
            return self._sync_held(contact_id, state, listing, lease, started_at)
        except BaseException:
            # A checkpoint of what was delivered may have released it already: harmless.
            self._release(contact_id, lease)
            raise

    def _release(self, contact_id: str, lease: Lease) -> None:
        try:
            self.store.release(contact_id, lease)
        except Exception:
            # It expires by the deadline anyway: the failure that brought us here matters more.
            logger.warning("contact %s: could not release its lease", contact_id, exc_info=True)

    def _sync_held(
        self,
        contact_id: str,
        state: ContactState | None,
        listing: Listing,
        lease: Lease,
        started_at: datetime,
    ) -> SyncOutcome:
        try:
            return self._sync(listing, state, lease, started_at)
        except ContactNotFound:
            self.store.record_not_found(contact_id, started_at, lease)
            return SyncOutcome(contact_id, SyncStatus.NOT_FOUND, requests=listing.requests)

    def _sync(
        self, listing: Listing, state: ContactState | None, lease: Lease, started_at: datetime
    ) -> SyncOutcome:
        contact_id = listing.contact_id
        base = state or ContactState(contact_id=contact_id, seen=Fingerprint())
        backfill = base.backfill
        if state is None:
            backfill = Backfill(0, None, first_sync=True, checkpointed_at=started_at)
        first_sync = backfill is not None and backfill.first_sync
        progress = Progress()
        gate = PublishGate(self.store, contact_id, lease, clock=self.clock, pause=self.pause)
        reader = BackfillReader(
            listing=listing,
            store=self.store,
            publisher=self.publisher,
            initial_sync=self.initial_sync,
            started_at=started_at,
            progress=progress,
            gate=gate,
        )
        try:
            scanning = state is None or (backfill is not None and backfill.scanned_to is not None)
            if scanning and self.initial_sync.mode != "all":
                assert backfill is not None
                base, backfill = reader.scan_for_date(base, backfill)
            while True:
                if backfill is not None and backfill.unread_until is not None:
                    base = reader.read_unread(base, backfill)
                    backfill = base.backfill  # what arrived on top meanwhile
                    continue
                if backfill is not None:
                    base = reader.read_backwards(base, backfill)
                try:
                    discovery, burst = read_what_is_new(listing, base.seen)
                except UnreadGrew as grew:
                    base, backfill = reader.plan_unread_read(base, grew)
                    first_sync = False
                    continue
                if discovery is not None:
                    break
                # More new activities on top than one page: read them oldest first too.
                backfill = Backfill(base.seen.total, burst, False, checkpointed_at=started_at)
                first_sync = False
        except QuotaExhausted:
            self._park(state, progress, lease)
            raise
        except (OutOfTime, RateLimited) as stop:
            if (
                progress.unsaved is None
                and not progress.checkpoints
                and (state is None or state.backfill is None)
            ):
                raise  # nothing gained yet: the message itself comes back
            # The slices saved so far kept the lease; this invocation's last write gives it up.
            if progress.unsaved is not None:
                self.store.save(progress.unsaved, lease)
            else:
                self._release(contact_id, lease)
            logger.info(
                "contact %s continues later: %d published in %d slices this time (%s)",
                contact_id,
                progress.published,
                progress.checkpoints,
                type(stop).__name__,
            )
            return SyncOutcome(
                contact_id,
                SyncStatus.CONTINUED,
                published=progress.published,
                requests=listing.requests,
                first_sync=first_sync,
                continue_after=RATE_LIMIT_PAUSE_SECONDS if isinstance(stop, RateLimited) else 0,
            )

        new = sorted(discovery.new.values(), key=lambda a: a.order_key)
        events = [ActivityEvent(contact_id, activity) for activity in gate.to_publish(new)]
        try:
            self.publisher.publish(events)
        except PublishFailed as failure:
            self._checkpoint_delivered(base, discovery, events[: failure.delivered], lease)
            raise
        self.store.save(
            replace(
                base,
                seen=discovery.working,
                last_sync_started_at=started_at,
                backfill=None,
                settled_claims=settled_claims(dict(base.claims), gate),
            ),
            lease,
        )
        return SyncOutcome(
            contact_id,
            SyncStatus.SYNCED,
            published=progress.published + len(events),
            requests=listing.requests,
            first_sync=first_sync,
        )

    def _park(self, state: ContactState | None, progress: Progress, lease: Lease) -> None:
        """The daily quota ran out under a sync that reads from the end: keep how far it got
        and mark it parked, since no continuation carries it on (the contact is deferred), so
        that the sweep's message after the reset resumes it however soon that comes."""
        latest = progress.unsaved or progress.saved or state
        if latest is None or latest.backfill is None:
            return  # nothing under way: the deferred contact's next sync starts afresh
        self.store.save(replace(latest, backfill=replace(latest.backfill, parked=True)), lease)

    def _checkpoint_delivered(
        self,
        base: ContactState,
        discovery: Discovery,
        delivered: list[ActivityEvent],
        lease: Lease,
    ) -> None:
        if discovery.rebuilt or not delivered:
            # A rebuilt bucket cannot be split into delivered and not: redo the whole sync.
            return
        seen = base.seen.copy()
        seen.add_all((event.activity.id, event.activity.created_micros) for event in delivered)
        self.store.save(replace(base, seen=seen), lease)
