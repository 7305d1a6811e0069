"""SQS: the contact queue (one message per contact id) and the dead-letter queue as the place
for rejected messages. The only code of the relay that speaks SQS."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.core.intake import continuation_body

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

logger = logging.getLogger(__name__)

BATCH_SIZE = 10
"""SendMessageBatch's limit on entries."""
EMPTY_BODY = "(empty body)"  # SQS refuses empty message bodies


class SqsContactQueue:
    """One message per contact, its body the bare id (the contact queue's input contract).

    Entries SQS refuses are resent, alone, up to `attempts` times in all; those it blames on the
    sender (SenderFault) are not, since the same request would fail the same way.
    """

    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        *,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._queue_url = queue_url
        self._attempts = attempts
        self._backoff_seconds = backoff_seconds
        self._sleep = sleep

    def enqueue(
        self, contact_ids: Sequence[str], *, delays: Sequence[int] | None = None
    ) -> list[str]:
        # Given delays are sent even when 0: SQS applies the queue's own delay only to messages
        # that name none, and the sweep's pacing must not inherit it.
        given: Sequence[int | None] = [None] * len(contact_ids) if delays is None else delays
        entries = list(zip(contact_ids, given, strict=True))
        failed: list[str] = []
        for start in range(0, len(entries), BATCH_SIZE):
            failed.extend(self._send(entries[start : start + BATCH_SIZE]))
        return failed

    def _send(self, chunk: Sequence[tuple[str, int | None]]) -> list[str]:
        # Entry ids are positions in the chunk: unique even when an id is listed twice.
        pending = {position: contact_id for position, (contact_id, _) in enumerate(chunk)}
        delay = {position: seconds for position, (_, seconds) in enumerate(chunk)}
        refused: dict[int, str] = {}
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff_seconds * 2 ** (attempt - 1))
            try:
                response = self._client.send_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[
                        _entry(position, pending[position], delay[position]) for position in pending
                    ],
                )
            except (ClientError, BotoCoreError) as error:
                logger.warning("SendMessageBatch of %d contact(s) failed: %s", len(pending), error)
                continue
            retry: dict[int, str] = {}
            for failure in response.get("Failed", []):
                position = int(failure["Id"])
                if failure.get("SenderFault"):
                    refused[position] = pending[position]
                else:
                    retry[position] = pending[position]
                logger.warning(
                    "contact %s not enqueued: %s %s",
                    pending[position],
                    failure.get("Code"),
                    failure.get("Message", ""),
                )
            pending = retry
            if not pending:
                break
        return [contact_id for _, contact_id in sorted((refused | pending).items())]


def _entry(
    position: int, contact_id: str, delay: int | None
) -> SendMessageBatchRequestEntryTypeDef:
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": str(position), "MessageBody": contact_id}
    if delay is not None:
        entry["DelaySeconds"] = delay
    return entry


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


class SqsContinuations:
    """A sync that stopped at a checkpoint queues its own continuation on the contact queue: a
    new message, so continuing spends none of the original's receive count."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def continue_later(self, contact_id: str, *, delay_seconds: int) -> None:
        # Always an explicit delay: the queue's own (DeliveryDelaySeconds, for debouncing
        # webhooks) would only hold up work that is already under way.
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=continuation_body(contact_id),
            DelaySeconds=max(0, min(900, delay_seconds)),
        )
