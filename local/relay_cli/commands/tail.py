"""``relay tail``: events as they arrive at a subscriber queue.

By default what it prints stays on the queue for the queue's real consumer: each message is
hidden while tail runs (so it is printed once) and shown again when tail stops. ``--delete``
deletes each message once printed, for queues that exist only to be watched.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import IO, TYPE_CHECKING

from relay_cli.events import EVENT_HEADER, event_document, format_event
from relay_cli.sqs import PEEK_VISIBILITY, SQS_BATCH, delete, show_again
from relay_cli.target import Target, UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef


def run(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    if args.subscriber and args.subscriber.startswith(("http://", "https://")):
        queues = {"queue": args.subscriber}
    elif args.subscriber:
        if args.subscriber not in target.subscribers:
            known = ", ".join(sorted(target.subscribers)) or "none known"
            raise UsageError(f"unknown subscriber {args.subscriber!r} ({known}); or a queue URL")
        queues = {args.subscriber: target.subscribers[args.subscriber]}
    else:
        queues = dict(target.subscribers)
    if not queues:
        raise UsageError("no subscriber queue: pass its URL (relay tail QUEUE_URL)")
    sqs = target.sqs()
    if not args.json:
        print(EVENT_HEADER, file=out, flush=True)
    printed = 0
    last_event = time.monotonic()
    # Without --delete: the latest receipt of each message seen, per queue, to show it again at
    # the end; a message seen before (its hiding ran out during a long tail) is not printed twice.
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
                for message in fresh:
                    document = event_document(message.get("Body", ""))
                    if document is None:
                        print(f"{name}: not an event: {message.get('Body', '')[:200]}", file=err)
                    elif args.json:
                        print(json.dumps({"subscriber": name, **document}), file=out)
                    else:
                        print(format_event(name, document), file=out)
                    if document is not None:
                        printed += 1
                out.flush()
                if fresh:
                    got_any = True
                if messages and args.delete:
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
