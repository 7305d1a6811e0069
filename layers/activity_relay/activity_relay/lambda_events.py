"""The SQS event Lambda hands a handler, read into what the handlers use of it, and the partial
batch response a handler returns.

Powertools' `SQSEvent` would do, but importing it loads its whole `data_classes` package (every
event source's class), a tenth of a handler's cold import (benchmarks/cold_start.py), for six
keys of a documented dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class SqsRecord:
    message_id: str
    body: str
    receipt_handle: str
    event_source_arn: str
    sent_timestamp_ms: int | None  # attributes.SentTimestamp
    receive_count: int  # attributes.ApproximateReceiveCount; 1 when absent
    string_attributes: Mapping[str, str]  # messageAttributes that carry a stringValue


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
