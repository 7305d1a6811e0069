"""Two instances receive the same contact at once: duplicates, requests, the loser's message.

    .venv/bin/python -m benchmarks.two_instances [--runs 5] [--new 30] [--latency 0.5] [--json]

Requirement (issue 9): "Two instances on one contact with 30 new: duplicates (0)".

Set-up: per run, a contact with 20 activities synced once, its last sync then an hour old, and
`new` activities logged since. Two instances, each a `BatchSync` with its own `LeadLexClient`, as
two Lambda containers are, share the state store (`MemoryStateTable`, which
tests/contract/test_lease.py holds to DynamoDbStateStore's behaviour) and the publisher. The
first instance gets a batch with the contact's message; once the sandbox has received its page
request (which it holds for `latency` seconds), the second instance gets another batch with a
message for the same contact, from another thread. Three cases:

- "sent during": the second message was sent 2 s after the first sync began (a webhook that
  arrives mid-sync); the sandbox clock is moved on those 2 s first.
- "sent before": it was sent 5 s before the first sync began (two webhooks that waited on the
  queue together).
- "no lease": as "sent during", with a store that grants every lease (the relay before the
  lease): what both instances publish.

Then the contact queue's delayed message, if any, is delivered (as SQS would after its delay):
a third batch, the follow-up. Counted: events published and duplicates (event ids published
more than once), LeadLex requests per instance as the sandbox received them and as the relay
reported them, the loser's disposition, the delay it was enqueued again with, receive counts
used (messages handed back), and state-store calls per sync.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from activity_relay.core.model import Activity, ContactState, WebhookClaim
from activity_relay.core.sync.messages import ContactMessage, Disposition, MessageResult
from activity_relay.core.sync.ports import Lease
from benchmarks._harness import PLENTY_OF_TIME_MS, BenchmarkParser, Rig, build_rig, conclude, table
from leadlex_sandbox import SandboxServer
from relay_local.fakes.contact_queue import MemoryContactQueue
from relay_local.fakes.state_table import MemoryStateTable

CASES = ("sent during", "sent before", "no lease")


@dataclass
class CountingStore(MemoryStateTable):
    """Counts the calls a sync makes (each one DynamoDB call in the real adapter)."""

    calls: Counter[str] = field(default_factory=Counter)

    def load(self, contact_id: str) -> ContactState | None:
        self.calls["load"] += 1
        return super().load(contact_id)

    def begin(
        self, contact_id: str, lease: Lease, *, covered_after: datetime | None = None
    ) -> ContactState | None:
        self.calls["begin"] += 1
        return super().begin(contact_id, lease, covered_after=covered_after)

    def save(self, state: ContactState, lease: Lease | None = None) -> ContactState:
        self.calls["save"] += 1
        return super().save(state, lease)

    def release(self, contact_id: str, lease: Lease) -> None:
        self.calls["release"] += 1
        super().release(contact_id, lease)


class NoLeaseStore(CountingStore):
    """The store before the lease: every sync may start."""

    def begin(
        self, contact_id: str, lease: Lease, *, covered_after: datetime | None = None
    ) -> ContactState | None:
        self.leases.pop(contact_id, None)
        return super().begin(contact_id, lease, covered_after=covered_after)

    def announce(
        self, contact_id: str, lease: Lease, activities: Sequence[Activity]
    ) -> dict[int, WebhookClaim]:
        self.leases[contact_id] = lease  # nothing tells one holder from another
        return super().announce(contact_id, lease, activities)


def instances(sandbox: SandboxServer, store: CountingStore) -> tuple[Rig, Rig, MemoryContactQueue]:
    """Two relays (two containers) on one store and one publisher; one contact queue."""
    queue = MemoryContactQueue()
    first = build_rig(sandbox, store=store, queue=queue)
    second = build_rig(sandbox, store=store, queue=queue, publisher=first.publisher)
    return first, second, queue


def one_run(
    sandbox: SandboxServer, case: str, new: int, latency: float, run: int
) -> dict[str, Any]:
    store = (
        NoLeaseStore(clock=sandbox.clock.now)
        if case == "no lease"
        else CountingStore(clock=sandbox.clock.now)
    )
    first, second, queue = instances(sandbox, store)
    contact = sandbox.create_contact(activities=20)
    warm, _ = first.relay.process([ContactMessage("warm", contact)], lambda: PLENTY_OF_TIME_MS)
    assert warm[0].disposition is Disposition.SYNCED, warm
    state = store.states[contact]
    store.states[contact] = ContactState(
        contact, state.seen, state.version, sandbox.clock.now() - timedelta(hours=1)
    )
    new_ids = {sandbox.add_activity(contact)["id"] for _ in range(new)}
    first.publisher.delivered.clear()
    store.calls.clear()
    sandbox.reset_stats()

    began = sandbox.clock.now()
    sandbox.faults.latency = latency
    holder: list[MessageResult] = []
    thread = threading.Thread(
        target=lambda: holder.extend(
            first.relay.process(
                [ContactMessage(f"holder-{run}", contact, began)], lambda: PLENTY_OF_TIME_MS
            )[0]
        )
    )
    thread.start()
    deadline = time.monotonic() + 30
    while sandbox.listing_requests(contact) == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the first instance never asked for a page")
        time.sleep(0.002)
    if case == "sent before":
        sent = began - timedelta(seconds=5)
    else:
        sandbox.clock.advance(2)
        sent = sandbox.clock.now()
    loser, _ = second.relay.process(
        [ContactMessage(f"loser-{run}", contact, sent)], lambda: PLENTY_OF_TIME_MS
    )
    thread.join()
    sandbox.faults.latency = 0.0
    requests_concurrent = sandbox.listing_requests(contact)
    calls_concurrent = dict(store.calls)

    follow_up: list[MessageResult] = []
    if queue.sent:
        # SQS hands the message out once its delay has passed: move the clock past it.
        sandbox.clock.advance(queue.delays[-1])
        follow_up, _ = second.relay.process(
            [ContactMessage(f"requeued-{run}", c, sandbox.clock.now()) for c in queue.sent],
            lambda: PLENTY_OF_TIME_MS,
        )
    published = [event.event_id for event in first.publisher.delivered]
    counts = Counter(published)
    (held,) = holder
    (lost,) = loser
    return {
        "case": case,
        "new": new,
        "published": len(published),
        "duplicates": sum(n - 1 for n in counts.values()),
        "missing": len(new_ids - set(counts)),
        "holder": held.disposition.value,
        "loser": lost.disposition.value,
        "loser_requeue_delay_s": queue.delays[0] if queue.delays else None,
        "receive_counts_used": sum(
            1 for r in (held, lost, *follow_up) if not r.disposition.acknowledged
        ),
        "requests_holder_and_loser": requests_concurrent,
        "requests_reported": held.requests + lost.requests,
        "requests_follow_up": sandbox.listing_requests(contact) - requests_concurrent,
        "follow_up": follow_up[0].disposition.value if follow_up else None,
        "follow_up_published": follow_up[0].published if follow_up else 0,
        "store_calls": calls_concurrent,
    }


def run(runs: int = 5, new: int = 30, latency: float = 0.5, seed: int = 9) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    with SandboxServer(plan="unlimited", seed=seed) as sandbox:
        for case in CASES:
            for number in range(runs):
                row = one_run(sandbox, case, new, latency, number)
                rows.append(row)
                label = f"{case}, run {number + 1}"
                if row["missing"]:
                    failures.append(f"{label}: {row['missing']} activities never published")
                if row["requests_reported"] != row["requests_holder_and_loser"]:
                    failures.append(f"{label}: reported {row['requests_reported']} requests")
                if case == "no lease":
                    continue
                if row["duplicates"]:
                    failures.append(f"{label}: {row['duplicates']} duplicates")
                if row["receive_counts_used"]:
                    failures.append(f"{label}: a message was handed back")
                expected = "requeued" if case == "sent during" else "covered"
                if row["loser"] != expected:
                    failures.append(f"{label}: the loser was {row['loser']}, not {expected}")
    return {
        "runs": runs,
        "latency_s": latency,
        "rows": rows,
        "failures": failures,
        "ok": not failures,
    }


def summary(rows: Sequence[dict[str, Any]], case: str) -> list[object]:
    mine = [r for r in rows if r["case"] == case]
    first = mine[0]
    calls = first["store_calls"]
    delays = sorted({r["loser_requeue_delay_s"] for r in mine} - {None})
    return [
        case,
        len(mine),
        sum(r["published"] for r in mine),
        sum(r["duplicates"] for r in mine),
        sum(r["missing"] for r in mine),
        "/".join(sorted({r["loser"] for r in mine})),
        "/".join(f"{d} s" for d in delays) or "-",
        sum(r["receive_counts_used"] for r in mine),
        sum(r["requests_holder_and_loser"] for r in mine),
        sum(r["requests_follow_up"] for r in mine),
        sum(r["follow_up_published"] for r in mine),
        ", ".join(f"{name} {count}" for name, count in sorted(calls.items())),
    ]


def report(figures: dict[str, Any]) -> str:
    rows = figures["rows"]
    headers = [
        "case",
        "runs",
        "published",
        "duplicates",
        "missing",
        "loser",
        "requeue delay",
        "receive counts used",
        "requests (both)",
        "requests follow-up",
        "published follow-up",
        "store calls, both instances (run 1)",
    ]
    lines = [
        f"Two instances, one contact with {rows[0]['new']} new activities, "
        f"{figures['latency_s']} s per LeadLex answer",
        "",
        table(headers, [summary(rows, case) for case in CASES]),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(__doc__, seed=9)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--new", type=int, default=30, help="activities logged since the last sync")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per LeadLex answer")
    args = parser.parse_quietly(argv)
    return conclude(run(args.runs, args.new, args.latency, args.seed), report, args.json)


if __name__ == "__main__":
    sys.exit(main())
