"""What is new for a contact, read with the fewest requests, published oldest first.

The API lists a contact's activities newest first in offset pages, with no cursor and no
"since" filter, but with `meta.total`. Activities are append-only, so an offset page can
only drift towards later pages: reading pages in order never skips what existed when the
sync began, it can only show an activity twice (we de-duplicate by id).

A sync of a known contact reads pages from the top while they hold only new activities,
and stops as soon as what it found accounts for the growth of `meta.total`. Steady state
with k new activities costs ceil(k/100) requests, at least one, whatever the history. Growth
that the top does not account for is an activity dated below ones already published
(a backdated `created_date`, or one under a future-dated activity): the fingerprint's bucket
counts locate it by binary search over positions, and its sketch names it.

A first sync under INITIAL_SYNC=none or a date reads from the top only down to the first page
holding an activity it excludes, and leaves what lies below unread, counted but not named (one
request for `none`). Should the total later show an activity logged into that unread part, its
ids cannot be told from the rest (LeadLex ids are opaque), so the part is read once, oldest
first, and all of it is published: completeness over the exclusion.

One sync of a contact runs at a time: it begins by taking the contact's lease in the state
store, with the same call that loads the state, and releases it with its checkpoint. A sync
that finds the lease held by another raises LeaseHeld, unless the holder began after the
request was made, which it then covers like any later sync.

No I/O here: the engine speaks to the world through ports.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from itertools import accumulate

from activity_relay.core.fingerprint import Fingerprint, SketchMismatch, SketchOverflow, id_hash
from activity_relay.core.model import (
    Activity,
    ActivityEvent,
    ActivityPage,
    Backfill,
    ContactState,
    InitialSync,
)
from activity_relay.core.ports import (
    ActivitySource,
    ContactNotFound,
    Covered,
    Lease,
    LeaseHeld,
    ListingChanged,
    MalformedResponse,
    OutOfTime,
    Publisher,
    PublishFailed,
    RateLimited,
    SourceError,
    StateStore,
)

logger = logging.getLogger(__name__)

MAX_SEARCH_RESTARTS = 2
# SQS stamps SentTimestamp with its clock, the sync's start comes from ours: allow for skew.
COALESCING_MARGIN = timedelta(seconds=1)
# A continuing sync checkpoints at least this often while its continuation is alive; past it,
# the chain is taken for broken (its message dead-lettered, say) and any message resumes it.
CHAIN_STALE_AFTER = timedelta(minutes=15)
# LeadLex's per-minute window has no headers: a continuation after a 429 waits a whole window.
RATE_LIMIT_PAUSE_SECONDS = 60
# The lease of a caller that names no deadline: Lambda's longest timeout.
DEFAULT_LEASE = timedelta(minutes=15)


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


@dataclass
class _Progress:
    """What a continuing sync got done in this invocation."""

    checkpoints: int = 0
    published: int = 0
    # The last slice's checkpoint, held back for the sync's final save (one write fewer).
    unsaved: ContactState | None = None


def _everything(_: Activity) -> bool:
    return True


def _accounted(seen: Fingerprint, activity: Activity) -> bool:
    """For an activity at or above what a backwards read has reached: already accounted for?
    Everything accounted lies at or below the head, and what is near it is named exactly."""
    if seen.recent_floor is not None and activity.created_micros < seen.recent_floor:
        return True  # named in a bucket, or counted in the unread history
    if seen.head is None or activity.created_micros > seen.head:
        return False
    return seen.is_recent(activity.id)


@dataclass
class Tally:
    """What one sync has spent so far, for its caller to report even when the sync fails."""

    requests: int = 0


class _Drift(Exception):
    """The list's total changed between two reads of one search."""


