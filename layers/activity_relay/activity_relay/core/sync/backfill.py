"""Reading a contact's list from its oldest end up, slice by slice.

A new contact's history, a burst of more than a page on top, and the history a first sync left
unread are all read so: one page at a time (a slice), oldest page first, each slice's fresh
activities published oldest first and then checkpointed with the position reached, counted
from the list's end (core/sync/listing.py), which activities logged at the top do not move. A
sync can thus stop between any two slices and continue in a later invocation, reading nothing
twice (CONTRACT.md, Size); a failure publishes at most one slice again.

A first sync under INITIAL_SYNC=none or a date first scans down from the top to the first page
holding an activity it excludes; what lies below is left unread, counted but not named. Should
the total later show an activity logged into that unread part, its ids cannot be told from the
rest (LeadLex ids are opaque), so the part is read once, oldest first, and all of it published.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from activity_relay.core.model import (
    Activity,
    ActivityEvent,
    ActivityPage,
    Backfill,
    ContactState,
    Fingerprint,
    InitialSync,
)
from activity_relay.core.sync.claims import PublishGate
from activity_relay.core.sync.discovery import UnreadGrew
from activity_relay.core.sync.listing import Listing
from activity_relay.core.sync.ports import Publisher, PublishFailed, StateStore

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """What a continuing sync got done in this invocation."""

    checkpoints: int = 0
    published: int = 0
    # The last slice's checkpoint, held back for the sync's final save (one write fewer).
    unsaved: ContactState | None = None
    # The state as last saved, to park the sync at if the daily quota runs out.
    saved: ContactState | None = None


@dataclass(frozen=True, slots=True)
class _Slice:
    page: ActivityPage
    start: int  # the position (from the end) read up to before this slice
    top: int  # the page's upper edge, from the end
    end: int  # the position read up to once this slice is checkpointed


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


def _ids(activities: Iterable[Activity]) -> Iterator[tuple[str, int]]:
    return ((a.id, a.created_micros) for a in activities)


@dataclass(eq=False, kw_only=True, slots=True)
class BackfillReader:
    """One invocation's reading of one contact's list from the end up."""

    listing: Listing
    store: StateStore
    publisher: Publisher
    initial_sync: InitialSync
    started_at: datetime
    progress: Progress
    gate: PublishGate

    def scan_for_date(
        self, base: ContactState, backfill: Backfill
    ) -> tuple[ContactState, Backfill]:
        """A first sync under INITIAL_SYNC=none or a date: read down from the top to the first
        page holding an activity that INITIAL_SYNC excludes, or to the end.

        What was read is indexed (the excluded activities named, the rest published by the
        backwards read that follows, from the pages cached here); what lies below that page is
        left unread. An activity dated like the oldest one read may lie on either side of the
        page boundary, so those are counted with the unread part. Stopped before it finds the
        page, the scan checkpoints how far down it got; the pages above are read again later.
        """
        listing, publishes = self.listing, self.initial_sync.publishes
        scanned_to, total = backfill.scanned_to, backfill.total
        while True:
            if scanned_to is None:
                page = listing.page(1)
            else:
                found = listing.page_above(scanned_to - 1, total)
                assert found is not None  # the scanned part lies above position 0
                page = found
            below = max(0, page.total - page.number * listing.page_size)
            excluded = [a for a in page.activities if not publishes(a)]
            if excluded or below == 0:
                break
            scanned_to, total = below, page.total
            self.progress.unsaved = replace(
                base, backfill=replace(backfill, total=total, scanned_to=scanned_to)
            )
        seen = base.seen.copy()
        if below and excluded:
            through = min(a.created_micros for a in excluded)
            seen.add_all(_ids(a for a in excluded if a.created_micros > through))
            ties = sum(1 for a in page.activities if a.created_micros == through)
            seen.leave_unread(below + ties, through)
        else:
            seen.add_all(_ids(excluded))
        backfill = Backfill(
            below, page.total, first_sync=True, checkpointed_at=backfill.checkpointed_at
        )
        base = replace(base, seen=seen, backfill=backfill)
        self.progress.unsaved = base
        return base, backfill

    def plan_unread_read(
        self, base: ContactState, grew: UnreadGrew
    ) -> tuple[ContactState, Backfill]:
        """Activities were logged into the history a first sync left unread: read all of it."""
        unread = base.seen.unread
        logger.warning(
            "contact %s: %d activities were logged into the %d that INITIAL_SYNC left unread; "
            "LeadLex ids cannot tell them apart, so all %d are read and published once",
            self.listing.contact_id,
            grew.count - unread,
            unread,
            grew.count,
        )
        backfill = Backfill(
            0,
            self.listing.total,
            first_sync=False,
            checkpointed_at=self.started_at,
            unread_until=grew.count,
            unread_seen=Fingerprint(),
        )
        self.progress.unsaved = replace(base, backfill=backfill)  # should it stop before a slice
        return base, backfill

    def read_unread(self, base: ContactState, backfill: Backfill) -> ContactState:
        """Read the history a first sync left unread, from the end up, publishing all of it
        slice by slice; once read, it joins the fingerprint as named history. What arrived on
        top meanwhile is left to a backwards read from there."""
        assert backfill.unread_until is not None
        assert backfill.unread_seen is not None
        through = base.seen.unread_through
        assert through is not None
        until = backfill.unread_until
        read = backfill.unread_seen.copy()
        total = backfill.total
        for piece in self._slices(backfill.read_from_end, total, until=until):
            fresh = [
                activity
                for index, activity in enumerate(piece.page.activities)
                if piece.start <= piece.top - 1 - index < until
                and activity.created_micros <= through
            ]
            self._publish(fresh)  # a failure publishes this slice again, no more
            read.add_all(_ids(fresh))
            total = piece.page.total
            advanced = replace(self._advance(backfill, piece), unread_seen=read.copy())
            base = self._saved(replace(base, backfill=advanced))
        seen = base.seen.copy()
        seen.absorb_unread(read)
        rest = Backfill(seen.total, total, first_sync=False, checkpointed_at=self.started_at)
        return self._saved(replace(base, seen=seen, backfill=rest))

    def read_backwards(self, base: ContactState, backfill: Backfill) -> ContactState:
        """Read from `backfill`'s position up to the top, one slice at a time: each published
        oldest first and checkpointed before the next is requested.

        An activity above the position is newer than (or as new as) everything accounted for,
        so the fingerprint's head and recent window tell the unread from what was read again
        because the pages moved. One logged meanwhile inside the part already read is left to
        the total accounting that follows.
        """
        publishes = self.initial_sync.publishes if backfill.first_sync else _everything
        for piece in self._slices(backfill.read_from_end, backfill.total):
            seen = base.seen.copy()
            fresh = [a for a in piece.page.activities if not _accounted(seen, a)]
            excluded = [a for a in fresh if not publishes(a)]
            publishable = self.gate.to_publish(
                sorted((a for a in fresh if publishes(a)), key=lambda a: a.order_key)
            )
            try:
                self._send(publishable)
            except PublishFailed as failure:
                seen.add_all(_ids([*excluded, *publishable[: failure.delivered]]))
                self.store.save(replace(base, seen=seen))
                raise
            seen.add_all(_ids(fresh))
            base = replace(base, seen=seen, backfill=self._advance(backfill, piece))
            if piece.page.number == 1:
                # The sync's last save follows at once; should it stop first, the engine saves
                # this.
                self.progress.unsaved = base
                return base
            base = self._saved(base)
        return base

    def _slices(
        self, start: int, total: int | None, *, until: int | None = None
    ) -> Iterator[_Slice]:
        """The pages above position `start` (from the end), oldest first, each once, up to
        `until` or the top; a page is forgotten once its slice is checkpointed."""
        size = self.listing.page_size
        while until is None or start < until:
            page = self.listing.page_above(start, total)
            if page is None:
                return
            top = page.total - (page.number - 1) * size
            end = top if until is None else min(top, until)
            yield _Slice(page, start, top, end)
            start, total = end, page.total
            self.listing.forget(page.number)

    def _saved(self, state: ContactState) -> ContactState:
        """Checkpoint `state` (the contact's lease stays held)."""
        saved = self.store.save(state)
        self.progress.unsaved, self.progress.saved = None, saved
        return saved

    def _advance(self, backfill: Backfill, piece: _Slice) -> Backfill:
        """The checkpoint once `piece` is published."""
        self.progress.checkpoints += 1
        return replace(
            backfill,
            read_from_end=piece.end,
            total=piece.page.total,
            checkpointed_at=self.started_at,
            parked=False,
        )

    def _publish(self, activities: Iterable[Activity]) -> None:
        """One slice's activities, oldest first, but those a webhook published already."""
        self._send(self.gate.to_publish(sorted(activities, key=lambda a: a.order_key)))

    def _send(self, activities: list[Activity]) -> None:
        events = [ActivityEvent(self.listing.contact_id, activity) for activity in activities]
        self.publisher.publish(events)
        self.progress.published += len(events)
