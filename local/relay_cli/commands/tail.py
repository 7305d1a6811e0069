"""relay tail: events as the relay publishes them, from now on.

relay tail [topic|bus]       a temporary queue on the stack's topic (SNS, raw delivery) or behind
                             a rule on its bus (EventBridge), both when neither is named; made
                             at start, removed on exit (Ctrl-C, SIGTERM, --count, --idle, errors)
relay tail QUEUE_URL         a queue you subscribed yourself: what it prints stays there for the
                             queue's consumer (hidden while tail runs, shown again when it stops)
                             unless --delete
relay tail --from-start      the local stack's own subscriber queues (make local): everything
                             published since it started that nothing has deleted
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import IO, TYPE_CHECKING

from relay_cli.events import EVENT_HEADER, event_document, format_event
from relay_cli.sqs import PEEK_VISIBILITY, SQS_BATCH, delete, show_again
from relay_cli.subscriptions import Channel, TemporarySubscribers
from relay_cli.target import Target, UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

CHANNELS = {"topic": "TopicArn", "bus": "BusName"}
"""What ``relay tail topic|bus`` watches: the stack Output naming it."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "tail", help="print events as the relay publishes them, from now on", description=__doc__
    )
    parser.add_argument(
        "subscriber", nargs="?", help="topic, bus or a queue URL (default: topic and bus)"
    )
    parser.add_argument("--count", "-n", type=int, help="stop after this many events")
    parser.add_argument("--idle", type=float, help="stop after this many seconds without events")
    parser.add_argument(
        "--from-start",
        action="store_true",
        help="the local stack's subscriber queues: every event since it started",
    )
    parser.add_argument(
        "--delete",
        action="store_true",
        help="with a queue URL or --from-start: delete what was printed (default: leave it)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document per line")
    parser.add_argument("--topic-arn", help="the relay's topic (or RELAY_TOPIC_ARN)")
    parser.add_argument("--bus-name", help="the relay's event bus (or RELAY_BUS_NAME)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    subscriber = args.subscriber
    if subscriber and subscriber.startswith(("http://", "https://")):
        if args.from_start:
            raise UsageError("--from-start reads the local stack's queues, not a queue URL")
        return watch(target.sqs(), {"queue": subscriber}, args, out, err, keep=not args.delete)
    if subscriber and subscriber not in CHANNELS:
        raise UsageError(f"unknown subscriber {subscriber!r}: topic, bus or a queue URL")
    if args.from_start:
        return watch(
            target.sqs(), _stack_queues(target, subscriber), args, out, err, keep=not args.delete
        )
    if args.delete:
        raise UsageError("--delete is for a queue URL or --from-start: tail's own queue goes")
    session = target.session()
    sqs = target.sqs()
    subscribers = TemporarySubscribers(
        sqs,
        lambda: session.client("sns", endpoint_url=target.endpoint_url),
        lambda: session.client("events", endpoint_url=target.endpoint_url),
        _channels(target, subscriber),
        err,
    )
    status = 0
    try:
        with _stopped_by_signals() as shield, subscribers as queues:
            try:
                status = watch(sqs, queues, args, out, err, keep=False)
            finally:
                shield()  # a second Ctrl-C must not leave the queue behind half removed
    except KeyboardInterrupt:
        pass  # stopped while the queues were being made; what was made is removed again
    return 1 if subscribers.left_behind else status


def _channels(target: Target, named: str | None) -> list[Channel]:
    if named is not None:
        return [Channel(named, target.output(CHANNELS[named]))]
    found = [
        Channel(name, target.outputs[o]) for name, o in CHANNELS.items() if target.outputs.get(o)
    ]
    # Neither: output() says how to name one (or that no stack was found at all).
    return found or [Channel("topic", target.output("TopicArn"))]


def _stack_queues(target: Target, named: str | None) -> dict[str, str]:
    if not target.subscribers:
        raise UsageError(
            "--from-start reads the subscriber queues the local stack made at start "
            "(make local); without one, tail from now or give a queue URL"
        )
    if named is None:
        return dict(target.subscribers)
    if named not in target.subscribers:
        raise UsageError(f"the local stack has no {named} subscriber queue")
    return {named: target.subscribers[named]}


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[Callable[[], None]]:
    """SIGTERM and SIGHUP stop the tail as Ctrl-C does; the function it yields then ignores all
    three while the tail cleans up. Signals reach the main thread only: elsewhere, no change."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    names = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {number: signal.getsignal(number) for number in names}

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    def shield() -> None:
        for number in names:
            signal.signal(number, signal.SIG_IGN)

    for number in names[1:]:
        signal.signal(number, interrupt)
    try:
        yield shield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def watch(
    sqs: SQSClient,
    queues: dict[str, str],
    args: argparse.Namespace,
    out: IO[str],
    err: IO[str],
    *,
    keep: bool,
) -> int:
    """Print what arrives at ``queues`` until --count, --idle or Ctrl-C. ``keep``: leave each
    message on its queue (hidden while tail runs, shown again at the end), else delete it."""
    if not args.json:
        print(EVENT_HEADER, file=out, flush=True)
    printed = 0
    last_event = time.monotonic()
    # With keep: the latest receipt of each message seen, per queue, to show it again at the
    # end; a message seen before (its hiding ran out during a long tail) is not printed twice.
    held: dict[str, dict[str, MessageTypeDef]] = {url: {} for url in queues.values()}
    # Short polls when watching several queues, so none waits behind another.
    wait = 1 if len(queues) > 1 else min(5, max(1, int(args.idle or 5)))
    try:
        while args.count is None or printed < args.count:
            got_any = False
            for name, url in queues.items():
                wanted = SQS_BATCH if args.count is None else min(SQS_BATCH, args.count - printed)
                if wanted <= 0:
                    break
                response = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=wanted,
                    WaitTimeSeconds=wait,
                    VisibilityTimeout=PEEK_VISIBILITY,
                )
                messages = response.get("Messages", [])
                fresh = [m for m in messages if m["MessageId"] not in held[url]]
                printed += _print(name, fresh, args.json, out, err)
                if fresh:
                    got_any = True
                if messages and not keep:
                    delete(sqs, url, messages)
                elif messages:
                    held[url].update((m["MessageId"], m) for m in messages)
            if got_any:
                last_event = time.monotonic()
            elif args.idle is not None and time.monotonic() - last_event >= args.idle:
                break
    except KeyboardInterrupt:
        pass
    finally:
        for url, seen in held.items():
            show_again(sqs, url, list(seen.values()))
    return 0


def _print(
    name: str, messages: list[MessageTypeDef], as_json: bool, out: IO[str], err: IO[str]
) -> int:
    """The events among ``messages``, one line each; how many were events."""
    events = 0
    for message in messages:
        document = event_document(message.get("Body", ""))
        if document is None:
            print(f"{name}: not an event: {message.get('Body', '')[:200]}", file=err)
            continue
        if as_json:
            print(json.dumps({"subscriber": name, **document}), file=out)
        else:
            print(format_event(name, document), file=out)
        events += 1
    out.flush()
    return events
