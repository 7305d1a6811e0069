"""The webhook event table (DynamoDB): every event the fan-out received, kept `retention` for
`relay webhooks replay`.

Key: `hour` (hash: the UTC hour of publication, `2026-03-01T09`) and `event_key` (range:
`<publication time, UTC, microseconds>#<event id>#<message id>`), so a time range is one Query
per hour, oldest first, and the same SQS message stored twice is one item. Attributes: `body`
(the document exactly as published), `attributes` (its filter attributes), `event_id`, and
`expires_at` (the table's TTL). Writes go in BatchWriteItem calls of up to 25 items; what
DynamoDB leaves unprocessed is written again, and what still is not is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.core.webhooks_out.ports import StoredEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_ITEMS = 25
"""BatchWriteItem's limit; items here are at most 256 KB + keys, so 16 MB a call never binds."""
DEFAULT_RETENTION = timedelta(days=14)


class DynamoDbEventStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention
        self._attempts = attempts
        self._sleep = sleep

    def keep(self, events: Sequence[StoredEvent]) -> list[StoredEvent]:
        failed: list[StoredEvent] = []
        for start in range(0, len(events), BATCH_ITEMS):
            failed += self._write(events[start : start + BATCH_ITEMS])
        return failed

    def between(self, since: datetime, until: datetime) -> Iterator[StoredEvent]:
        paginator = self._client.get_paginator("query")
        for hour in _hours(since, until):
            for page in paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="#hour = :hour AND event_key BETWEEN :since AND :until",
                ExpressionAttributeNames={"#hour": "hour"},
                ExpressionAttributeValues={
                    ":hour": {"S": hour},
                    ":since": {"S": _stamp(since)},
                    ":until": {"S": _stamp(until)},
                },
            ):
                for item in page.get("Items", []):
                    yield _event(item)

    def _write(self, chunk: Sequence[StoredEvent]) -> list[StoredEvent]:
        by_key = {_event_key(event): event for event in chunk}
        pending: list[Any] = [
            {"PutRequest": {"Item": self._item(event)}} for event in by_key.values()
        ]
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(0.05 * 2**attempt)
            try:
                response = self._client.batch_write_item(RequestItems={self._table: pending})
            except (ClientError, BotoCoreError):
                continue  # botocore retried the call already; the whole chunk again
            pending = list((response.get("UnprocessedItems") or {}).get(self._table, []))
            if not pending:
                return []
        return [by_key[request["PutRequest"]["Item"]["event_key"]["S"]] for request in pending]

    def _item(self, event: StoredEvent) -> dict[str, Any]:
        return {
            "hour": {"S": _hour(event.published_at)},
            "event_key": {"S": _event_key(event)},
            "event_id": {"S": event.event_id},
            "body": {"S": event.body},
            "attributes": {
                "M": {name: {"S": value} for name, value in event.attributes.items() if value}
            },
            "message_id": {"S": event.message_id or "-"},
            "expires_at": {"N": str(int((event.published_at + self._retention).timestamp()))},
        }


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC)


def _hour(when: datetime) -> str:
    return _utc(when).strftime("%Y-%m-%dT%H")


def _stamp(when: datetime) -> str:
    return _utc(when).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_key(event: StoredEvent) -> str:
    return f"{_stamp(event.published_at)}#{event.event_id}#{event.message_id or '-'}"


def _hours(since: datetime, until: datetime) -> Iterator[str]:
    hour = _utc(since).replace(minute=0, second=0, microsecond=0)
    while hour < _utc(until):
        yield _hour(hour)
        hour += timedelta(hours=1)


def _event(item: Mapping[str, Any]) -> StoredEvent:
    key = str(item["event_key"]["S"])
    stamp, message_id = key.split("#", 1)[0], key.rsplit("#", 1)[1]
    return StoredEvent(
        event_id=str(item["event_id"]["S"]),
        body=str(item["body"]["S"]),
        published_at=datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
        attributes={
            name: str(value["S"]) for name, value in item.get("attributes", {}).get("M", {}).items()
        },
        message_id="" if message_id == "-" else message_id,
    )