class _UnreadGrew(Exception):
    """Activities were logged into the history a first sync left unread: it now holds `count`."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


@dataclass
class _Listing:
    """One contact's list as this sync reads it: pages cached while the total holds still."""

    source: ActivitySource
    contact_id: str
    out_of_time: Callable[[], bool]
    tally: Tally = field(default_factory=Tally)
    total: int | None = None
    pages: dict[int, ActivityPage] = field(default_factory=dict)

    @property
    def page_size(self) -> int:
        return self.source.page_size

    @property
    def requests(self) -> int:
        return self.tally.requests

    def fetch(self, number: int) -> ActivityPage:
        if self.out_of_time():
            raise OutOfTime(
                f"stopped before page {number}: the invocation is running out of time", requests=0
            )
        try:
            page = self.source.fetch_page(self.contact_id, number)
        except SourceError as failure:
            # A 404, a 5xx, a timeout: each request sent spent quota all the same.
            self.tally.requests += failure.requests
            raise
        self.tally.requests += page.requests
        if page.total != self.total:
            self.pages.clear()
            self.total = page.total
        self.pages[number] = page
        return page

    def page(self, number: int) -> ActivityPage:
        """Page `number` as cached at the current total, else as the API answers now."""
        cached = self.pages.get(number)
        return cached if cached is not None else self.fetch(number)

    def forget(self, number: int) -> None:
        """Drop a page no longer needed, so that a long read keeps one slice in memory."""
        self.pages.pop(number, None)

    def stable_page(self, number: int) -> ActivityPage:
        """Page `number` of the list as it stands at the current total; _Drift if it moved."""
        cached = self.pages.get(number)
        if cached is not None:
            return cached
        before = self.total
        page = self.fetch(number)
        if page.total != before:
            raise _Drift
        return page

    def stable_item(self, position: int) -> Activity:
        page = self.stable_page(position // self.page_size + 1)
        index = position % self.page_size
        if index >= len(page.activities):
            raise MalformedResponse(
                f"page {page.number} has {len(page.activities)} activities of {page.total}"
            )
        return page.activities[index]

    def stable_range(self, start: int, stop_below: int | None) -> list[Activity]:
        """Activities from position `start` on, until one older than `stop_below` or the end."""
        found: list[Activity] = []
        position = start
        while self.total is not None and position < self.total:
            page = self.stable_page(position // self.page_size + 1)
            for activity in page.activities[position % self.page_size :]:
                if stop_below is not None and activity.created_micros < stop_below:
                    return found
                found.append(activity)
            position = page.number * self.page_size
        return found


@dataclass
class _Discovery:
    """What one sync found: new activities, and the fingerprint including them."""

    working: Fingerprint
    new: dict[str, Activity] = field(default_factory=dict)
    rebuilt: bool = False

    def account(self, activities: Iterable[Activity]) -> None:
        fresh = [a for a in activities if a.id not in self.new]
        self.new.update((a.id, a) for a in fresh)
        self.working.add_all((a.id, a.created_micros) for a in fresh)

    def rebuild_bucket(self, index: int, members: list[Activity]) -> None:
        self.working.clear_bucket(index)
        self.working.add_all((a.id, a.created_micros) for a in members)
        self.new.update((a.id, a) for a in members)
        self.rebuilt = True


class SyncEngine:
    def __init__(
        self,
        *,
        source: ActivitySource,
        store: StateStore,
        publisher: Publisher,
        initial_sync: InitialSync,
    ) -> None:
        self._source = source
        self._store = store
        self._publisher = publisher
        self._initial_sync = initial_sync

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
            state = self._store.begin(contact_id, lease, covered_after=covered_after)
        except Covered:
            return SyncOutcome(contact_id, SyncStatus.COALESCED)
        except LeaseHeld as held:
            if covered_after is not None and held.lease.taken_at > covered_after:
                return SyncOutcome(contact_id, SyncStatus.COVERED)
            raise
        chain = None if state is None else state.backfill
        if chain is not None and not (continuation or retried):
            alive = started_at - chain.checkpointed_at < CHAIN_STALE_AFTER
            if alive:
                # Its continuation carries the sync on: this message has nothing to add.
                self._release(contact_id, lease)
                return SyncOutcome(contact_id, SyncStatus.COALESCED)
        if chain is None and state is not None and continuation:
            # Its sync was finished by another message, which started after it was queued.
            self._release(contact_id, lease)
            return SyncOutcome(contact_id, SyncStatus.COALESCED)
        listing = _Listing(self._source, contact_id, out_of_time, tally or Tally())
        try:
            return self._sync_held(contact_id, state, listing, lease, started_at)
        except BaseException:
            # A checkpoint of what was delivered may have released it already: harmless.
            self._release(contact_id, lease)
            raise

    def _release(self, contact_id: str, lease: Lease) -> None:
        try:
            self._store.release(contact_id, lease)
        except Exception:
            # It expires by the deadline anyway: the failure that brought us here matters more.
            logger.warning("contact %s: could not release its lease", contact_id, exc_info=True)

    def _sync_held(
        self,
        contact_id: str,
        state: ContactState | None,
        listing: _Listing,
        lease: Lease,
        started_at: datetime,
    ) -> SyncOutcome:
        try:
            return self._sync(listing, state, lease, started_at)
        except ContactNotFound:
            self._store.record_not_found(contact_id, started_at, lease)
            return SyncOutcome(contact_id, SyncStatus.NOT_FOUND, requests=listing.requests)

    def _sync(
        self, listing: _Listing, state: ContactState | None, lease: Lease, started_at: datetime
    ) -> SyncOutcome:
        contact_id = listing.contact_id
        base = state or ContactState(contact_id=contact_id, seen=Fingerprint())
        backfill = base.backfill
        if state is None:
            backfill = Backfill(0, None, first_sync=True, checkpointed_at=started_at)
        first_sync = backfill is not None and backfill.first_sync
        progress = _Progress()
        try:
            scanning = state is None or (backfill is not None and backfill.scanned_to is not None)
            if scanning and self._initial_sync.mode != "all":
                assert backfill is not None
                base, backfill = self._scan_for_date(listing, base, backfill, progress)
            while True:
                if backfill is not None and backfill.unread_until is not None:
                    base = self._read_unread(listing, base, backfill, started_at, progress)
                    backfill = base.backfill  # what arrived on top meanwhile
                    continue
                if backfill is not None:
                    base = self._read_backwards(listing, base, backfill, started_at, progress)
                try:
                    discovery, burst = self._read_what_is_new(listing, base.seen)
                except _UnreadGrew as grew:
                    base, backfill = self._plan_unread_read(
                        listing, base, grew, started_at, progress
                    )
                    first_sync = False
                    continue
                if discovery is not None:
                    break
                # More new activities on top than one page: read them oldest first too.
                backfill = Backfill(base.seen.total, burst, False, checkpointed_at=started_at)
                first_sync = False
        except (OutOfTime, RateLimited) as stop:
            if (
                progress.unsaved is None
                and not progress.checkpoints
                and (state is None or state.backfill is None)
            ):
                raise  # nothing gained yet: the message itself comes back
            # The slices saved so far kept the lease; this invocation's last write gives it up.
            if progress.unsaved is not None:
                self._store.save(progress.unsaved, lease)
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

        events = [
            ActivityEvent(contact_id, activity)
            for activity in sorted(discovery.new.values(), key=lambda a: a.order_key)
        ]
        try:
            self._publisher.publish(events)
        except PublishFailed as failure:
            self._checkpoint_delivered(base, discovery, events[: failure.delivered], lease)
            raise
        self._store.save(
            replace(base, seen=discovery.working, last_sync_started_at=started_at, backfill=None),
            lease,
        )
        return SyncOutcome(
            contact_id,
            SyncStatus.SYNCED,
            published=progress.published + len(events),
            requests=listing.requests,
            first_sync=first_sync,
        )

    def _scan_for_date(
        self, listing: _Listing, base: ContactState, backfill: Backfill, progress: _Progress
    ) -> tuple[ContactState, Backfill]:
        """A first sync under INITIAL_SYNC=none or a date: read down from the top to the first
        page holding an activity that INITIAL_SYNC excludes, or to the end.

        What was read is indexed (the excluded activities named, the rest published by the
        backwards read that follows, from the pages cached here); what lies below that page is
        left unread. An activity dated like the oldest one read may lie on either side of the
        page boundary, so those are counted with the unread part. Stopped before it finds the
        page, the scan checkpoints how far down it got; the pages above are read again later.
        """
        publishes = self._initial_sync.publishes
        scanned_to, total = backfill.scanned_to, backfill.total
        while True:
            if scanned_to is None:
                page = listing.page(1)
            else:
                found = self._page_above(listing, scanned_to - 1, total)
                assert found is not None  # the scanned part lies above position 0
                page = found
            below = max(0, page.total - page.number * listing.page_size)
            excluded = [a for a in page.activities if not publishes(a)]
            if excluded or below == 0:
                break
            scanned_to, total = below, page.total
            progress.unsaved = replace(
                base, backfill=replace(backfill, total=total, scanned_to=scanned_to)
            )
        seen = base.seen.copy()
        if below and excluded:
            through = min(a.created_micros for a in excluded)
            seen.add_all((a.id, a.created_micros) for a in excluded if a.created_micros > through)
            ties = sum(1 for a in page.activities if a.created_micros == through)
            seen.leave_unread(below + ties, through)
        else:
            seen.add_all((a.id, a.created_micros) for a in excluded)
        backfill = Backfill(
            below, page.total, first_sync=True, checkpointed_at=backfill.checkpointed_at
        )
        base = replace(base, seen=seen, backfill=backfill)
        progress.unsaved = base
        return base, backfill

    def _plan_unread_read(
        self,
        listing: _Listing,
        base: ContactState,
        grew: _UnreadGrew,
        started_at: datetime,
        progress: _Progress,
    ) -> tuple[ContactState, Backfill]:
        unread = base.seen.unread
        logger.warning(
            "contact %s: %d activities were logged into the %d that INITIAL_SYNC left unread; "
            "LeadLex ids cannot tell them apart, so all %d are read and published once",
            listing.contact_id,
            grew.count - unread,
            unread,
            grew.count,
        )
        backfill = Backfill(
            0,
            listing.total,
            first_sync=False,
            checkpointed_at=started_at,
            unread_until=grew.count,
            unread_seen=Fingerprint(),
        )
        progress.unsaved = replace(base, backfill=backfill)  # should it stop before a slice
        return base, backfill

    def _read_unread(
        self,
        listing: _Listing,
        base: ContactState,
        backfill: Backfill,
        started_at: datetime,
        progress: _Progress,
    ) -> ContactState:
        """Read the history a first sync left unread, from the end up, publishing all of it
        slice by slice; once read, it joins the fingerprint as named history. What arrived on
        top meanwhile is left to a backwards read from there."""
        assert backfill.unread_until is not None
        assert backfill.unread_seen is not None
        through = base.seen.unread_through
        assert through is not None
        until = backfill.unread_until
        read_from_end, total = backfill.read_from_end, backfill.total
        read = backfill.unread_seen.copy()
        size = listing.page_size
        while read_from_end < until:
            page = self._page_above(listing, read_from_end, total)
            if page is None:
                break
            top = page.total - (page.number - 1) * size  # the page's upper edge, from the end
            fresh = [
                activity
                for index, activity in enumerate(page.activities)
                if read_from_end <= top - 1 - index < until and activity.created_micros <= through
            ]
            events = [
                ActivityEvent(listing.contact_id, a)
                for a in sorted(fresh, key=lambda a: a.order_key)
            ]
            self._publisher.publish(events)  # a failure re-publishes this slice, no more
            read.add_all((a.id, a.created_micros) for a in fresh)
            read_from_end, total = min(top, until), page.total
            base = self._store.save(
                replace(
                    base,
                    backfill=replace(
                        backfill,
                        read_from_end=read_from_end,
                        total=total,
                        checkpointed_at=started_at,
                        unread_seen=read.copy(),
                    ),
                )
            )
            progress.checkpoints += 1
            progress.published += len(events)
            progress.unsaved = None
            listing.forget(page.number)
        seen = base.seen.copy()
        seen.absorb_unread(read)
        rest = Backfill(seen.total, total, first_sync=False, checkpointed_at=started_at)
        return self._store.save(replace(base, seen=seen, backfill=rest))

    def _read_backwards(
        self,
        listing: _Listing,
        base: ContactState,
        backfill: Backfill,
        started_at: datetime,
        progress: _Progress,
    ) -> ContactState:
        """Read from `backfill`'s position up to the top, one page (a slice) at a time: each
        slice is published oldest first and checkpointed before the next is requested.

        An activity above the position is newer than (or as new as) everything accounted for,
        so the fingerprint's head and recent window tell the unread from what was read again
        because the pages moved. One logged meanwhile inside the part already read is left to
        the total accounting that follows.
        """
        read_from_end, total = backfill.read_from_end, backfill.total
        while True:
            page = self._page_above(listing, read_from_end, total)
            if page is None:
                return base
            seen = base.seen.copy()
            fresh = [a for a in page.activities if not _accounted(seen, a)]
            publish = self._initial_sync.publishes if backfill.first_sync else _everything
            excluded = [a for a in fresh if not publish(a)]
            events = [
                ActivityEvent(listing.contact_id, a)
                for a in sorted((a for a in fresh if publish(a)), key=lambda a: a.order_key)
            ]
            try:
                self._publisher.publish(events)
            except PublishFailed as failure:
                delivered = [event.activity for event in events[: failure.delivered]]
                seen.add_all((a.id, a.created_micros) for a in [*excluded, *delivered])
                self._store.save(replace(base, seen=seen))
                raise
            seen.add_all((a.id, a.created_micros) for a in fresh)
            read_from_end = page.total - (page.number - 1) * listing.page_size
            total = page.total
            base = replace(
                base,
                seen=seen,
                backfill=replace(
                    backfill,
                    read_from_end=read_from_end,
                    total=total,
                    checkpointed_at=started_at,
                ),
            )
            progress.checkpoints += 1
            progress.published += len(events)
            if page.number == 1:
                # The sync's last save follows at once; should it stop first, _sync saves this.
                progress.unsaved = base
                return base
            base = self._store.save(base)
            progress.unsaved = None
            listing.forget(page.number)

    @staticmethod
    def _page_above(
        listing: _Listing, read_from_end: int, total: int | None
    ) -> ActivityPage | None:
        """The page holding the newest activity not yet read, or None when all was read as
        far as `total` knows (what arrived since is new on top for the total accounting)."""
        if total is None:
            total = listing.page(1).total
        while True:
            unread = total - read_from_end
            if unread <= 0:
                return None
            number = (unread - 1) // listing.page_size + 1
            page = listing.page(number)
            if page.total < read_from_end:
                raise MalformedResponse(
                    f"the list shrank to {page.total} activities below the {read_from_end} read"
                )
            if (page.total - read_from_end - 1) // listing.page_size + 1 == number:
                return page
            total = page.total  # it grew meanwhile: the boundary moved to another page

    def _checkpoint_delivered(
        self,
        base: ContactState,
        discovery: _Discovery,
        delivered: list[ActivityEvent],
        lease: Lease,
    ) -> None:
        if discovery.rebuilt or not delivered:
            # A rebuilt bucket cannot be split into delivered and not: redo the whole sync.
            return
        seen = base.seen.copy()
        seen.add_all((event.activity.id, event.activity.created_micros) for event in delivered)
        self._store.save(replace(base, seen=seen), lease)

    def _read_what_is_new(
        self, listing: _Listing, seen: Fingerprint
    ) -> tuple[_Discovery, None] | tuple[None, int]:
        """What is new since `seen`; or, when page 1 alone is new and more follows (a burst),
        None and the total, for the caller to read the burst oldest first instead."""
        recent_floor = seen.recent_floor
        known = seen.total
        on_top: dict[str, Activity] = {}
        number = 1
        while True:
            page = listing.page(number)  # page 1 may be cached by a backwards read's end
            if page.total < known:
                raise MalformedResponse(
                    f"the list shrank from {known} to {page.total} activities; "
                    "activities are expected to be append-only"
                )
            all_new = True
            for activity in page.activities:
                if (
                    recent_floor is not None and activity.created_micros < recent_floor
                ) or seen.is_recent(activity.id):
                    all_new = False
                else:
                    on_top[activity.id] = activity
            accounted_for = len(on_top) == page.total - known
            at_end = number * listing.page_size >= page.total
            if accounted_for or at_end or not all_new:
                break
            if number == 1:
                return None, page.total
            number += 1

        discovery = _Discovery(working=seen.copy())
        discovery.account(on_top.values())
        restarts = 0
        while listing.total is not None and discovery.working.total < listing.total:
            try:
                self._search_below_head(listing, discovery)
            except _Drift:
                restarts += 1
                if restarts > MAX_SEARCH_RESTARTS:
                    raise ListingChanged(
                        "the list kept changing while searching it for backdated activities"
                    ) from None
        return discovery, None

    def _search_below_head(self, listing: _Listing, discovery: _Discovery) -> None:
        """Find the activities that the fingerprint does not account for, one bucket at a time.

        Position arithmetic: the list holds, at or above bucket i's floor, the accounted
        activities of buckets 0..i (cumulative count C_i) plus any unaccounted ones. So the
        activity at position C_i is older than the floor exactly when bucket i and all newer
        ones are complete — a monotone predicate to binary-search on.
        """
        working = discovery.working
        assert listing.total is not None
        while working.total < listing.total:
            index, start = self._first_incomplete_bucket(listing, working)
            if index == len(working.buckets):
                if working.unread:
                    raise _UnreadGrew(working.unread + listing.total - working.total)
                # Older than everything accounted for: all of it is new.
                discovery.account(listing.stable_range(start, stop_below=None))
            else:
                self._settle_bucket(listing, discovery, index, start)

    @staticmethod
    def _first_incomplete_bucket(listing: _Listing, working: Fingerprint) -> tuple[int, int]:
        """The newest bucket with unaccounted members (len(buckets) for "older than all"),
        and the list position where its members begin."""
        assert listing.total is not None
        total = listing.total
        cumulative = list(accumulate(bucket.count for bucket in working.buckets))

        def complete_through(index: int) -> bool:
            if cumulative[index] >= total:
                return True
            item = listing.stable_item(cumulative[index])
            return item.created_micros < working.buckets[index].floor

        low, high = 0, len(working.buckets)
        while low < high:
            middle = (low + high) // 2
            if complete_through(middle):
                low = middle + 1
            else:
                high = middle
        return low, cumulative[low - 1] if low > 0 else 0

    def _settle_bucket(
        self, listing: _Listing, discovery: _Discovery, index: int, start: int
    ) -> None:
        bucket = discovery.working.buckets[index]
        members = listing.stable_range(start, stop_below=bucket.floor)
        by_id = {a.id: a for a in members}
        try:
            missing = bucket.missing([(id_hash(a.id), a.id) for a in by_id.values()])
        except (SketchOverflow, SketchMismatch) as problem:
            # Completeness over duplicates: account for the range afresh and publish all of
            # it again (same event ids, so consumers can de-duplicate).
            logger.warning(
                "re-publishing %d activities of contact %s in one date range: %s",
                len(by_id),
                listing.contact_id,
                problem,
            )
            discovery.rebuild_bucket(index, list(by_id.values()))
            return
        discovery.account(by_id[activity_id] for activity_id in missing)
