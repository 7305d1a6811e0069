"""The webhook fast path on the embedded stack: LeadLex webhooks that carry their activity → the
event on both channels, and → a signed delivery at a subscriber's endpoint; and the LeadLex
requests that cost.

    .venv/bin/python -m benchmarks.webhook_fast_path [--webhooks 200] [--contacts 20] [--json]

Set-up: the embedded stack (moto's server over HTTP as AWS, everything from template.yaml, the
fast path on as the template deploys it), the LeadLex sandbox with the receiver's Function URL
registered (each activity added there is delivered, signed, as LeadLex does), a subscriber
queue on the topic and one on the bus (a rule), and one webhook endpoint on 127.0.0.1 that
verifies every delivery with the `standardwebhooks` library; the delivery function's pollers run
as `make local` runs them (long polling).

Each activity is logged in the sandbox, one every `--interval` seconds over `--contacts`
contacts (each with a history the relay never synced). Its latency runs from the moment it was
logged to its arrival: on the topic's and the bus's queues (the later of the two; a watcher
reads both every 20 ms), and at the endpoint. Checks: every activity arrives once on each
channel and once at the endpoint, verified, `origin` "webhook"; no LeadLex request.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from benchmarks._harness import from_command_line, table
from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_demo import register
from relay_local.webhook_receiver import WebhookReceiver


class Watcher:
    """Reads the subscriber queues from a thread, stamping each event's arrival per channel."""

    def __init__(self, relay: EmbeddedRelay) -> None:
        self._relay = relay
        self.arrivals: dict[str, dict[str, float]] = {}
        self.origins: dict[str, set[str]] = {}
        self.copies = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for received in self._relay.received():
                now = time.monotonic()
                event_id = str(received.document["event_id"])
                channels = self.arrivals.setdefault(event_id, {})
                if received.subscriber in channels:
                    self.copies += 1
                channels.setdefault(received.subscriber, now)
                self.origins.setdefault(event_id, set()).add(str(received.document["origin"]))
            self._stop.wait(0.02)


def run(webhooks: int = 200, contacts: int = 20, interval: float = 0.05) -> dict[str, Any]:
    failures: list[str] = []
    with (
        EmbeddedRelay(
            webhooks=True, parameter_overrides={"LogLevel": "ERROR"}, metrics=False
        ) as relay,
        WebhookReceiver() as endpoint,
    ):
        register(relay, endpoint, "benchmark")
        relay.start_webhooks()
        sandbox = relay.sandbox
        people = [sandbox.create_contact(activities=3) for _ in range(contacts)]
        sandbox.reset_stats()
        logged: dict[str, float] = {}
        with Watcher(relay) as watcher:
            for number in range(webhooks):
                started = time.monotonic()
                activity = sandbox.add_activity(people[number % contacts], activity_type="call")
                logged[str(activity["id"])] = started
                time.sleep(interval)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                sum(len(c) == 2 for c in watcher.arrivals.values()) < webhooks
                or len(endpoint.deliveries) < webhooks
            ):
                time.sleep(0.1)
        requests = sandbox.total_requests
        deliveries = list(endpoint.deliveries)

    channel_latency = [
        max(watcher.arrivals[i].values()) - t
        for i, t in logged.items()
        if len(watcher.arrivals.get(i, {})) == 2
    ]
    delivered = {d.webhook_id: d.received_at for d in deliveries}
    delivery_latency = [delivered[i] - t for i, t in logged.items() if i in delivered]
    if len(channel_latency) != webhooks:
        failures.append(f"{len(channel_latency)} of {webhooks} events reached both channels")
    if watcher.copies:
        failures.append(f"{watcher.copies} events arrived twice on a channel")
    if sorted(delivered) != sorted(logged) or len(deliveries) != webhooks:
        failures.append(f"{len(deliveries)} deliveries for {webhooks} events")
    if not all(d.verified for d in deliveries):
        failures.append("a delivery failed verification")
    if any(origins != {"webhook"} for origins in watcher.origins.values()):
        failures.append("an event that did not come from its webhook")
    if requests:
        failures.append(f"{requests} LeadLex requests")
    return {
        "ok": not failures,
        "failures": failures,
        "webhooks": webhooks,
        "contacts": contacts,
        "interval_s": interval,
        "leadlex_requests": requests,
        "channels": _percentiles(channel_latency),
        "endpoint": _percentiles(delivery_latency),
    }


def _percentiles(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {"p50_s": None, "p95_s": None, "max_s": None}
    return {
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "max_s": round(ordered[-1], 3),
    }


def report(figures: dict[str, Any]) -> str:
    def cells(name: str) -> list[str]:
        found = figures[name]
        return [str(found["p50_s"]), str(found["p95_s"]), str(found["max_s"])]

    rows = [
        ["logged → the event on the topic and the bus", *cells("channels")],
        ["logged → a signed delivery at the endpoint", *cells("endpoint")],
    ]
    return "\n".join(
        [
            f"The webhook fast path: {figures['webhooks']} webhooks over {figures['contacts']} "
            f"contacts, one every {figures['interval_s']} s; "
            f"{figures['leadlex_requests']} LeadLex requests",
            table(["latency", "p50 s", "p95 s", "max s"], rows),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    return from_command_line(run, report, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
