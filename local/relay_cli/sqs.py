"""SQS calls the commands share: sends (through the relay's own batch sender), deletes, and
peeks at a queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from activity_relay.adapters.sqs.batch import BatchOutcome, SqsBatchSender, SqsEntry
from relay_cli.target import UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

SQS_BATCH: Final = 10
SEND_ATTEMPTS: Final = 4
"""Tries per message SQS failed on its side (SenderFault false), or whose call failed, before
it is reported."""
PEEK_VISIBILITY: Final = 30
"""Seconds a dead letter stays hidden while listed or redriven, then shown again at once."""


def send_batch(
    sqs: SQSClient, queue_url: str, bodies: Sequence[str], sleep: Callable[[float], None]
) -> BatchOutcome:
    """``bodies`` sent as the relay sends (SqsBatchSender), with the CLI's SEND_ATTEMPTS; a
    message without a delay of its own waits the queue's."""
    sender = SqsBatchSender(sqs, queue_url, attempts=SEND_ATTEMPTS, sleep=sleep)
    return sender.send([SqsEntry(body) for body in bodies])


def delete(sqs: SQSClient, queue_url: str, messages: Sequence[MessageTypeDef]) -> None:
    response = sqs.delete_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ],
    )
    if response.get("Failed"):
        raise UsageError(f"could not delete {len(response['Failed'])} message(s) from {queue_url}")


def peek(sqs: SQSClient, queue_url: str, limit: int) -> list[MessageTypeDef]:
    """Up to ``limit`` messages, hidden for PEEK_VISIBILITY so none is read twice."""
    messages: list[MessageTypeDef] = []
    while len(messages) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(SQS_BATCH, limit - len(messages)),
            VisibilityTimeout=PEEK_VISIBILITY,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        ).get("Messages", [])
        if not batch:
            break
        messages.extend(batch)
    return messages


def show_again(sqs: SQSClient, queue_url: str, messages: Sequence[MessageTypeDef]) -> None:
    for start in range(0, len(messages), SQS_BATCH):
        chunk = messages[start : start + SQS_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)
            ],
        )
