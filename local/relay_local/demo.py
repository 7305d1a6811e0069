"""`make demo`: the relay end to end on an embedded AWS, in four rounds, then everything stops.

Round 1 enqueues a handful of seeded contacts: every activity arrives, once, at both
subscribers (the topic's queue only calls and meetings, by its filter policy). Round 2 logs new
activities, one of them backdated, enqueues every contact again: only the new ones arrive.
Round 3 registers webhook endpoints and shows signed, verified, retried and filtered deliveries
(relay_local/webhook_demo.py).
Round 4 enqueues nothing: activities logged in LeadLex reach the subscribers through LeadLex's
signed webhooks, which carry them: the receiver publishes each at once, with no LeadLex request
(the fast path); a poll later reconciles the contacts.
It ends with `relay events show` of round 3's note: its publication and its signed deliveries,
attempt by attempt.

LeadLex's webhooks are registered from the start, so round 2's new activities are published by
their webhooks already (VIA webhook) but the backdated one, which a poll finds (VIA poll).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO

from relay_cli.commands.enqueue import enqueue
from relay_cli.events import EVENT_HEADER, format_event
from relay_local import webhook_demo
from relay_local.embedded import TOPIC_FILTER, EmbeddedRelay, Received

CONTACTS = (("Jane Doe", 6), ("Omar Haddad", 4), ("Lena Novak", 5), ("Carlos Ruiz", 3))
"""(name, seeded activities): a handful, enough to see the order and the filter at work."""


def main(argv: Sequence[str] | None = None, *, out: IO[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m relay_local.demo", description=__doc__)
    parser.parse_args(argv)
    out = out or sys.stdout
    started = time.monotonic()
    # Warnings only from the function, and no metric lines: the demo's own output tells the story.
    with EmbeddedRelay(
        parameter_overrides={"LogLevel": "WARNING"}, metrics=False, webhooks=True
    ) as relay:
        sandbox = relay.sandbox
        contacts = {
            sandbox.create_contact(activities=count, name=name): name for name, count in CONTACTS
        }
        print(f"AWS (moto server)   {relay.endpoint_url}", file=out)
        print(f"LeadLex (sandbox)   {relay.leadlex_base_url}", file=out)
        for subscriber in relay.subscribers:
            print(f"subscriber {subscriber.name:<8} {subscriber.description}", file=out)

        print(f"\n== Round 1: enqueue {len(contacts)} contacts", file=out)
        for contact_id, name in contacts.items():
            print(f"   {contact_id}  {name}", file=out)
        first = _round(relay, list(contacts), out)
        everything = {a["id"] for c in contacts for a in sandbox.activities(c)}
        ok = _check(first, everything, out)

        print(
            "\n== Round 2: new activities, one backdated a month; enqueue everyone again", file=out
        )
        ids = list(contacts)
        now = datetime.now(UTC).replace(microsecond=0)
        backdated = now - timedelta(days=30)
        added = [
            (ids[0], sandbox.add_activity(ids[0], activity_type="call", created_date=now)),
            (ids[1], sandbox.add_activity(ids[1], activity_type="note", created_date=now)),
            (ids[2], sandbox.add_activity(ids[2], activity_type="meeting", created_date=backdated)),
        ]
        for contact_id, activity in added:
            print(
                f"   {contact_id}  {activity['activity_type']:<8} {activity['created_date']}  "
                f"{activity['id']}",
                file=out,
            )
        second = _round(relay, ids, out)
        ok = _check(second, {a["id"] for _, a in added}, out) and ok

        print("\n== Round 3: webhooks out (Standard Webhooks), signed, retried, filtered", file=out)
        delivered, traced = webhook_demo.run(relay, out)
        ok = _webhook_round(relay, ids, out) and delivered and ok

        print("\n== Did round 3's note reach its endpoints? Ask the relay", file=out)
        ok = webhook_demo.show_event(relay, traced, out) and ok

    print(
        f"\nDone in {time.monotonic() - started:.1f} s; everything started has stopped.", file=out
    )
    return 0 if ok else 1


def _round(relay: EmbeddedRelay, contact_ids: list[str], out: IO[str]) -> list[Received]:
    report = enqueue(relay.sqs, relay.stack.contact_queue_url, contact_ids)
    results = relay.trigger.drain()
    failed = sum(len(r.failed) for r in results)
    print(
        f"   sent {len(report.sent)}; the function ran {len(results)} time(s), "
        f"{failed} message(s) to retry",
        file=out,
    )
    # Grouped by subscriber, then contact in the order enqueued; each contact's oldest first.
    order = {contact_id: index for index, contact_id in enumerate(contact_ids)}
    subscribers = {s.name: index for index, s in enumerate(relay.subscribers)}
    received = sorted(
        relay.received(),
        key=lambda r: (subscribers[r.subscriber], order.get(str(r.document["contact_id"]), 0)),
    )
    print(f"\n   {EVENT_HEADER}", file=out)
    for item in received:
        print(f"   {format_event(item.subscriber, item.document)}", file=out)
    return received


def _webhook_round(relay: EmbeddedRelay, contact_ids: list[str], out: IO[str]) -> bool:
    """Round 4: LeadLex's webhooks carry the activities: published at once; nobody enqueues."""
    sandbox = relay.sandbox
    print("\n== Round 4: LeadLex webhooks: log activities in LeadLex, enqueue nothing", file=out)
    print(
        f"   receiver (Function URL) {relay.receiver.url}, registered for activity.created",
        file=out,
    )
    relay.received()  # what round 3's events left at the subscribers: not this round's
    already = len(sandbox.webhook_deliveries)
    sandbox.reset_stats()
    now = datetime.now(UTC).replace(microsecond=0)
    logged = [
        (
            contact_ids[3],
            sandbox.add_activity(contact_ids[3], activity_type="call", created_date=now),
        ),
        (
            contact_ids[0],
            sandbox.add_activity(contact_ids[0], activity_type="email_sent", created_date=now),
        ),
    ]
    deliveries = sandbox.webhook_deliveries[already:]
    for (contact_id, activity), delivery in zip(logged, deliveries, strict=True):
        print(
            f"   {contact_id}  {activity['activity_type']:<10} {activity['id']}  "
            f"signed webhook → {delivery.status}",
            file=out,
        )
    results = relay.trigger.drain()
    print(
        f"   published by the receiver from the webhooks: {sandbox.total_requests} LeadLex "
        f"request(s); the sync function ran {len(results)} time(s)",
        file=out,
    )
    subscribers = {s.name: index for index, s in enumerate(relay.subscribers)}
    received = sorted(relay.received(), key=lambda r: subscribers[r.subscriber])
    print(f"\n   {EVENT_HEADER}", file=out)
    for item in received:
        print(f"   {format_event(item.subscriber, item.document)}", file=out)
    return _check(received, {a["id"] for _, a in logged}, out)


def _check(received: Iterable[Received], expected: set[str], out: IO[str]) -> bool:
    """Both subscribers got what they should, once each: all of it, or its calls and meetings."""
    by_subscriber: dict[str, list[Received]] = {}
    for item in received:
        by_subscriber.setdefault(item.subscriber, []).append(item)
    bus = [str(r.document["event_id"]) for r in by_subscriber.get("bus", [])]
    topic = [str(r.document["event_id"]) for r in by_subscriber.get("topic", [])]
    selected = {
        str(r.document["event_id"])
        for r in by_subscriber.get("bus", [])
        if r.document.get("activity_type") in TOPIC_FILTER["activity_type"]
    }
    ok = sorted(bus) == sorted(expected) and sorted(topic) == sorted(selected)
    verdict = "as expected" if ok else "NOT as expected"
    print(
        f"\n   bus: {len(bus)} event(s), topic: {len(topic)} (calls and meetings) — {verdict}",
        file=out,
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
