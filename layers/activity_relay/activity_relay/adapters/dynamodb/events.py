"""The webhook event table (DynamoDB): every event the fan-out received, kept `retention` for
`relay webhooks replay` and `relay events`.

Key: `hour` (hash) and `event_key` (range: `<publication time, UTC, microseconds>#<event
id>#<message id>`); the same SQS message stored twice is one item of each kind. Per event:
- the event: `hour` = the UTC hour of publication (`2026-03-01T09`), so a time range is one
  Query per hour, oldest first; attributes `body` (the document exactly as published),
  `attributes` (its filter attributes), `event_id`, `message_id`;
- two index items without the body (under 1 KB: one write unit each), `hour` = `event#<event
  id>` and `contact#<contact id>` (none for a document without a contact), so that an event's
  publications and a contact's events are each one Query: `event_id`, `message_id`,
  `attributes`, `origin` and `occurred_at` (`relay events`, core/webhooks_out/trace.py).
No hour starts with `event#` or `contact#`, so a time range never meets an index item. Every
item has `expires_at` (the table's TTL). Writes go in BatchWriteItem calls of up to 25 items;
what DynamoDB leaves unprocessed is written again, and an event any of whose items still is not
is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.core.webhooks_out.ports import StoredEvent
from activity_relay.core.webhooks_out.trace import Publication, publication_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_ITEMS = 25
"""BatchWriteItem's limit; items here are at most 256 KB + keys, so 16 MB a call never binds."""
DEFAULT_RETENTION = timedelta(days=14)
EVENT_INDEX = "event#"
CONTACT_INDEX = "contact#"


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
        items = [(event, item) for event in events for item in self._items(event)]
        failed: dict[int, StoredEvent] = {}
        for start in range(0, len(items), BATCH_ITEMS):
            for event in self._write(items[start : start + BATCH_ITEMS]):
                failed[id(event)] = event
        return [event for event in events if id(event) in failed]

    def between(self, since: datetime, until: datetime) -> Iterator[StoredEvent]:
        for hour in _hours(since, until):
            for item in self._query(hour, _stamp(since), _stamp(until)):
                yield _event(item)

    def publications(self, event_id: str) -> list[Publication]:
        """Each publication of the event still kept, oldest first."""
        return [_publication(item) for item in self._query(f"{EVENT_INDEX}{event_id}")]

    def publications_of_contact(
        self, contact_id: str, since: datetime, until: datetime
    ) -> Iterator[Publication]:
        """The contact's events published in [since, until), oldest first."""
        for item in self._query(f"{CONTACT_INDEX}{contact_id}", _stamp(since), _stamp(until)):
            yield _publication(item)

    def _query(
        self, partition: str, since: str | None = None, until: str | None = None
    ) -> Iterator[dict[str, Any]]:
        condition = "#hour = :hour"
        values: dict[str, Any] = {":hour": {"S": partition}}
        if since is not None and until is not None:
            condition += " AND event_key BETWEEN :since AND :until"
            values |= {":since": {"S": since}, ":until": {"S": until}}
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#hour": "hour"},
            ExpressionAttributeValues=values,
        ):
            yield from page.get("Items", [])

    def _write(self, chunk: Sequence[tuple[StoredEvent, dict[str, Any]]]) -> list[StoredEvent]:
        by_key = {
            (item["hour"]["S"], item["event_key"]["S"]): (event, item) for event, item in chunk
        }
        pending: list[Any] = [{"PutRequest": {"Item": item}} for _, item in by_key.values()]
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
        return [
            by_key[(item["hour"]["S"], item["event_key"]["S"])][0]
            for item in (request["PutRequest"]["Item"] for request in pending)
        ]

    def _items(self, event: StoredEvent) -> list[dict[str, Any]]:
        """The event's item and its index items (module docstring)."""
        publication = publication_of(event)
        common = {
            "event_key": {"S": _event_key(event)},
            "event_id": {"S": event.event_id},
            "attributes": {
                "M": {name: {"S": value} for name, value in event.attributes.items() if value}
            },
            "message_id": {"S": event.message_id or "-"},
            "expires_at": {"N": str(int((event.published_at + self._retention).timestamp()))},
        }
        index = dict(common)
        if publication.origin:
            index["origin"] = {"S": publication.origin}
        if publication.occurred_at:
            index["occurred_at"] = {"S": publication.occurred_at}
        partitions = [f"{EVENT_INDEX}{event.event_id}"]
        if publication.contact_id:
            partitions.append(f"{CONTACT_INDEX}{publication.contact_id}")
        return [
            {"hour": {"S": _hour(event.published_at)}, **common, "body": {"S": event.body}},
            *({"hour": {"S": partition}, **index} for partition in partitions),
        ]


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
    published_at, message_id = _published(item)
    return StoredEvent(
        event_id=str(item["event_id"]["S"]),
        body=str(item["body"]["S"]),
        published_at=published_at,
        attributes=_attributes(item),
        message_id=message_id,
    )


def _publication(item: Mapping[str, Any]) -> Publication:
    published_at, message_id = _published(item)
    return Publication(
        event_id=str(item["event_id"]["S"]),
        published_at=published_at,
        message_id=message_id,
        origin=item["origin"]["S"] if "origin" in item else None,
        occurred_at=item["occurred_at"]["S"] if "occurred_at" in item else None,
        attributes=_attributes(item),
    )


def _published(item: Mapping[str, Any]) -> tuple[datetime, str]:
    """When and as which SNS message: from the item's key."""
    key = str(item["event_key"]["S"])
    stamp, message_id = key.split("#", 1)[0], key.rsplit("#", 1)[1]
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return when, "" if message_id == "-" else message_id


def _attributes(item: Mapping[str, Any]) -> dict[str, str | None]:
    return {
        name: str(value["S"]) for name, value in item.get("attributes", {}).get("M", {}).items()
    }
