"""``relay webhooks enable | redrive | replay``: deliveries sent again.

- enable ID: the endpoint delivers again, starting with what it missed while disabled (the
  deliveries parked for it, each held, queued and removed: sent once, and an interrupted
  enable loses none), unless --skip-missed.
- redrive ID: its dead-lettered deliveries back onto the delivery queue; --events: dead-lettered
  events that reached no endpoint (the fan-out failed them) back onto the event queue.
- replay ID --since T [--until T] [--filter JSON]: the events of a time range, from the event
  table, delivered to the endpoint again (same webhook-id; its filter and --filter apply).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import batched
from typing import IO, TYPE_CHECKING, Any

from activity_relay.adapters.sqs.batch import SqsBatchSender, SqsEntry
from activity_relay.core.webhooks_out.filters import matches
from activity_relay.core.webhooks_out.parking import CHUNK, resume_parked
from activity_relay.core.webhooks_out.ports import ENDPOINT_ATTRIBUTE, Delivery
from relay_cli.commands.webhook_stack import (
    DEAD_LETTERS,
    EVENT_QUEUE,
    WebhookStack,
    endpoint_id_of,
    existing_endpoint,
    filter_policy,
    now,
)
from relay_cli.exit_status import status_of
from relay_cli.sqs import SEND_ATTEMPTS, delete, peek, show_again
from relay_cli.target import Target, UsageError
from relay_cli.times import parse_time

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef


def add_parsers(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    enable = actions.add_parser("enable", help="deliver again, with what it missed meanwhile")
    enable.add_argument("endpoint_id", help="the id add printed")
    enable.add_argument(
        "--skip-missed", action="store_true", help="drop what it missed while disabled"
    )
    enable.set_defaults(run=run_enable)

    redrive = actions.add_parser("redrive", help="send dead-lettered deliveries again")
    redrive.add_argument("endpoint_id", nargs="?", help="the endpoint whose dead letters to send")
    redrive.add_argument(
        "--events",
        action="store_true",
        help="instead: dead-lettered events that reached no endpoint, fanned out again",
    )
    redrive.add_argument("--max", type=int, default=1000, help="at most this many (default 1000)")
    redrive.set_defaults(run=run_redrive)

    replay = actions.add_parser("replay", help="deliver a time range of events again")
    replay.add_argument("endpoint_id", help="the id add printed")
    replay.add_argument("--since", required=True, help="ISO 8601 time, or 90m / 6h / 3d ago")
    replay.add_argument("--until", help="ISO 8601 time, or 90m / 6h / 3d ago (default: now)")
    replay.add_argument("--filter", help="only events this SNS filter policy matches too")
    replay.add_argument("--json", action="store_true", help="print JSON")
    replay.set_defaults(run=run_replay)


def run_enable(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    """Enable, then queue what was parked (core/webhooks_out/parking.py: an interrupted enable
    leaves the rest parked for the next one, and loses nothing)."""
    endpoint_id = endpoint_id_of(args)
    stack = WebhookStack(target)
    if not stack.endpoints.enable(endpoint_id):  # refused for an endpoint missing or removed
        raise UsageError(f"no endpoint {endpoint_id}")
    resumed = resume_parked(
        stack.ledger, stack.queue, endpoint_id, now=datetime.now(UTC), drop=args.skip_missed
    )
    if args.skip_missed:
        print(f"{endpoint_id} enabled; {resumed.dropped} missed delivery(ies) dropped", file=out)
        return 0
    print(f"{endpoint_id} enabled; {resumed.queued} delivery(ies) it missed queued", file=out)
    if resumed.unsent:
        print(f"{resumed.unsent} could not be queued; they stay parked (enable again)", file=err)
        return 1
    return 0


def _endpoint_of(message: MessageTypeDef) -> str | None:
    attribute = (message.get("MessageAttributes") or {}).get(ENDPOINT_ATTRIBUTE)
    return attribute.get("StringValue") if attribute else None


def run_redrive(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    if args.events == bool(args.endpoint_id):
        raise UsageError("name an endpoint, or pass --events (not both)")
    stack = WebhookStack(target)
    dlq_url = target.output(DEAD_LETTERS)
    endpoint_id = None if args.events else endpoint_id_of(args)
    messages = peek(stack.sqs, dlq_url, args.max)
    movable = [m for m in messages if _endpoint_of(m) == endpoint_id]
    kept = [m for m in messages if _endpoint_of(m) != endpoint_id]
    sent: list[MessageTypeDef] = []
    try:
        if endpoint_id is not None:
            deliveries = [Delivery(endpoint_id, m.get("Body", "")) for m in movable]
            failed = {id(d) for d, _ in stack.queue.enqueue(deliveries)}
            unsent = {i for i, d in enumerate(deliveries) if id(d) in failed}
        else:
            unsent = _fan_out_again(stack, target.output(EVENT_QUEUE), movable)
        sent = [m for i, m in enumerate(movable) if i not in unsent]
        kept += [m for i, m in enumerate(movable) if i in unsent]
        for start in range(0, len(sent), 10):
            delete(stack.sqs, dlq_url, sent[start : start + 10])
    finally:
        show_again(stack.sqs, dlq_url, kept)
    what = "event(s) to the fan-out" if endpoint_id is None else f"delivery(ies) to {endpoint_id}"
    print(f"redrove {len(sent)} {what}", file=out)
    if len(sent) < len(movable):
        print(f"{len(movable) - len(sent)} could not be sent; they stay dead-lettered", file=err)
    return status_of(len(sent), len(movable) - len(sent))


def _fan_out_again(stack: WebhookStack, queue_url: str, messages: Sequence[Any]) -> set[int]:
    """Dead-lettered events back onto the event queue, their filter attributes kept."""
    entries = [
        SqsEntry(
            m.get("Body", ""),
            attributes={
                name: value["StringValue"]
                for name, value in (m.get("MessageAttributes") or {}).items()
                if "StringValue" in value
            },
        )
        for m in messages
    ]
    outcome = SqsBatchSender(stack.sqs, queue_url, attempts=SEND_ATTEMPTS).send(entries)
    return {index for index, _ in outcome.failed}


def run_replay(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    stack, endpoint = existing_endpoint(args, target)
    at = now()
    since = parse_time(args.since, at, "--since")
    until = parse_time(args.until, at, "--until") if args.until else at + timedelta(seconds=1)
    if since >= until:
        raise UsageError("--since must be before --until")
    extra = filter_policy(args.filter)
    queued = unsent = 0
    for chunk in batched(
        (
            Delivery(endpoint.endpoint_id, event.body)
            for event in stack.events.between(since, until)
            if matches(endpoint.filter_policy, event.attributes)
            and matches(extra, event.attributes)
        ),
        CHUNK,
    ):
        failed = stack.queue.enqueue(chunk)
        queued += len(chunk) - len(failed)
        unsent += len(failed)
    if args.json:
        print(json.dumps({"queued": queued, "not_queued": unsent}), file=out)
    else:
        print(
            f"replaying {queued} event(s) of {since.isoformat()} .. {until.isoformat()} "
            f"to {endpoint.endpoint_id}",
            file=out,
        )
    if unsent:
        print(f"{unsent} could not be queued; replay that range again", file=err)
    return status_of(queued, unsent)
