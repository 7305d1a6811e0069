"""SQS: the batch sender, the contact queue (one message per contact id) and the dead-letter
queue as the place for rejected messages. The only code of the relay that speaks SQS; the relay
CLI sends through SqsBatchSender too."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.core.contracts.contact_queue import continuation_body, release_body
from activity_relay.core.webhooks_in.ports import ReceiverUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        BatchResultErrorEntryTypeDef,
        MessageAttributeValueTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

logger = logging.getLogger(__name__)

BATCH_SIZE = 10
"""SendMessageBatch's limit on entries."""
EMPTY_BODY = "(empty body)"  # SQS refuses empty message bodies


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What became of the messages given to `SqsBatchSender.send`, by their index."""

    sent: list[int]
    """Indices SQS took, in the order it confirmed them."""
    failed: list[tuple[int, str]]
    """(index, why) of the messages not sent, by index."""


class SqsBatchSender:
    """SendMessageBatch, BATCH_SIZE messages a call: the one sender of the relay and its CLI.

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

    def send(
        self, bodies: Sequence[str], delays: Sequence[int | None] | None = None
    ) -> BatchOutcome:
        """One message per body; a delay of None leaves the queue's own delay to apply."""
        given: Sequence[int | None] = [None] * len(bodies) if delays is None else delays
        if len(given) != len(bodies):
            raise ValueError(f"{len(bodies)} messages but {len(given)} delays")
        messages = list(zip(bodies, given, strict=True))
        outcome = BatchOutcome(sent=[], failed=[])
        for start in range(0, len(messages), BATCH_SIZE):
            chunk = self._send(messages[start : start + BATCH_SIZE])
            outcome.sent.extend(start + position for position in chunk.sent)
            outcome.failed.extend((start + position, why) for position, why in chunk.failed)
        return outcome

    def _send(self, chunk: Sequence[tuple[str, int | None]]) -> BatchOutcome:
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
                    Entries=[_entry(position, *chunk[position]) for position in pending],
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


def _entry(position: int, body: str, delay: int | None) -> SendMessageBatchRequestEntryTypeDef:
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": str(position), "MessageBody": body}
    if delay is not None:
        entry["DelaySeconds"] = delay
    return entry


def _entry_error(failure: BatchResultErrorEntryTypeDef) -> str:
    return f"{failure.get('Code')}: {failure.get('Message', '')}".rstrip(": ")


def _call_error(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"


class SqsContactQueue:
    """One message per contact, its body the bare id (the contact queue's input contract), or
    with `released` the sweep's release body (core/intake.py), which pacing does not hold back;
    sent by SqsBatchSender."""

    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        *,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        released: bool = False,
    ) -> None:
        self._sender = SqsBatchSender(
            client, queue_url, attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep
        )
        self._body: Callable[[str], str] = release_body if released else str

    def enqueue(
        self, contact_ids: Sequence[str], *, delays: Sequence[int] | None = None
    ) -> list[str]:
        # Given delays are sent even when 0: SQS applies the queue's own delay only to messages
        # that name none, and the sweep's pacing must not inherit it.
        outcome = self._sender.send([self._body(c) for c in contact_ids], delays)
        for index, why in outcome.failed:
            logger.warning("contact %s not enqueued: %s", contact_ids[index], why)
        return [contact_ids[index] for index, _ in outcome.failed]


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


class SqsContactSender:
    """One contact per verified LeadLex webhook: a single SendMessage, body the bare id, no
    DelaySeconds of its own so that the queue's delivery delay gathers a burst into one sync.
    A failure raises ReceiverUnavailable: the receiver answers 503 and LeadLex delivers again."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, contact_id: str, *, activity_id: str | None) -> None:
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            "origin": {"DataType": "String", "StringValue": "leadlex_webhook"}
        }
        if activity_id:
            # For whoever reads the queue or its dead letters; the sync reads the body only.
            attributes["activity_id"] = {"DataType": "String", "StringValue": activity_id[:256]}
        try:
            self._client.send_message(
                QueueUrl=self._queue_url, MessageBody=contact_id, MessageAttributes=attributes
            )
        except (ClientError, BotoCoreError) as error:
            raise ReceiverUnavailable(f"SendMessage to the contact queue failed: {error}") from None
