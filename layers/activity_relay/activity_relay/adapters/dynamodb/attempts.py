"""The webhook attempt table (DynamoDB): per endpoint, what its deliveries did.

Key: `endpoint_id` (hash) and `item` (range):
- `count#<event id>#<message id>`: the POSTs one delivery (one message on the delivery queue)
  has sent, counted with one UpdateItem before each POST; kept COUNT_RETENTION, longer than a
  message stays on the delivery queue.
- `attempt#<ISO time>#<event id>#<n>`: each attempt's status, for `relay webhooks show`;
  kept ATTEMPT_RETENTION.
- `parked#<event id>`: a delivery that found its endpoint disabled, body and all, until
  `relay webhooks enable` holds it (`held_until`, a conditional update), queues it and removes
  it, or the deliverer that found the endpoint enabled claims it (a conditional delete that no
  live hold allows: exactly once), or `retention` ends.

Every item expires by the table's TTL attribute `expires_at`. Attempts and parked deliveries
carry `event_id`, which the index EVENT_INDEX (template.yaml) keys, with what `relay events
show` prints of them (not the parked body): one event's history is one Query (`history`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from activity_relay.adapters.dynamodb.codec import condition_failed
from activity_relay.core.webhooks_out.attempts import AttemptRecord
from activity_relay.core.webhooks_out.ports import Delivery, ParkedDelivery

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

COUNT_PREFIX = "count#"
ATTEMPT_PREFIX = "attempt#"
PARKED_PREFIX = "parked#"
COUNT_RETENTION = timedelta(days=5)
ATTEMPT_RETENTION = timedelta(days=14)
DEFAULT_PARK_RETENTION = timedelta(days=14)
MAX_ERROR_CHARS = 500
EVENT_INDEX = "AttemptsByEvent"
"""The attempt table's index by event id, as template.yaml names it."""


