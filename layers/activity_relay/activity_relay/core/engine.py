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

No I/O here: the engine speaks to the world through ports.py.
"""

from __future__ import annotations

import logging
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
    ContactState,
    InitialSync,
)
from activity_relay.core.ports import (
    ActivitySource,
    ContactNotFound,
    ListingChanged,
    MalformedResponse,
    OutOfTime,
    Publisher,
    PublishFailed,
    StateStore,
)

logger = logging.getLogger(__name__)

MAX_SEARCH_RESTARTS = 2
# SQS stamps SentTimestamp with its clock, the sync's start comes from ours: allow for skew.
COALESCING_MARGIN = timedelta(seconds=1)


class SyncStatus(Enum):
    SYNCED = "synced"
    COALESCED = "coalesced"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    contact_id: str
    status: SyncStatus
    published: int = 0
    requests: int = 0
    first_sync: bool = False


class _Drift(Exception):
    """The list's total changed between two reads of one search."""


@dataclass
class _Listing:
    """One contact's list as this sync reads it: pages cached while the total holds still."""

    source: ActivitySource
    contact_id: str
    out_of_time: Callable[[], bool]
    requests: int = 0
    total: int | None = None
    pages: dict[int, ActivityPage] = field(default_factory=dict)

    @property
    def page_size(self) -> int:
        return self.source.page_size

    def fetch(self, number: int) -> ActivityPage:
        if self.out_of_time():
            raise OutOfTime(f"stopped before page {number}: the invocation is running out of time")
        page = self.source.fetch_page(self.contact_id, number)
        self.requests += 1
        if page.total != self.total:
            self.pages.clear()
            self.total = page.total
        self.pages[number] = page
        return page

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
    excluded: list[Activity] = field(default_factory=list)
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
        out_of_time: Callable[[], bool] = lambda: False,
    ) -> SyncOutcome:
        """Publish every activity of `contact_id` not yet published, then checkpoint.

        A request made (`requested_at`) before the last successful sync started was covered
        by it and costs nothing. Raises SourceError subclasses, StateConflict and
        PublishFailed for the caller to turn into a retry; what was delivered before a
        failure is checkpointed first.
        """
        state = self._store.load(contact_id)
        if (
            state is not None
            and state.last_sync_started_at is not None
            and requested_at is not None
            and requested_at < state.last_sync_started_at - COALESCING_MARGIN
        ):
            return SyncOutcome(contact_id, SyncStatus.COALESCED)
        listing = _Listing(self._source, contact_id, out_of_time)
        try:
            if state is None:
                discovery = self._read_everything(listing)
            else:
                discovery = self._read_what_is_new(listing, state.seen)
        except ContactNotFound:
            self._store.record_not_found(contact_id, started_at)
            return SyncOutcome(contact_id, SyncStatus.NOT_FOUND, requests=listing.requests)

        events = [
            ActivityEvent(contact_id, activity)
            for activity in sorted(discovery.new.values(), key=lambda a: a.order_key)
        ]
        base = state or ContactState(contact_id=contact_id, seen=Fingerprint())
        try:
            self._publisher.publish(events)
        except PublishFailed as failure:
            self._checkpoint_delivered(base, discovery, events[: failure.delivered])
            raise
        self._store.save(replace(base, seen=discovery.working, last_sync_started_at=started_at))
        return SyncOutcome(
            contact_id,
            SyncStatus.SYNCED,
            published=len(events),
            requests=listing.requests,
            first_sync=state is None,
        )

    def _checkpoint_delivered(
        self, base: ContactState, discovery: _Discovery, delivered: list[ActivityEvent]
    ) -> None:
        if discovery.rebuilt or not (delivered or discovery.excluded):
            # A rebuilt bucket cannot be split into delivered and not: redo the whole sync.
            return
        seen = base.seen.copy()
        seen.add_all(
            (a.id, a.created_micros)
            for a in [*discovery.excluded, *(event.activity for event in delivered)]
        )
        self._store.save(replace(base, seen=seen))

    def _read_everything(self, listing: _Listing) -> _Discovery:
        """First sync: the whole list, once, so later backdated activities can be named."""
        everything: dict[str, Activity] = {}
        number = 1
        while True:
            page = listing.fetch(number)
            everything.update((a.id, a) for a in page.activities)
            if number * listing.page_size >= page.total:
                break
            number += 1
        discovery = _Discovery(working=Fingerprint())
        discovery.excluded = [a for a in everything.values() if not self._initial_sync.publishes(a)]
        discovery.working.add_all((a.id, a.created_micros) for a in discovery.excluded)
        discovery.account(a for a in everything.values() if self._initial_sync.publishes(a))
        return discovery

    def _read_what_is_new(self, listing: _Listing, seen: Fingerprint) -> _Discovery:
        recent_floor = seen.recent_floor
        known = seen.total
        on_top: dict[str, Activity] = {}
        number = 1
        while True:
            page = listing.fetch(number)
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
        return discovery

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
