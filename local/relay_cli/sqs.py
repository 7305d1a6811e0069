"""SQS calls the commands share: batches of sends, deletes, and peeks at a queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from relay_cli.target import UsageError, error_text

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef, SendMessageBatchRequestEntryTypeDef

SQS_BATCH: Final = 10
SEND_ATTEMPTS: Final = 4
"""Tries per entry SQS failed on its side (SenderFault false) before it is reported."""
PEEK_VISIBILITY: Final = 30
"""Seconds a dead letter stays hidden while listed or redriven, then shown again at once."""


def send_batch(
    sqs: SQSClient,
    queue_url: str,
    bodies: Sequence[str],
    sleep: Callable[[float], None],
) -> tuple[list[int], list[tuple[int, str]]]:
    """Indices of ``bodies`` (sent, [(failed, why)]); entries SQS failed on its side (SenderFault
    false) are tried again with backoff, the others are reported at once."""
    pending = list(range(len(bodies)))
    sent: list[int] = []
    failed: list[tuple[int, str]] = []
    for attempt in range(SEND_ATTEMPTS):
        if attempt:
            sleep(0.2 * 2 ** (attempt - 1))
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(index), "MessageBody": bodies[index]} for index in pending
        ]
        try:
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except ClientError as error:
            failed.extend((index, error_text(error)) for index in pending)
            return sent, failed
        sent.extend(int(success["Id"]) for success in response.get("Successful", []))
        retry: list[int] = []
        for failure in response.get("Failed", []):
            index = int(failure["Id"])
            reason = f"{failure.get('Code')}: {failure.get('Message', '')}".rstrip(": ")
            if failure.get("SenderFault") or attempt == SEND_ATTEMPTS - 1:
                failed.append((index, reason))
            else:
                retry.append(index)
        if not retry:
            break
        pending = retry
    return sent, failed


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
