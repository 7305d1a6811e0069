"""relay events: did an activity go out, and to whom?

show EVENT_ID                        when and by which path it was published, the endpoints it
                                     matched, every delivery attempt, dead letters and the
                                     command that redrives them
list --contact ID [--since WHEN]     a contact's events, oldest first

What it reads: the webhook event table (every event the activity topic carried, as the webhook
fan-out received it, with or without endpoints; kept WebhookEventRetentionDays, 14 days by
default) and the attempt table (kept 14 days). An event older than that, published only on the
bus (a stack without the topic), or never published, is not found.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import IO, Any, Final

from activity_relay.adapters.dynamodb.events import DEFAULT_RETENTION
from activity_relay.core.model import parse_contact_id
from activity_relay.core.webhooks_out.trace import (
    DeliveryState,
    EndpointTrace,
    EventTrace,
    Publication,
    assemble_trace,
)
from relay_cli.commands.webhook_stack import WebhookStack, now
from relay_cli.help_text import exit_statuses
from relay_cli.target import Target, UsageError
from relay_cli.times import parse_time

SHOW_EXIT_CODES: Final = exit_statuses(
    "not found (older than the retention, or never published)", done="found"
)
LIST_EXIT_CODES: Final = exit_statuses("no events of that contact are kept", done="found")

NOT_FOUND: Final = (
    "no record of event {event_id}: events are kept {days} days by default "
    "(WebhookEventRetentionDays), so it was published before that, or never (its contact not "
    "synced yet, or not an activity id of this stack)"
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "events",
        help="trace an event: its publication and its webhook deliveries",
        description=__doc__,
    )
    actions = parser.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show", help="an event's publication, endpoints and attempts", epilog=SHOW_EXIT_CODES
    )
    show.add_argument("event_id", help="the event id (the activity's id; webhook-id)")
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(run=run_show)

    listing = actions.add_parser("list", help="a contact's events", epilog=LIST_EXIT_CODES)
    listing.add_argument("--contact", required=True, help="the contact's UUID")
    listing.add_argument(
        "--since", help="ISO 8601 time, or 90m / 6h / 3d ago (default: all that is kept)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per event")
    listing.set_defaults(run=run_list)


def run_show(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    event_id = args.event_id.strip()
    if not event_id:
        raise UsageError("name an event id")
    stack = WebhookStack(target)
    attempts, parked = stack.ledger.history(event_id)
    trace = assemble_trace(
        event_id,
        stack.events.publications(event_id),
        attempts,
        parked,
        stack.endpoints.endpoints(),
    )
    if not trace.found:
        reason = NOT_FOUND.format(event_id=event_id, days=DEFAULT_RETENTION.days)
        if args.json:
            print(json.dumps({"event_id": event_id, "found": False, "reason": reason}), file=out)
        else:
            print(f"relay: {reason}", file=err)
        return 1
    if args.json:
        print(json.dumps(trace_json(trace, target)), file=out)
    else:
        for line in trace_lines(trace, target):
            print(line, file=out)
    return 0


def run_list(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    try:
        contact_id = parse_contact_id(args.contact)
    except ValueError as error:
        raise UsageError(f"not a contact id: {args.contact!r} ({error})") from None
    until = now() + timedelta(seconds=1)
    since = parse_time(args.since, until, "--since") if args.since else until - DEFAULT_RETENTION
    found = list(WebhookStack(target).events.publications_of_contact(contact_id, since, until))
    if args.json:
        for publication in found:
            print(json.dumps(_publication_json(publication, target)), file=out)
    else:
        print(
            f"{'PUBLISHED_AT':<29} {'VIA':<7} {'TYPE':<11} {'OCCURRED_AT':<27} EVENT_ID", file=out
        )
        for p in found:
            print(
                f"{_when(p):<29} {_plain(p.origin):<7} {_plain(p.activity_type):<11} "
                f"{_plain(p.occurred_at):<27} {p.event_id}",
                file=out,
            )
    if not found:
        print(
            f"relay: no events of contact {contact_id} since {since.isoformat()} "
            f"(kept {DEFAULT_RETENTION.days} days by default)",
            file=err,
        )
        return 1
    return 0


def trace_lines(trace: EventTrace, target: Target) -> list[str]:
    """The trace for people: publication first, then each endpoint with its attempts."""
    lines = [f"event {trace.event_id}"]
    if trace.publications:
        first = trace.publications[0]
        lines += [
            f"  contact      {_plain(first.contact_id)}",
            f"  type         {_plain(first.activity_type)}",
            f"  occurred at  {_plain(first.occurred_at)}",
            "",
            _published_heading(len(trace.publications)),
        ]
        lines += [f"  {_when(p)}  via {_plain(p.origin)}" for p in trace.publications]
        channels = _channels(target)
        lines += [
            f"  on SNS topic {channels['sns_topic']} (as the webhook fan-out received it)",
            f"  and EventBridge bus {channels['eventbridge_bus']}, right after the topic (the bus",
            "    keeps no record per event; had it refused, the event would show here twice)",
        ]
    else:
        lines += [
            "",
            "published: no record (expired, or kept by a relay older than `relay events`);",
            "its deliveries are still recorded:",
        ]
    lines += ["", _deliveries_heading(trace)]
    for endpoint in trace.endpoints:
        lines += _endpoint_lines(endpoint)
    return lines


def _published_heading(times: int) -> str:
    if times == 1:
        return "published once:"
    return f"published {times} times (the same event id each time):"


def _deliveries_heading(trace: EventTrace) -> str:
    if not trace.endpoints:
        return (
            "webhook deliveries: none (no endpoint was registered whose filter matches it, "
            "or it was published before any was)"
        )
    return (
        f"webhook deliveries to {len(trace.endpoints)} endpoint(s), "
        "each POST signed (webhook-id = the event id):"
    )


def _endpoint_lines(endpoint: EndpointTrace) -> list[str]:
    url = endpoint.url or "(endpoint removed)"
    summary = f"{endpoint.state.value}"
    if endpoint.attempts:
        summary += f" after {len(endpoint.attempts)} attempt(s)"
    if endpoint.state is DeliveryState.PARKED and endpoint.parked_at is not None:
        summary += f" since {_time(endpoint.parked_at)}: the endpoint is disabled"
    lines = [f"  {endpoint.endpoint_id}  {url}  {summary}"]
    for a in endpoint.attempts:
        result = f"HTTP {a.status}" if a.status is not None else (a.error or "no answer")
        lines.append(
            f"    #{a.attempt}  {_time(a.at)}  {result:<9} {a.duration_ms:>6} ms  "
            f"{a.action.replace('_', ' ')}"
            + (f"  ({a.error})" if a.error and a.status is not None else "")
        )
    if endpoint.next_step:
        lines.append(f"    to send it again: {endpoint.next_step}")
    return lines


def trace_json(trace: EventTrace, target: Target) -> dict[str, Any]:
    first = trace.publications[0] if trace.publications else None
    return {
        "event_id": trace.event_id,
        "found": True,
        "contact_id": first.contact_id if first else None,
        "activity_type": first.activity_type if first else None,
        "occurred_at": first.occurred_at if first else None,
        "publications": [_publication_json(p, target) for p in trace.publications],
        "deliveries": [
            {
                "endpoint_id": e.endpoint_id,
                "url": e.url,
                "state": e.state.value,
                "dead_lettered": e.state is DeliveryState.DEAD_LETTERED,
                "parked_at": e.parked_at.isoformat() if e.parked_at else None,
                "redrive": e.next_step,
                "attempts": [
                    {
                        "attempt": a.attempt,
                        "at": a.at.isoformat(),
                        "status": a.status,
                        "error": a.error,
                        "duration_ms": a.duration_ms,
                        "action": a.action,
                    }
                    for a in e.attempts
                ],
            }
            for e in trace.endpoints
        ],
    }


def _publication_json(publication: Publication, target: Target) -> dict[str, Any]:
    return {
        "event_id": publication.event_id,
        "published_at": publication.published_at.isoformat(),
        "via": publication.origin,
        "channels": _channels(target),
        "message_id": publication.message_id,
        "contact_id": publication.contact_id,
        "activity_type": publication.activity_type,
        "occurred_at": publication.occurred_at,
    }


def _channels(target: Target) -> dict[str, str]:
    """The topic (what the fan-out received the event from) and the bus, published next."""
    return {
        "sns_topic": target.outputs.get("TopicArn", "(the stack's)"),
        "eventbridge_bus": target.outputs.get("BusName", "(the stack's)"),
    }


def _when(publication: Publication) -> str:
    return _time(publication.published_at)


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _plain(value: str | None) -> str:
    return value if value else "-"