class DynamoDbDeliveryLedger:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        park_retention: timedelta = DEFAULT_PARK_RETENTION,
    ) -> None:
        self._client = client
        self._table = table_name
        self._park_retention = park_retention

    def count_attempt(self, delivery: Delivery, event_id: str, at: datetime) -> int:
        response = self._client.update_item(
            TableName=self._table,
            Key=_key(delivery.endpoint_id, f"{COUNT_PREFIX}{event_id}#{delivery.message_id}"),
            UpdateExpression="ADD attempts :one SET expires_at = :expires",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":expires": _expiry(at + COUNT_RETENTION),
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["attempts"]["N"])

    def record_attempt(self, record: AttemptRecord) -> None:
        item: dict[str, Any] = {
            **_key(
                record.endpoint_id,
                f"{ATTEMPT_PREFIX}{record.at.isoformat()}#{record.event_id}#{record.attempt}",
            ),
            "event_id": {"S": record.event_id},
            "attempt": {"N": str(record.attempt)},
            "at": {"S": record.at.isoformat()},
            "duration_ms": {"N": str(record.duration_ms)},
            "action": {"S": record.action},
            "expires_at": _expiry(record.at + ATTEMPT_RETENTION),
        }
        if record.status is not None:
            item["status_code"] = {"N": str(record.status)}
        if record.retry_at is not None:
            item["retry_at"] = {"S": record.retry_at.isoformat()}
        if record.error:
            item["error"] = {"S": record.error[:MAX_ERROR_CHARS]}
        self._client.put_item(TableName=self._table, Item=item)

    def attempts(self, endpoint_id: str, limit: int = 20) -> list[AttemptRecord]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="endpoint_id = :id AND begins_with(#item, :prefix)",
            ExpressionAttributeNames={"#item": "item"},
            ExpressionAttributeValues={":id": {"S": endpoint_id}, ":prefix": {"S": ATTEMPT_PREFIX}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_attempt(endpoint_id, item) for item in response.get("Items", [])]

    def history(self, event_id: str) -> tuple[list[AttemptRecord], list[ParkedDelivery]]:
        """Every endpoint's attempts at the event and its parked deliveries (without their body)."""
        attempts: list[AttemptRecord] = []
        parked: list[ParkedDelivery] = []
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            IndexName=EVENT_INDEX,
            KeyConditionExpression="event_id = :id",
            ExpressionAttributeValues={":id": {"S": event_id}},
        ):
            for item in page.get("Items", []):
                endpoint_id, kind = str(item["endpoint_id"]["S"]), str(item["item"]["S"])
                if kind.startswith(ATTEMPT_PREFIX):
                    attempts.append(_attempt(endpoint_id, item))
                elif kind.startswith(PARKED_PREFIX):
                    parked.append(_parked(endpoint_id, item))
        return attempts, parked

    def park(self, delivery: Delivery, event_id: str, at: datetime) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                **_key(delivery.endpoint_id, f"{PARKED_PREFIX}{event_id}"),
                "event_id": {"S": event_id},
                "body": {"S": delivery.body},
                "parked_at": {"S": at.isoformat()},
                "expires_at": _expiry(at + self._park_retention),
            },
        )

    def claim_parked(
        self, endpoint_id: str, event_id: str, *, now: datetime
    ) -> ParkedDelivery | None:
        try:
            response = self._client.delete_item(
                TableName=self._table,
                Key=_key(endpoint_id, f"{PARKED_PREFIX}{event_id}"),
                ConditionExpression=f"attribute_exists(endpoint_id) AND {_NOT_HELD}",
                ExpressionAttributeValues={":now": _epoch(now)},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        item = response.get("Attributes")
        return _parked(endpoint_id, dict(item)) if item else None

    def hold_parked(
        self, endpoint_id: str, event_id: str, *, until: datetime, now: datetime
    ) -> ParkedDelivery | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(endpoint_id, f"{PARKED_PREFIX}{event_id}"),
                UpdateExpression="SET held_until = :until",
                ConditionExpression=f"attribute_exists(endpoint_id) AND {_NOT_HELD}",
                ExpressionAttributeValues={":now": _epoch(now), ":until": _epoch(until)},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return _parked(endpoint_id, dict(response.get("Attributes", {})))

    def release_parked(self, endpoint_id: str, event_id: str) -> None:
        self._client.delete_item(
            TableName=self._table, Key=_key(endpoint_id, f"{PARKED_PREFIX}{event_id}")
        )

    def parked(self, endpoint_id: str) -> Iterator[ParkedDelivery]:
        for item in self._items(endpoint_id, PARKED_PREFIX):
            yield _parked(endpoint_id, item)

    def forget(self, endpoint_id: str) -> None:
        for item in self._items(endpoint_id, "", keys_only=True):
            self._client.delete_item(
                TableName=self._table,
                Key={"endpoint_id": item["endpoint_id"], "item": item["item"]},
            )

    def _items(
        self, endpoint_id: str, prefix: str, *, keys_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        request: dict[str, Any] = {
            "TableName": self._table,
            "ConsistentRead": True,
            "KeyConditionExpression": "endpoint_id = :id",
            "ExpressionAttributeValues": {":id": {"S": endpoint_id}},
        }
        if prefix:
            request["KeyConditionExpression"] += " AND begins_with(#item, :prefix)"
            request["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
            request["ExpressionAttributeNames"] = {"#item": "item"}
        if keys_only:
            request["ProjectionExpression"] = "endpoint_id, #item"
            request["ExpressionAttributeNames"] = {"#item": "item"}
        for page in paginator.paginate(**request):
            yield from page.get("Items", [])


def _key(endpoint_id: str, item: str) -> dict[str, Any]:
    return {"endpoint_id": {"S": endpoint_id}, "item": {"S": item}}


def _expiry(when: datetime) -> dict[str, str]:
    return {"N": str(int(when.timestamp()))}


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value and "S" in value else None


def _parked(endpoint_id: str, item: dict[str, Any]) -> ParkedDelivery:
    held = item.get("held_until", {}).get("N")
    return ParkedDelivery(
        endpoint_id=endpoint_id,
        event_id=_text(item, "event_id") or "",
        body=_text(item, "body") or "",
        parked_at=datetime.fromisoformat(_text(item, "parked_at") or "1970-01-01T00:00:00+00:00"),
        held_until=datetime.fromtimestamp(float(held), UTC) if held is not None else None,
    )


_NOT_HELD = "(attribute_not_exists(held_until) OR held_until <= :now)"
"""A parked delivery no enable holds (any more: a hold outlives no holder)."""


def _epoch(at: datetime) -> dict[str, str]:
    return {"N": f"{at.timestamp():.6f}"}


def _attempt(endpoint_id: str, item: dict[str, Any]) -> AttemptRecord:
    status = item.get("status_code", {}).get("N")
    retry_at = _text(item, "retry_at")
    return AttemptRecord(
        endpoint_id=endpoint_id,
        event_id=_text(item, "event_id") or "",
        attempt=int(item["attempt"]["N"]),
        at=datetime.fromisoformat(str(item["at"]["S"])),
        status=int(status) if status is not None else None,
        error=_text(item, "error"),
        duration_ms=int(item.get("duration_ms", {}).get("N", "0")),
        action=_text(item, "action") or "",
        retry_at=datetime.fromisoformat(retry_at) if retry_at else None,
    )
