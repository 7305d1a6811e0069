"""What is new for a known contact: read from the top, and searched for below it.

A sync of a known contact reads pages from the top while they hold only new activities, and
stops as soon as what it found accounts for the growth of `meta.total`. Steady state with k new
activities costs ceil(k/100) requests, at least one, whatever the history. Growth that the top
does not account for is an activity dated below ones already published (a backdated
`created_date`, or one under a future-dated activity): the fingerprint's bucket counts locate it
by binary search over positions, and its sketch names it. Growth below everything named, where
a first sync left history unread, raises UnreadGrew for the engine to read that history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate

from activity_relay.core.model import Activity, MalformedResponse
from activity_relay.core.model.fingerprint import (
    Fingerprint,
    SketchMismatch,
    SketchOverflow,
    id_hash,
)
from activity_relay.core.sync.listing import Drift, Listing
from activity_relay.core.sync.ports import ListingChanged

logger = logging.getLogger(__name__)

MAX_SEARCH_RESTARTS = 2


class UnreadGrew(Exception):
    """Activities were logged into the history a first sync left unread: it now holds `count`."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


@dataclass
class Discovery:
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


def read_what_is_new(
    listing: Listing, seen: Fingerprint
) -> tuple[Discovery, None] | tuple[None, int]:
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

    discovery = Discovery(working=seen.copy())
    discovery.account(on_top.values())
    restarts = 0
    while listing.total is not None and discovery.working.total < listing.total:
        try:
            _search_below_head(listing, discovery)
        except Drift:
            restarts += 1
            if restarts > MAX_SEARCH_RESTARTS:
                raise ListingChanged(
                    "the list kept changing while searching it for backdated activities"
                ) from None
    return discovery, None


def _search_below_head(listing: Listing, discovery: Discovery) -> None:
    """Find the activities that the fingerprint does not account for, one bucket at a time.

    Position arithmetic: the list holds, at or above bucket i's floor, the accounted
    activities of buckets 0..i (cumulative count C_i) plus any unaccounted ones. So the
    activity at position C_i is older than the floor exactly when bucket i and all newer
    ones are complete — a monotone predicate to binary-search on.
    """
    working = discovery.working
    assert listing.total is not None
    while working.total < listing.total:
        index, start = _first_incomplete_bucket(listing, working)
        if index == len(working.buckets):
            if working.unread:
                raise UnreadGrew(working.unread + listing.total - working.total)
            # Older than everything accounted for: all of it is new.
            discovery.account(listing.stable_range(start, stop_below=None))
        else:
            _settle_bucket(listing, discovery, index, start)


def _first_incomplete_bucket(listing: Listing, working: Fingerprint) -> tuple[int, int]:
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


def _settle_bucket(listing: Listing, discovery: Discovery, index: int, start: int) -> None:
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
