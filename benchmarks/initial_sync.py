"""What first syncs cost under INITIAL_SYNC=none or a date, and their unread history later.

    .venv/bin/python -m benchmarks.initial_sync [--history 10000] [--since 0,1,99,100] [--json]

Every row is one `SyncEngine.sync` of one contact with the real `LeadLexClient` over HTTP to
the sandbox (100 activities per page), counted by the sandbox. For each setting a new contact of
`--history` seeded activities (spread over a year) is synced for the first time; with a date,
the date is chosen so that exactly n activities are dated from it on. The goal column is the
issue's: 1 request for `none`, ⌈n/100⌉ + 1 for a date. Then, on the `none` contact: 5 logged
on top; one backdated into what the first sync read (named exactly); one backdated below it,
into the history it left unread (the one-off: that history is read and published once, since
nothing can tell the new one from it); one more backdated (named exactly from then on). Each
row checks what was published, each once, oldest first. A failed check exits non-zero.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from activity_relay.core.model import parse_timestamp
from activity_relay.core.sync.engine import SyncStatus
from benchmarks._harness import BenchmarkParser, Rig, build_rig, conclude, records_table
from leadlex_sandbox import SandboxServer

START = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
SINCE = (0, 1, 99, 100, 101, 250, 1_000)


@dataclass(frozen=True)
class Row:
    scenario: str
    requests: int  # served by the sandbox for the contact during the sync
    goal: int | None
    published: int
    expected: int
    ok: bool


class Bench:
    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.failures: list[str] = []

    def ids(self, contact: str) -> list[str]:
        return [str(a["id"]) for a in self.sandbox.activities(contact)]

    def sync(
        self, rig: Rig, scenario: str, contact: str, expected: list[str], goal: int | None
    ) -> Row:
        """One sync; `expected` is what it must publish, oldest first."""
        mark = len(rig.publisher.delivered)
        self.sandbox.reset_stats()
        outcome = rig.engine.sync(contact, started_at=self.sandbox.clock.now())
        served = self.sandbox.listing_requests(contact)
        ids = [event.event_id for event in rig.publisher.delivered[mark:]]
        problems = []
        if outcome.status is not SyncStatus.SYNCED:
            problems.append(f"ended {outcome.status}")
        if sorted(ids) != sorted(expected) or len(set(ids)) != len(ids):
            problems.append(f"published {len(ids)}, expected {len(expected)}")
        keys = [event.activity.order_key for event in rig.publisher.delivered[mark:]]
        if [key[0] for key in keys] != sorted(key[0] for key in keys):
            problems.append("not oldest first")
        if served != outcome.requests:
            problems.append(f"the sandbox served {served}, the engine counted {outcome.requests}")
        if goal is not None and served > goal:
            problems.append(f"{served} requests, more than the goal of {goal}")
        self.failures.extend(f"{scenario}: {problem}" for problem in problems)
        return Row(scenario, served, goal, len(ids), len(expected), not problems)

    def log(self, contact: str, created: datetime | None = None) -> str:
        self.sandbox.clock.advance(1)
        return str(self.sandbox.add_activity(contact, created_date=created)["id"])


def run(history: int = 10_000, since: Sequence[int] = SINCE, seed: int = 7) -> dict[str, object]:
    with SandboxServer(plan="unlimited", seed=seed) as sandbox:
        sandbox.clock.set(START, frozen=True)
        bench = Bench(sandbox)
        rows: list[Row] = []

        for n in since:
            contact = sandbox.create_contact(activities=history)
            newest_first = sandbox.activities(contact)
            # A date just above the (n+1)-th newest: exactly n are dated from it on.
            floor = parse_timestamp(str(newest_first[n]["created_date"])) if n < history else None
            date = (
                START - timedelta(days=400) if floor is None else floor + timedelta(microseconds=1)
            )
            kept = [str(a["id"]) for a in newest_first[:n]]
            rig = build_rig(sandbox, initial_sync=date.isoformat())
            goal = math.ceil(n / 100) + 1
            rows.append(bench.sync(rig, f"a date, {n} since, of {history}", contact, kept, goal))

        contact = sandbox.create_contact(activities=history)
        rig = build_rig(sandbox, initial_sync="none")
        rows.append(bench.sync(rig, f"none, of {history}", contact, [], 1))
        on_top = [bench.log(contact) for _ in range(5)]
        rows.append(bench.sync(rig, "then 5 new on top", contact, on_top, 1))

        listed = sandbox.activities(contact)
        read_span = [parse_timestamp(str(a["created_date"])) for a in listed[:100]]
        inside = bench.log(contact, read_span[50] - timedelta(seconds=1))
        rows.append(bench.sync(rig, "then 1 backdated into what it read", contact, [inside], None))

        oldest = parse_timestamp(str(listed[-1]["created_date"]))
        bench.log(contact, oldest - timedelta(days=1))
        # Counted unread: all below the top page, and its oldest date (a page boundary may
        # split activities of one date). All of it goes out, with the one logged among it.
        counted = rig.store.states[contact].seen.unread
        expected = [str(a["id"]) for a in sandbox.activities(contact)][-(counted + 1) :]
        rows.append(
            bench.sync(
                rig,
                f"then 1 backdated into the {counted:,} left unread",
                contact,
                expected,
                math.ceil((counted + 1) / 100) + 1,  # page 1, then the history
            )
        )
        again = bench.log(contact, oldest + timedelta(hours=1))
        rows.append(bench.sync(rig, "then 1 more backdated there", contact, [again], None))
    return {
        "rows": [asdict(row) for row in rows],
        "failures": bench.failures,
        "ok": not bench.failures,
    }


def report(figures: dict[str, object]) -> str:
    rows = figures["rows"]
    assert isinstance(rows, list)
    lines = [
        "First syncs under INITIAL_SYNC (counted by the sandbox; 100 activities per page)",
        "",
        records_table(rows, ("scenario", "requests", "goal", "published", "ok")),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(__doc__, seed=7)
    parser.add_argument("--history", type=int, default=10_000, help="each contact's size")
    parser.add_argument(
        "--since",
        default=",".join(str(n) for n in SINCE),
        help="activities dated from INITIAL_SYNC's date on, one contact each",
    )
    args = parser.parse_quietly(argv)
    figures = run(args.history, [int(n) for n in args.since.split(",")], args.seed)
    return conclude(figures, report, args.json)


if __name__ == "__main__":
    sys.exit(main())
