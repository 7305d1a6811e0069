"""LeadLex requests one sync spends, per scenario, counted by the API (the sandbox), not the relay.

    .venv/bin/python -m benchmarks.requests_per_scenario [--history 10000] [--first 250] [--json]

Every row is one `SyncEngine.sync` of one contact with the real `LeadLexClient` over HTTP
(100 activities per page). "requests" is what the sandbox served for that contact during the
sync; "engine" is `SyncOutcome.requests`, which must agree. "model" is the README's claim where
it makes one (⌈k/100⌉, at least 1; a first sync reads every page). Each row also checks what was
published: exactly the activities that were new (or, for a bulk backdated import, at least
those, re-publishing only ids published before), each once, oldest first. Any failed check
exits non-zero.

The sandbox clock is frozen at a fixed instant and advanced one second per logged activity, so
the figures are the same on every run.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from activity_relay.core.model import ActivityEvent
from activity_relay.core.sync.engine import SyncStatus
from benchmarks._harness import BenchmarkParser, Rig, build_rig, conclude, records_table
from leadlex_sandbox import SandboxServer

START = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
K_NEW = (99, 100, 101, 250)
BULK_BACKDATED = 17  # one more than a bucket's sketch can name: the range is re-published


@dataclass(frozen=True)
class Row:
    scenario: str
    history: int  # activities the contact held before the change
    new: int  # activities added for this row
    requests: int  # served by the sandbox for this contact
    engine: int  # SyncOutcome.requests
    model: int | None  # what the README says it costs, where it says
    published: int
    ok: bool
    note: str = ""


class Bench:
    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.sandbox = rig.sandbox
        self.failures: list[str] = []
        self.published: dict[str, set[str]] = {}

    def ids(self, contact: str) -> list[str]:
        return [str(a["id"]) for a in self.sandbox.activities(contact)]

    def log(self, contact: str, count: int, created: Callable[[int], datetime] | None) -> None:
        for index in range(count):
            self.sandbox.clock.advance(1)
            self.sandbox.add_activity(
                contact, created_date=created(index) if created is not None else None
            )

    def sync(self, contact: str) -> tuple[list[ActivityEvent], int, int]:
        """Events published, requests the API served, requests the engine counted."""
        mark = len(self.rig.publisher.delivered)
        self.sandbox.reset_stats()
        outcome = self.rig.engine.sync(contact, started_at=self.sandbox.clock.now())
        if outcome.status is not SyncStatus.SYNCED:
            self.failures.append(f"{contact}: sync ended {outcome.status}")
        events = self.rig.publisher.delivered[mark:]
        return events, self.sandbox.listing_requests(contact), outcome.requests

    def check(
        self,
        scenario: str,
        contact: str,
        events: list[ActivityEvent],
        expected: set[str],
        *,
        may_republish: bool = False,
    ) -> bool:
        ids = [e.event_id for e in events]
        already = self.published.setdefault(contact, set())
        problems = []
        if len(set(ids)) != len(ids):
            problems.append("an activity was published twice in one sync")
        if may_republish:
            if not expected <= set(ids) or not set(ids) - expected <= already:
                problems.append("published set is not the new ones plus re-published old ones")
        elif set(ids) != expected:
            problems.append(
                f"published {len(set(ids) - expected)} unexpected, "
                f"missed {len(expected - set(ids))}"
            )
        if [e.activity.order_key for e in events] != sorted(e.activity.order_key for e in events):
            problems.append("not published oldest first")
        already.update(ids)
        self.failures.extend(f"{scenario}: {problem}" for problem in problems)
        return not problems

    def row(
        self,
        scenario: str,
        contact: str,
        model: int | None,
        change: Callable[[], None],
        *,
        may_republish: bool = False,
        first_sync: bool = False,
        note: str = "",
    ) -> Row:
        # A first sync publishes the whole history (INITIAL_SYNC=all).
        before = set() if first_sync else set(self.ids(contact))
        change()
        expected = set(self.ids(contact)) - before
        events, served, counted = self.sync(contact)
        ok = self.check(scenario, contact, events, expected, may_republish=may_republish)
        if served != counted:
            self.failures.append(f"{scenario}: API served {served}, engine counted {counted}")
            ok = False
        history = len(expected) if first_sync else len(before)
        new = 0 if first_sync else len(expected)
        return Row(scenario, history, new, served, counted, model, len(events), ok, note)

    def first_sync(self, scenario: str, contact: str, history: int) -> Row:
        """A contact's first sync: its whole history, one request per page of 100."""
        return self.row(scenario, contact, math.ceil(history / 100), _noop, first_sync=True)

    def paging(self, label: str, first: int, dates: Sequence[datetime]) -> list[Row]:
        contact = self.sandbox.create_contact(activities=first)
        original = set(self.ids(contact))
        self.sandbox.insert_after_page(contact, 1, [{"created_date": d} for d in dates])
        events, served, counted = self.sync(contact)
        inserted = set(self.ids(contact)) - original
        seen_first = {e.event_id for e in events} & inserted
        ok = self.check(f"(e){label}", contact, events, original | seen_first)
        first_row = Row(
            f"(e) first sync, {len(dates)} logged while paging{label}",
            first,
            len(dates),
            served,
            counted,
            None,
            len(events),
            ok and served == counted,
            f"{len(seen_first)} of the {len(dates)} in this sync",
        )
        events, served, counted = self.sync(contact)
        ok = self.check(f"(e){label} follow-up", contact, events, inserted - seen_first)
        complete = self.published[contact] == original | inserted
        if not complete:
            self.failures.append(f"(e){label}: not every activity was published")
        follow_up = Row(
            f"(e) follow-up sync{label}",
            first + len(dates),
            0,
            served,
            counted,
            None,
            len(events),
            ok and served == counted and complete,
            f"{len(events)} of the {len(dates)} here; all {first + len(dates)} published once",
        )
        return [first_row, follow_up]


