"""The dead-letter queue as the place for rejected messages (the only code that speaks SQS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

EMPTY_BODY = "(empty body)"  # SQS refuses empty message bodies


class SqsDeadLetters:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def reject(self, *, message_id: str, body: str, reason: str) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body or EMPTY_BODY,
            MessageAttributes={
                "rejection_reason": {"DataType": "String", "StringValue": reason},
                "original_message_id": {"DataType": "String", "StringValue": message_id},
            },
        )
