"""SendMessageBatch, written once: the contact queue, the delivery queue and the relay CLI all
send through SqsBatchSender."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        BatchResultErrorEntryTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

BATCH_SIZE = 10
"""SendMessageBatch's limit on entries."""


@dataclass(frozen=True, slots=True)
class SqsEntry:
    """One message to send."""

    body: str
    delay_seconds: int | None = None  # None: the queue's own delivery delay applies
    attributes: Mapping[str, str] = field(default_factory=dict)  # String message attributes


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What became of the entries given to `SqsBatchSender.send`, by their index."""

    sent: list[int]
    """Indices SQS took, in the order it confirmed them."""
    failed: list[tuple[int, str]]
    """(index, why) of the messages not sent, by index."""


class SqsBatchSender:
    """SendMessageBatch, BATCH_SIZE entries a call.

    Entries SQS fails on its side, entries it does not report and failed calls are resent,
    without the entries that went through, up to `attempts` times in all with exponential
    pauses; entries it blames on the sender (SenderFault) are not, since the same request would
    fail the same way. What still fails is returned with SQS's reason, never raised.
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

    def send(self, entries: Sequence[SqsEntry]) -> BatchOutcome:
        outcome = BatchOutcome(sent=[], failed=[])
        for start in range(0, len(entries), BATCH_SIZE):
            chunk = self._send(entries[start : start + BATCH_SIZE])
            outcome.sent.extend(start + position for position in chunk.sent)
            outcome.failed.extend((start + position, why) for position, why in chunk.failed)
        return outcome

    def _send(self, chunk: Sequence[SqsEntry]) -> BatchOutcome:
        # Entry ids are positions in the chunk: unique even when a body is listed twice.
        pending = list(range(len(chunk)))
        sent: list[int] = []
        refused: dict[int, str] = {}
        why: dict[int, str] = {}
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff_seconds * 2 ** (attempt - 1))
            try:
                response = self._client.send_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[_request(position, chunk[position]) for position in pending],
                )
            except (ClientError, BotoCoreError) as error:
                why = dict.fromkeys(pending, _call_error(error))
                continue
            confirmed = [int(success["Id"]) for success in response.get("Successful", [])]
            sent.extend(confirmed)
            reported = {int(failure["Id"]): failure for failure in response.get("Failed", [])}
            retry: list[int] = []
            for position in pending:
                if position in confirmed:
                    continue
                failure = reported.get(position)
                reason = _entry_error(failure) if failure else "NotReported"
                if failure and failure.get("SenderFault"):
                    refused[position] = reason
                else:
                    retry.append(position)
                    why[position] = reason
            pending = retry
            if not pending:
                break
        failed = refused | {position: why[position] for position in pending}
        return BatchOutcome(sent=sent, failed=sorted(failed.items()))


def _request(position: int, entry: SqsEntry) -> SendMessageBatchRequestEntryTypeDef:
    request: SendMessageBatchRequestEntryTypeDef = {"Id": str(position), "MessageBody": entry.body}
    if entry.delay_seconds is not None:
        request["DelaySeconds"] = entry.delay_seconds
    if entry.attributes:
        request["MessageAttributes"] = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in entry.attributes.items()
        }
    return request


def _entry_error(failure: BatchResultErrorEntryTypeDef) -> str:
    return f"{failure.get('Code')}: {failure.get('Message', '')}".rstrip(": ")


def _call_error(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"