def run(history: int = 10_000, first: int = 250, seed: int = 7) -> dict[str, object]:
    with SandboxServer(plan="unlimited", seed=seed) as sandbox:
        sandbox.clock.set(START, frozen=True)
        bench = Bench(build_rig(sandbox))
        rows: list[Row] = []

        small = sandbox.create_contact(activities=first)
        rows.append(bench.first_sync(f"(a) first sync, {first} activities", small, first))

        # (e) 3 activities logged while the first sync pages, after page 1 was served: dated
        # now they sit above what was read; backdated ones land in read or unread pages.
        rows.extend(bench.paging("", first, [START] * 3))
        spread = [START, START - timedelta(days=30), START - timedelta(days=300)]
        rows.extend(bench.paging(" (now, -30 d, -300 d)", first, spread))

        big = sandbox.create_contact(activities=history)
        rows.append(bench.first_sync(f"first sync, {history} activities", big, history))
        rows.append(
            bench.row("(b) 5 new", big, 1, lambda: bench.log(big, 5, None)),
        )
        rows.append(bench.row("(c) 0 new", big, 1, _noop))
        years_back = START - timedelta(days=3 * 365)
        rows.append(
            bench.row(
                "(d) 1 backdated 3 years",
                big,
                None,
                lambda: bench.log(big, 1, lambda _: years_back),
                note="older than the whole history",
            )
        )
        mid = START - timedelta(days=200)
        rows.append(
            bench.row(
                "(d) 1 backdated 200 days",
                big,
                None,
                lambda: bench.log(big, 1, lambda _: mid),
                note="inside the history",
            )
        )
        for k in K_NEW:
            rows.append(
                bench.row(f"{k} new", big, math.ceil(k / 100), _logger(bench, big, k)),
            )
        bulk = START - timedelta(days=120)
        rows.append(
            bench.row(
                f"{BULK_BACKDATED} backdated into one day",
                big,
                None,
                lambda: bench.log(big, BULK_BACKDATED, lambda i: bulk + timedelta(minutes=i)),
                may_republish=True,
                note="beyond one bucket's sketch: the range is re-published",
            )
        )

        sizes = {
            f"{len(bench.ids(contact))} activities": len(
                bench.rig.store.states[contact].seen.encode()
            )
            for contact in (small, big)
        }
    return {
        "rows": [asdict(row) for row in rows],
        "fingerprint_bytes": sizes,
        "failures": bench.failures,
        "ok": not bench.failures and all(row.ok for row in rows),
    }


def _noop() -> None:
    pass


def _logger(bench: Bench, contact: str, count: int) -> Callable[[], None]:
    return lambda: bench.log(contact, count, None)


def report(figures: dict[str, object]) -> str:
    rows = figures["rows"]
    sizes = figures["fingerprint_bytes"]
    assert isinstance(rows, list)
    assert isinstance(sizes, dict)
    columns = ("scenario", "history", "new", "requests", "engine", "model", "published", "ok")
    lines = [
        "LeadLex requests per sync (counted by the sandbox; 100 activities per page)",
        "",
        records_table(rows, columns),
        "",
        *(f"  {r['scenario']}: {r['note']}" for r in rows if r["note"]),
        "",
    ]
    lines.append(
        "Fingerprint encoded size: " + ", ".join(f"{k}: {v:,} bytes" for k, v in sizes.items())
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(__doc__, seed=7)
    parser.add_argument("--history", type=int, default=10_000, help="the large contact's size")
    parser.add_argument("--first", type=int, default=250, help="the small contact's size")
    args = parser.parse_quietly(argv)
    return conclude(run(args.history, args.first, args.seed), report, args.json)


if __name__ == "__main__":
    sys.exit(main())
