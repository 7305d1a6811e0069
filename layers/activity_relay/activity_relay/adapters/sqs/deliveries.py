"""The webhook delivery queue: one message per event and endpoint, its visibility carrying the
retries.

A delivery's body is the event document exactly as published (it is what gets signed); the
endpoint rides in the message attribute `webhook_endpoint_id`. Dead letters keep both and add
`last_status`, `reason`, `event_id` and `attempts` (dead_letters.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from activity_relay.adapters.sqs.batch import SqsBatchSender, SqsEntry
from activity_relay.core.webhooks_out.ports import ENDPOINT_ATTRIBUTE, Delivery

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)


class SqsDeliveryQueue:
    def __init__(self, client: SQSClient, queue_url: str, sender: SqsBatchSender | None = None):
        self._client = client
        self._queue_url = queue_url
        self._sender = sender or SqsBatchSender(client, queue_url)

    def enqueue(self, deliveries: Sequence[Delivery]) -> list[tuple[Delivery, str]]:
        outcome = self._sender.send(
            [SqsEntry(d.body, attributes={ENDPOINT_ATTRIBUTE: d.endpoint_id}) for d in deliveries]
        )
        for index, why in outcome.failed:
            logger.warning("delivery to %s not queued: %s", deliveries[index].endpoint_id, why)
        return [(deliveries[index], why) for index, why in outcome.failed]

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=delivery.receipt, VisibilityTimeout=seconds
        )
