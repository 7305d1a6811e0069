"""SendMessageBatch, written once: the contact queue, the webhook queues and the relay CLI all
send through SqsBatchSender.

Calls are sized the way SQS counts them: at most BATCH_SIZE entries and MAX_BATCH_BYTES per
call, each message (its body plus every attribute's name, data type and value) at most
MAX_MESSAGE_BYTES. A message over that limit is never sent: it fails alone, reported with the
reason, and the rest of its batch goes out. Counting by entries only, one 224 KB event fanned
out to five endpoints made a 1.1 MB call that SQS refused whole, on every try.
"""

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
MAX_BATCH_BYTES = 1_048_576
"""SendMessageBatch's limit on the sum of its messages' sizes (1 MiB)."""
MAX_MESSAGE_BYTES = 262_144
"""The relay's limit on one message (256 KiB): what SNS and EventBridge carry, so every event
document fits, and what SQS took per message before 2025."""
ATTRIBUTE_TYPE = "String"
TOO_LARGE = "MessageTooLong"


@dataclass(frozen=True, slots=True)
class SqsEntry:
    """One message to send."""

    body: str
    delay_seconds: int | None = None  # None: the queue's own delivery delay applies
    attributes: Mapping[str, str] = field(default_factory=dict)  # String message attributes

    @property
    def size(self) -> int:
        """Bytes as SQS counts them: the body, and each attribute's name, type and value."""
        return _utf8(self.body) + sum(
            _utf8(name) + len(ATTRIBUTE_TYPE) + _utf8(value)
            for name, value in self.attributes.items()
        )


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What became of the entries given to `SqsBatchSender.send`, by their index."""

    sent: list[int]
    """Indices SQS took, in the order it confirmed them."""
    failed: list[tuple[int, str]]
    """(index, why) of the messages not sent, by index."""


class SqsBatchSender:
    """SendMessageBatch, at most BATCH_SIZE entries and MAX_BATCH_BYTES a call.

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
        for indices in chunks([entry.size for entry in entries], outcome.failed):
            chunk = self._send([entries[index] for index in indices])
            outcome.sent.extend(indices[position] for position in chunk.sent)
            outcome.failed.extend((indices[position], why) for position, why in chunk.failed)
        outcome.failed.sort()
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


def refusal_of(size: int) -> str | None:
    """Why SQS would refuse a message of `size` bytes (attributes included), or None."""
    return (
        f"{TOO_LARGE}: {size} bytes, over {MAX_MESSAGE_BYTES}" if size > MAX_MESSAGE_BYTES else None
    )


def chunks(sizes: Sequence[int], too_large: list[tuple[int, str]]) -> list[list[int]]:
    """Indices of the entries in calls of at most BATCH_SIZE entries and MAX_BATCH_BYTES, in
    order; an entry over MAX_MESSAGE_BYTES goes in no call and into `too_large` instead."""
    calls: list[list[int]] = []
    current: list[int] = []
    total = 0
    for index, size in enumerate(sizes):
        refusal = refusal_of(size)
        if refusal is not None:
            too_large.append((index, refusal))
            continue
        if current and (len(current) == BATCH_SIZE or total + size > MAX_BATCH_BYTES):
            calls.append(current)
            current, total = [], 0
        current.append(index)
        total += size
    if current:
        calls.append(current)
    return calls


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _request(position: int, entry: SqsEntry) -> SendMessageBatchRequestEntryTypeDef:
    request: SendMessageBatchRequestEntryTypeDef = {"Id": str(position), "MessageBody": entry.body}
    if entry.delay_seconds is not None:
        request["DelaySeconds"] = entry.delay_seconds
    if entry.attributes:
        request["MessageAttributes"] = {
            name: {"DataType": ATTRIBUTE_TYPE, "StringValue": value}
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
