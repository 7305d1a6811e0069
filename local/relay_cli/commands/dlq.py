"""``relay dlq list``, ``redrive`` and ``purge``: the dead-letter queue.

Each dead letter is shown under the message id the sync function logged: a message the function
rejected carries it as the ``original_message_id`` attribute (the copy on the dead-letter queue
has a new id); one SQS moved there after ``maxReceiveCount`` receives keeps its own id.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import IO, TYPE_CHECKING

from relay_cli.confirm import confirmed
from relay_cli.exit_status import EXIT_USAGE, status_of
from relay_cli.sqs import SQS_BATCH, delete, peek, send_batch, show_again
from relay_cli.target import Target

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef


def _attribute(message: MessageTypeDef, name: str) -> str | None:
    attribute = (message.get("MessageAttributes") or {}).get(name)
    return attribute.get("StringValue") if attribute else None


def _rejection(message: MessageTypeDef) -> str | None:
    return _attribute(message, "rejection_reason")


def original_message_id(message: MessageTypeDef) -> str:
    """The id the message had on the contact queue, as the sync function logged it."""
    return _attribute(message, "original_message_id") or message["MessageId"]


def run_list(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    sqs, queue_url = target.sqs(), target.output("DeadLetterQueueUrl")
    messages = peek(sqs, queue_url, args.max)
    try:
        for message in messages:
            attributes = message.get("Attributes") or {}
            sent = attributes.get("SentTimestamp")
            sent_at = (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sent) / 1000)) if sent else "?"
            )
            reason = _rejection(message)
            why = f"rejected: {reason}" if reason else "failed every receive (maxReceiveCount)"
            body = message.get("Body", "")
            if args.json:
                print(
                    json.dumps(
                        {
                            "message_id": original_message_id(message),
                            "dead_letter_message_id": message["MessageId"],
                            "sent_at": sent_at,
                            "body": body,
                            "reason": why,
                            "rejection_reason": reason,
                        }
                    ),
                    file=out,
                )
            else:
                print(f"{original_message_id(message)}  {sent_at}  {body[:60]!r}  {why}", file=out)
    finally:
        show_again(sqs, queue_url, messages)
    if not args.json:
        print(f"{len(messages)} message(s) in {queue_url}", file=out)
    return 0


def run_redrive(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    sqs = target.sqs()
    dlq_url, queue_url = target.output("DeadLetterQueueUrl"), target.output("ContactQueueUrl")
    messages = peek(sqs, dlq_url, args.max)
    kept: list[MessageTypeDef] = []
    moved = failed = 0
    try:
        movable = [m for m in messages if args.include_rejected or _rejection(m) is None]
        kept = [m for m in messages if m not in movable]
        for start in range(0, len(movable), SQS_BATCH):
            chunk = movable[start : start + SQS_BATCH]
            outcome = send_batch(sqs, queue_url, [m.get("Body", "") for m in chunk], time.sleep)
            sent, not_sent = outcome.sent, outcome.failed
            if sent:
                delete(sqs, dlq_url, [chunk[index] for index in sent])
            kept.extend(chunk[index] for index, _ in not_sent)
            moved += len(sent)
            failed += len(not_sent)
            for index, why in not_sent:
                print(f"not redriven: {chunk[index].get('Body', '')[:60]!r} ({why})", file=err)
    finally:
        show_again(sqs, dlq_url, kept)
    print(f"redrove {moved} message(s) to {queue_url}", file=out)
    rejected = sum(1 for m in kept if _rejection(m) is not None)
    if rejected:
        print(
            f"left {rejected} rejected message(s): their bodies name no contact "
            "(--include-rejected sends them anyway)",
            file=out,
        )
    return status_of(moved, failed)


def run_purge(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    sqs, queue_url = target.sqs(), target.output("DeadLetterQueueUrl")
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    count = int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
    )
    if not confirmed(
        f"Delete about {count} dead letter(s) from {queue_url}?",
        yes=args.yes,
        without_terminal="dlq purge deletes every dead letter: confirm with --yes",
        err=err,
    ):
        print("nothing purged", file=out)
        return EXIT_USAGE
    sqs.purge_queue(QueueUrl=queue_url)
    print(f"purged {queue_url} (about {count} message(s); SQS takes up to 60 s)", file=out)
    return 0
