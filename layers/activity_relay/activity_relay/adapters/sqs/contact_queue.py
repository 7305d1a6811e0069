"""The contact queue: each QueuedContact (core/contracts/contact_queue.py) as its own message,
its body, delay and attributes as the contract writes them, sent by SqsBatchSender."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from activity_relay.adapters.sqs.batch import SqsBatchSender, SqsEntry
from activity_relay.core.contracts.contact_queue import QueuedContact

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)


class SqsContactQueue:
    """The ContactQueue port over SQS. Given delays are sent even when 0: SQS applies the
    queue's own delay only to messages that name none, and neither the sweep's pacing nor a
    continuation may inherit it."""

    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        *,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sender = SqsBatchSender(
            client, queue_url, attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep
        )

    def send(self, messages: Sequence[QueuedContact]) -> list[QueuedContact]:
        outcome = self._sender.send(
            [SqsEntry(m.body, m.delay_seconds, m.attributes) for m in messages]
        )
        for index, why in outcome.failed:
            logger.warning("contact %s not enqueued: %s", messages[index].contact_id, why)
        return [messages[index] for index, _ in outcome.failed]
