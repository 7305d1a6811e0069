"""SQS for webhooks: the delivery queue (one message per event and endpoint, its visibility
carrying the retries) and the webhook dead-letter queue.

A delivery's body is the event document exactly as published (it is what gets signed); the
endpoint rides in the message attribute `webhook_endpoint_id`. Dead letters keep both and add
`last_status`, `reason` and `event_id`, so `relay webhooks redrive ID` can send them again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.core.webhooks_out.ports import Delivery

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

ENDPOINT_ATTRIBUTE = "webhook_endpoint_id"
BATCH_SIZE = 10
ATTEMPTS = 3


def delivery_entry(position: int, delivery: Delivery) -> dict[str, Any]:
    return {
        "Id": str(position),
        "MessageBody": delivery.body,
        "MessageAttributes": {
            ENDPOINT_ATTRIBUTE: {"DataType": "String", "StringValue": delivery.endpoint_id}
        },
    }


def send_batches(client: SQSClient, queue_url: str, entries: Sequence[dict[str, Any]]) -> list[int]:
    """SendMessageBatch in tens, resending only the entries SQS failed (not those it blames
    on the sender); the positions of entries never sent."""
    failed: list[int] = []
    for start in range(0, len(entries), BATCH_SIZE):
        pending = {start + i: e for i, e in enumerate(entries[start : start + BATCH_SIZE])}
        refused: list[int] = []
        for _ in range(ATTEMPTS):
            try:
                batch: list[Any] = [{**entry, "Id": str(p)} for p, entry in pending.items()]
                response = client.send_message_batch(QueueUrl=queue_url, Entries=batch)
            except (ClientError, BotoCoreError) as error:
                logger.warning("SendMessageBatch of %d failed: %s", len(pending), error)
                continue
            retry = {}
            for failure in response.get("Failed", []):
                position = int(failure["Id"])
                if failure.get("SenderFault"):
                    refused.append(position)
                else:
                    retry[position] = pending[position]
                logger.warning("message not sent: %s %s", failure["Code"], failure.get("Message"))
            pending = retry
            if not pending:
                break
        failed.extend(sorted([*refused, *pending]))
    return failed


class SqsDeliveryQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def enqueue(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        entries = [delivery_entry(i, d) for i, d in enumerate(deliveries)]
        return [deliveries[i] for i in send_batches(self._client, self._queue_url, entries)]

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=delivery.receipt, VisibilityTimeout=seconds
        )


class SqsWebhookDeadLetters:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def dead_letter(
        self, delivery: Delivery, *, event_id: str, last_status: str, reason: str
    ) -> None:
        attributes = {
            ENDPOINT_ATTRIBUTE: delivery.endpoint_id,
            "event_id": event_id,
            "last_status": last_status,
            "reason": reason,
            "attempts": str(delivery.attempt),
        }
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=delivery.body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value[:256]}
                for name, value in attributes.items()
                if value  # SQS refuses empty attribute values
            },
        )
