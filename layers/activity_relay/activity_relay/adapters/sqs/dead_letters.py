"""Dead-letter queues as places the relay puts messages itself, with the reason as attributes:
the sync's rejected messages, and webhook deliveries that ran out of attempts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from activity_relay.adapters.sqs.batch import ATTRIBUTE_TYPE, MAX_MESSAGE_BYTES, SqsEntry
from activity_relay.core.webhooks_out.ports import ENDPOINT_ATTRIBUTE, Delivery

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

EMPTY_BODY = "(empty body)"  # SQS refuses empty message bodies
MAX_ATTRIBUTE_CHARS = 256


class SqsDeadLetters:
    """Rejected messages go here with their reason, instead of being retried."""

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


class SqsWebhookDeadLetters:
    """A delivery that cannot be delivered (out of attempts, refused by the queue, naming no
    endpoint...), its body the event document, with its endpoint, event, last status, reason
    and the POSTs it sent, so `relay webhooks redrive` can send it again.

    The body is kept whole; if body and attributes exceed a message's limit, the descriptive
    attributes go first (reason, last status, attempts), the endpoint and event last."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def dead_letter(
        self, delivery: Delivery, *, event_id: str, last_status: str, reason: str, attempts: int
    ) -> None:
        attributes = {
            ENDPOINT_ATTRIBUTE: delivery.endpoint_id,
            "event_id": event_id,
            "last_status": last_status,
            "reason": reason,
            "attempts": str(attempts),
        }
        kept = {
            name: value[:MAX_ATTRIBUTE_CHARS]
            for name, value in attributes.items()
            if value  # SQS refuses empty attribute values
        }
        for optional in ("reason", "last_status", "attempts", "event_id"):
            if SqsEntry(delivery.body or EMPTY_BODY, attributes=kept).size <= MAX_MESSAGE_BYTES:
                break
            kept.pop(optional, None)
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=delivery.body or EMPTY_BODY,
            MessageAttributes={
                name: {"DataType": ATTRIBUTE_TYPE, "StringValue": value}
                for name, value in kept.items()
            },
        )
