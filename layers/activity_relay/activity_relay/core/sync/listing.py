"""One contact's list as a sync reads it: offset pages, cached while the total holds still.

Positions are counted from the top (newest first, as the API pages) or from the end: activities
logged at the top move the first, never the second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from activity_relay.core.model import Activity, ActivityPage, MalformedResponse, SourceError
from activity_relay.core.sync.ports import ActivitySource, OutOfTime


@dataclass
class Tally:
    """What one sync has spent so far, for its caller to report even when the sync fails."""

    requests: int = 0


class Drift(Exception):
    """The list's total changed between two reads of one search."""


@dataclass
class Listing:
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
            raise Drift
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

    def page_above(self, read_from_end: int, total: int | None) -> ActivityPage | None:
        """The page holding the newest activity not yet read, or None when all was read as
        far as `total` knows (what arrived since is new on top for the total accounting)."""
        if total is None:
            total = self.page(1).total
        while True:
            unread = total - read_from_end
            if unread <= 0:
                return None
            number = (unread - 1) // self.page_size + 1
            page = self.page(number)
            if page.total < read_from_end:
                raise MalformedResponse(
                    f"the list shrank to {page.total} activities below the {read_from_end} read"
                )
            if (page.total - read_from_end - 1) // self.page_size + 1 == number:
                return page
            total = page.total  # it grew meanwhile: the boundary moved to another page
