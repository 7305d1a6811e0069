"""The contact queue: each QueuedContact (core/contracts/contact_queue.py) as its own message,
its body, delay and attributes as the contract writes them, sent by SqsBatchSender."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from activity_relay.adapters.sqs.batch import SqsBatchSender, SqsEntry
from activity_relay.core.contracts.contact_queue import QueuedContact

logger = logging.getLogger(__name__)


class SqsContactQueue:
    """The ContactQueue port over SQS. Given delays are sent even when 0: SQS applies the
    queue's own delay only to messages that name none, and neither the sweep's pacing nor a
    continuation may inherit it."""

    def __init__(self, sender: SqsBatchSender) -> None:
        self._sender = sender

    def send(self, messages: Sequence[QueuedContact]) -> list[QueuedContact]:
        outcome = self._sender.send(
            [SqsEntry(m.body, m.delay_seconds, m.attributes) for m in messages]
        )
        for index, why in outcome.failed:
            logger.warning("contact %s not enqueued: %s", messages[index].contact_id, why)
        return [messages[index] for index, _ in outcome.failed]
