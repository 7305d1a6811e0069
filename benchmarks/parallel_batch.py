"""A batch of 10 contacts vs one contact, at 100 ms of API latency: does the relay sync in parallel?

    .venv/bin/python -m benchmarks.parallel_batch [--runs 5] [--latency 0.1] [--json]

Requirement (issue): "a batch of 10 contacts at 100 ms API latency takes ≤ 1.5 x one contact's
time".

Set-up: `batch` contacts (10 by default) with a short history, synced once before timing
(steady state). Each run logs one new activity on every contact, then times `BatchSync.process`
(wall clock) for a batch of one contact's message, then for a batch of all the contacts'
messages: each sync is one request (page 1) and one publish, packed with the others' into
shared publish calls as wiring.py does (core/packing.py). One `BatchSync` with concurrency 10
and one shared `LeadLexClient` (connection pool of 10) serve every run, as in a warm Lambda
container. The sandbox delays every /v1 answer by `latency` seconds (`faults.latency`). The
figure is the median over the runs, and the ratio of the two medians against 1.5.

Before timing, a probe sends `batch` concurrent requests straight to the sandbox: if its
injected latency serialised requests, their wall time would be `batch * latency`, not about
one `latency`. Each run also checks what was published (exactly the new activities, one each)
and that every sync cost one request, counted by the sandbox.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import requests

from activity_relay.core.sync.messages import ContactMessage, Disposition
from benchmarks._harness import PLENTY_OF_TIME_MS, BenchmarkParser, Rig, build_rig, conclude, table
from leadlex_sandbox import SandboxServer

REQUIREMENT = 1.5


def probe_concurrency(sandbox: SandboxServer, contacts: Sequence[str], key: str) -> float:
    """Wall seconds for one request per contact, all sent at once on separate connections."""

    def get(contact: str) -> int:
        response = requests.get(
            f"{sandbox.base_url}/v1/contacts/{contact}/activities",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=len(contacts)) as pool:
        started = time.perf_counter()
        statuses = list(pool.map(get, contacts))
        elapsed = time.perf_counter() - started
    assert statuses == [200] * len(contacts), statuses
    return elapsed


def timed_batch(
    rig: Rig, contacts: Sequence[str], run: int, failures: list[str], publish_calls: list[int]
) -> float:
    sandbox = rig.sandbox
    new_ids = {sandbox.add_activity(contact)["id"] for contact in contacts}
    messages = [ContactMessage(f"r{run}-{n}", contact) for n, contact in enumerate(contacts)]
    mark = len(rig.publisher.delivered)
    calls = len(rig.publisher.calls)
    sandbox.reset_stats()
    started = time.perf_counter()
    results, _ = rig.relay.process(messages, lambda: PLENTY_OF_TIME_MS)
    elapsed = time.perf_counter() - started
    published = [event.event_id for event in rig.publisher.delivered[mark:]]
    label = f"run {run}, batch of {len(contacts)}"
    if {r.disposition for r in results} != {Disposition.SYNCED}:
        failures.append(f"{label}: {[r.reason for r in results if r.reason]}")
    if sorted(published) != sorted(new_ids):
        failures.append(f"{label}: published {len(published)}, expected {len(new_ids)}")
    if sandbox.total_requests != len(contacts) or sum(r.requests for r in results) != len(contacts):
        failures.append(f"{label}: {sandbox.total_requests} requests for {len(contacts)} syncs")
    publish_calls.append(len(rig.publisher.calls) - calls)
    return elapsed


def run(runs: int = 5, latency: float = 0.1, batch: int = 10, seed: int = 11) -> dict[str, object]:
    failures: list[str] = []
    with SandboxServer(plan="unlimited", seed=seed) as sandbox:
        rig = build_rig(sandbox, concurrency=10, packing=True)
        contacts = [sandbox.create_contact(activities=20) for _ in range(batch)]
        results, _ = rig.relay.process(
            [ContactMessage(f"warm-{n}", c) for n, c in enumerate(contacts)],
            lambda: PLENTY_OF_TIME_MS,
        )
        if {r.disposition for r in results} != {Disposition.SYNCED}:
            failures.append("the initial syncs did not all succeed")

        sandbox.faults.latency = latency
        probe = probe_concurrency(sandbox, contacts, sandbox.create_key())
        one: list[float] = []
        many: list[float] = []
        calls_one: list[int] = []
        calls_many: list[int] = []
        sandbox.reset_stats()
        connections_before = sandbox.connections_opened
        for number in range(runs):
            one.append(timed_batch(rig, contacts[:1], number, failures, calls_one))
            many.append(timed_batch(rig, contacts, number, failures, calls_many))
        connections = sandbox.connections_opened - connections_before

    median_one, median_many = statistics.median(one), statistics.median(many)
    ratio = median_many / median_one
    return {
        "latency_s": latency,
        "batch": batch,
        "runs": runs,
        "probe_concurrent_requests_s": probe,
        "sandbox_serialises": probe >= batch * latency * 0.9,
        "one_contact_s": one,
        "batch_s": many,
        "median_one_contact_s": median_one,
        "median_batch_s": median_many,
        "ratio": ratio,
        "requirement": REQUIREMENT,
        "passes": ratio <= REQUIREMENT,
        "new_connections_during_runs": connections,
        # publish() calls reaching the publisher: each one is a batch call per channel
        "publish_calls_one_contact": calls_one,
        "publish_calls_batch": calls_many,
        "failures": failures,
        "ok": not failures,
    }


def report(figures: dict[str, object]) -> str:
    one = figures["one_contact_s"]
    many = figures["batch_s"]
    assert isinstance(one, list)
    assert isinstance(many, list)
    batch = figures["batch"]
    rows = [
        ["1 contact", *(f"{s * 1000:.0f}" for s in one), f"{figures['median_one_contact_s']:.3f}"],
        [
            f"{batch} contacts",
            *(f"{s * 1000:.0f}" for s in many),
            f"{figures['median_batch_s']:.3f}",
        ],
    ]
    headers = ["batch", *(f"run {n + 1} ms" for n in range(len(one))), "median s"]
    ratio = figures["ratio"]
    assert isinstance(ratio, float)
    verdict = "PASS" if figures["passes"] else "FAIL"
    return "\n".join(
        [
            f"BatchSync.process wall time at {figures['latency_s']}s API latency "
            f"(concurrency 10, one shared client, pool 10)",
            "",
            table(headers, rows),
            "",
            f"ratio {batch} contacts / 1 contact: {ratio:.2f}  "
            f"(requirement <= {REQUIREMENT}): {verdict}",
            f"sandbox probe: {batch} concurrent requests answered in "
            f"{figures['probe_concurrent_requests_s']:.3f}s "
            + (
                "-> the sandbox SERIALISES requests"
                if figures["sandbox_serialises"]
                else "-> served concurrently"
            ),
            f"new connections opened during the timed runs: "
            f"{figures['new_connections_during_runs']}",
            f"publish calls per run (each one batch call per channel; syncs running at once "
            f"share them): 1 contact {figures['publish_calls_one_contact']}, "
            f"{batch} contacts {figures['publish_calls_batch']} (unpacked: {batch} each)",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(__doc__, seed=11)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added per request")
    parser.add_argument("--batch", type=int, default=10, help="contacts in the large batch")
    args = parser.parse_quietly(argv)
    return conclude(run(args.runs, args.latency, args.batch, args.seed), report, args.json)


if __name__ == "__main__":
    sys.exit(main())
