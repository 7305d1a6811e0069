"""What every benchmark assembles: a sandbox, the real client, engine and relay, in-memory state.

The relay's clock and the client's clock both read the sandbox clock, so a simulation that moves
the sandbox clock moves the quota windows, the client's quota guard and the relay's coalescing
together.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from activity_relay.adapters.leadlex import LeadLexClient
from activity_relay.core.model import ActivityEvent, InitialSync
from activity_relay.core.quota.pacing import PacePolicy
from activity_relay.core.sync.batch import BatchSync
from activity_relay.core.sync.engine import SyncEngine
from activity_relay.core.sync.packing import PackingPublisher
from leadlex_sandbox import SandboxServer
from relay_local.fakes.contact_queue import MemoryContactQueue
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import RecordingPublisher, RejectionLog

PLENTY_OF_TIME_MS = 60_000  # the template's default function timeout


@dataclass
class TimedPublisher(RecordingPublisher):
    """Also remembers, per event id, the clock reading when it was first delivered."""

    clock: Callable[[], datetime] | None = None
    first_delivered_at: dict[str, datetime] = field(default_factory=dict)

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        super().publish(events)
        if self.clock is not None:
            now = self.clock()
            for event in events:
                self.first_delivered_at.setdefault(event.event_id, now)


@dataclass
class Rig:
    sandbox: SandboxServer
    client: LeadLexClient
    store: MemoryStateTable
    publisher: TimedPublisher
    engine: SyncEngine
    relay: BatchSync
    rejections: RejectionLog
    queue: MemoryContactQueue


def build_rig(
    sandbox: SandboxServer,
    *,
    store: MemoryStateTable | None = None,
    concurrency: int = 10,
    pacing: PacePolicy | None = None,
    publisher: TimedPublisher | None = None,
    queue: MemoryContactQueue | None = None,
    initial_sync: str = "all",
    packing: bool = False,
    **client_options: Any,
) -> Rig:
    """The relay as runtime/sync.py assembles it, with in-memory state and the sandbox's clock."""
    client = LeadLexClient(
        sandbox.create_key(),
        sandbox.base_url,
        pool_size=concurrency,
        clock=lambda: sandbox.clock.now().timestamp(),
        **client_options,
    )
    store = store if store is not None else MemoryStateTable(clock=sandbox.clock.now)
    publisher = publisher if publisher is not None else TimedPublisher(clock=sandbox.clock.now)
    # runtime/sync.py packs concurrent syncs' events into shared calls; most benchmarks leave
    # that out, since its (bounded, real-time) waits would blur their simulated clocks.
    packer = PackingPublisher(publisher) if packing else None
    engine = SyncEngine(
        source=client,
        store=store,
        publisher=packer or publisher,
        initial_sync=InitialSync.parse(initial_sync),
        clock=sandbox.clock.now,
    )
    rejections = RejectionLog()
    queue = queue if queue is not None else MemoryContactQueue()
    relay = BatchSync(
        engine=engine,
        rejected=rejections,
        deferrals=store,
        queue=queue,
        clock=sandbox.clock.now,
        concurrency=concurrency,
        quota=client.quota.snapshot,
        pacing=pacing,
        packing=packer,
    )
    return Rig(sandbox, client, store, publisher, engine, relay, rejections, queue)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, numbers right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) if rows else False
        for i in range(len(headers))
    ]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(row, widths, numeric, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def shown(value: object) -> object:
    """A figure as a report's table shows it: a flag as yes/NO, None as "-" (the figure was not
    taken); anything else as it is, for table() to format."""
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return "-" if value is None else value


def shown_rounded(value: object) -> object:
    """As shown(), a float rounded besides: to 2 places under 10, else to a whole number."""
    if isinstance(value, float):
        return round(value, 2) if value < 10 else round(value)
    return shown(value)


def records_table(records: Sequence[Mapping[str, object]], columns: Sequence[str]) -> str:
    """table() of `records`, one a row; `columns` names both the keys shown and the headers."""
    return table(columns, [[shown(record[c]) for c in columns] for record in records])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


class BenchmarkParser(argparse.ArgumentParser):
    """A benchmark's command line: its docstring's first line, --json, and --seed (with its
    default) for one whose figures draw on random numbers."""

    def __init__(self, doc: str, *, seed: int | None = None) -> None:
        super().__init__(description=doc.splitlines()[0])
        if seed is not None:
            self.add_argument("--seed", type=int, default=seed)
        json_flag(self)

    def parse_quietly(self, argv: Sequence[str] | None) -> argparse.Namespace:
        """The arguments, with only errors logged: the relay's warnings (deferrals, a range
        published again, a one-off INITIAL_SYNC) are rows of the benchmarks' reports."""
        args = self.parse_args(argv)
        logging.basicConfig(level=logging.ERROR)
        return args


def conclude(
    figures: dict[str, Any], report: Callable[[dict[str, Any]], str], as_json: bool
) -> int:
    """The report emitted, the verdict its last line; the exit status: 0 when every check
    passed."""
    emit(f"{report(figures)}\n{verdict(figures)}", figures, as_json)
    return 0 if figures["ok"] else 1


def from_command_line(
    run: Callable[..., dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    doc: str,
    argv: Sequence[str] | None,
) -> int:
    """`run` with its keyword parameters taken from the command line (`answer_ms=50` is
    `--answer-ms`, an int, 50 unless given), its report emitted: for a benchmark whose options
    are its run's parameters, so that each default is written once."""
    parser = BenchmarkParser(doc)
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(run).parameters.items()
        if parameter.default is not parameter.empty
    }
    for name, default in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    args = parser.parse_quietly(argv)
    return conclude(run(**{name: getattr(args, name) for name in defaults}), report, args.json)


def verdict(figures: dict[str, Any]) -> str:
    """Every check passed, or each failure on a line of its own."""
    failures: list[str] = figures["failures"]
    return "All checks passed." if figures["ok"] else "FAILED:\n  " + "\n  ".join(failures)


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="write the figures as JSON to stdout (the table then goes to stderr)",
    )


def emit(report: str, figures: dict[str, Any], as_json: bool) -> None:
    """The table for people; with --json, the figures for programs on stdout instead."""
    out: TextIO = sys.stderr if as_json else sys.stdout
    print(report, file=out)
    if as_json:
        print(json.dumps(figures, indent=2, default=str))
