"""The SQS event Lambda hands a handler, read into what the handlers use of it, the partial
batch response a handler returns, and the frame every SQS handler shares (sqs_batch_handler).

Powertools' `SQSEvent` would do, but importing it loads its whole `data_classes` package (every
event source's class), a tenth of a handler's cold import (benchmarks/cold_start.py), for six
keys of a documented dict.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from activity_relay.observability import logger, metrics, tracer
from activity_relay.runtime.environment import ConfigurationError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class SqsRecord:
    message_id: str
    body: str
    receipt_handle: str
    event_source_arn: str
    sent_timestamp_ms: int | None  # attributes.SentTimestamp
    receive_count: int  # attributes.ApproximateReceiveCount; 1 when absent
    string_attributes: Mapping[str, str]  # messageAttributes that carry a stringValue

    @property
    def sent_at(self) -> datetime | None:
        """When SQS received the message (SentTimestamp), if Lambda said."""
        sent = self.sent_timestamp_ms
        return datetime.fromtimestamp(sent / 1000, UTC) if sent is not None else None


def sqs_records(event: Mapping[str, Any]) -> list[SqsRecord]:
    return [_record(raw) for raw in event.get("Records") or ()]


def _record(raw: Mapping[str, Any]) -> SqsRecord:
    attributes: Mapping[str, Any] = raw.get("attributes") or {}
    sent = attributes.get("SentTimestamp")
    receives = attributes.get("ApproximateReceiveCount")
    message_attributes: Mapping[str, Any] = raw.get("messageAttributes") or {}
    return SqsRecord(
        message_id=raw["messageId"],
        body=raw.get("body") or "",
        receipt_handle=raw.get("receiptHandle") or "",
        event_source_arn=raw.get("eventSourceARN") or "",
        sent_timestamp_ms=int(sent) if sent else None,
        receive_count=int(receives) if receives else 1,
        string_attributes={
            name: value["stringValue"]
            for name, value in message_attributes.items()
            if isinstance(value, dict) and isinstance(value.get("stringValue"), str)
        },
    )


class Invocation(Protocol):
    """What the runtimes use of Lambda's context object."""

    def get_remaining_time_in_millis(self) -> int: ...


def batch_item_failures(message_ids: Iterable[str]) -> dict[str, Any]:
    """The partial batch response: exactly these messages go back to their queue."""
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in message_ids]}


def sqs_batch_handler(
    handle: Callable[[list[SqsRecord], LambdaContext], Iterable[str]],
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A Lambda handler of SQS batches made of `handle`, which gets the batch's records and
    returns the ids of the messages to retry: logged, traced and its metrics flushed as every
    handler is. A configuration error returns the whole batch to its queue (one line naming the
    variable; the messages wait there until it is fixed)."""

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    @functools.wraps(handle)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        records = sqs_records(event)
        try:
            return batch_item_failures(handle(records, context))
        except ConfigurationError as error:
            logger.error(f"configuration error: {error}")
            return batch_item_failures(record.message_id for record in records)

    return lambda_handler
