"""The webhook endpoint table (DynamoDB): one item per endpoint and one per recent attempt.

Key: `endpoint_id` (hash) and `item` (range): `endpoint` for the endpoint itself,
`attempt#<ISO time>#<event id>#<attempt>` for each attempt, which expires after
ATTEMPT_RETENTION (the table's TTL attribute `expires_at`). Signing secrets are stored here as
they are, never logged: the table's encryption at rest keeps them from a lost disk, not from
someone who may read the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from activity_relay.core.webhooks_out.attempts import AttemptRecord
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.signing import SigningSecret

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ENDPOINT_ITEM = "endpoint"
ATTEMPT_PREFIX = "attempt#"
ATTEMPT_RETENTION = timedelta(days=14)

_EXISTS = "attribute_exists(endpoint_id)"


class DynamoDbEndpointStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- what delivery needs (core/webhooks_out/ports.py EndpointStore) ------------------------

    def enabled_endpoints(self) -> list[Endpoint]:
        return [e for e in self.all_endpoints() if e.enabled]

    def get(self, endpoint_id: str) -> Endpoint | None:
        item = self._client.get_item(
            TableName=self._table, Key=_key(endpoint_id), ConsistentRead=True
        ).get("Item")
        return _endpoint(item) if item else None

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
            "expires_at": {"N": str(int((record.at + ATTEMPT_RETENTION).timestamp()))},
        }
        if record.status is not None:
            item["status_code"] = {"N": str(record.status)}
        if record.error:
            item["error"] = {"S": record.error[:500]}
        self._client.put_item(TableName=self._table, Item=item)

    def record_success(self, endpoint_id: str, at: datetime) -> None:
        self._update(
            endpoint_id,
            "SET failure_streak = :zero, last_success_at = :at REMOVE first_failure_at",
            {":zero": {"N": "0"}, ":at": {"S": at.isoformat()}},
        )

    def record_failure(self, endpoint_id: str, at: datetime) -> Endpoint | None:
        item = self._update(
            endpoint_id,
            "SET first_failure_at = if_not_exists(first_failure_at, :at), "
            "failure_streak = if_not_exists(failure_streak, :zero) + :one, last_failure_at = :at",
            {":at": {"S": at.isoformat()}, ":zero": {"N": "0"}, ":one": {"N": "1"}},
        )
        return _endpoint(item) if item else None

    def disable(self, endpoint_id: str, reason: str, at: datetime) -> None:
        self._update(
            endpoint_id,
            "SET #status = :disabled, disabled_reason = :reason, disabled_at = :at",
            {
                ":disabled": {"S": "disabled"},
                ":reason": {"S": reason},
                ":at": {"S": at.isoformat()},
            },
        )

    # --- what the CLI needs ----------------------------------------------------------------

    def add(self, endpoint: Endpoint) -> None:
        item: dict[str, Any] = {
            **_key(endpoint.endpoint_id),
            "url": {"S": endpoint.url},
            "description": {"S": endpoint.description},
            "filter": {"S": json.dumps(endpoint.filter_policy, sort_keys=True)},
            "status": {"S": "enabled"},
            "failure_streak": {"N": "0"},
        }
        if endpoint.created_at is not None:
            item["created_at"] = {"S": endpoint.created_at.isoformat()}
        item["secrets"] = _secrets_value(endpoint.secrets)
        self._client.put_item(
            TableName=self._table,
            Item=item,
            ConditionExpression="attribute_not_exists(endpoint_id)",
        )

    def all_endpoints(self) -> list[Endpoint]:
        return [_endpoint(item) for item in self._scan_endpoints()]

    def enable(self, endpoint_id: str) -> bool:
        """Enabled again with a clean slate: no failure streak, no reason."""
        return (
            self._update(
                endpoint_id,
                "SET #status = :enabled, failure_streak = :zero "
                "REMOVE disabled_reason, disabled_at, first_failure_at",
                {":enabled": {"S": "enabled"}, ":zero": {"N": "0"}},
            )
            is not None
        )

    def disable_by_hand(self, endpoint_id: str, at: datetime) -> bool:
        return (
            self._update(
                endpoint_id,
                "SET #status = :disabled, disabled_reason = :reason, disabled_at = :at",
                {
                    ":disabled": {"S": "disabled"},
                    ":reason": {"S": "by hand"},
                    ":at": {"S": at.isoformat()},
                },
            )
            is not None
        )

    def replace_secrets(self, endpoint_id: str, secrets: tuple[SigningSecret, ...]) -> bool:
        return (
            self._update(
                endpoint_id, "SET secrets = :secrets", {":secrets": _secrets_value(secrets)}
            )
            is not None
        )

    def attempts(self, endpoint_id: str, limit: int = 20) -> list[AttemptRecord]:
        """The newest attempts first."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="endpoint_id = :id AND begins_with(#item, :prefix)",
            ExpressionAttributeNames={"#item": "item"},
            ExpressionAttributeValues={":id": {"S": endpoint_id}, ":prefix": {"S": ATTEMPT_PREFIX}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_attempt(endpoint_id, item) for item in response.get("Items", [])]

    def remove(self, endpoint_id: str) -> bool:
        """The endpoint and its attempts; queued deliveries to it are then dropped."""
        found = False
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="endpoint_id = :id",
            ExpressionAttributeValues={":id": {"S": endpoint_id}},
            ProjectionExpression="endpoint_id, #item",
            ExpressionAttributeNames={"#item": "item"},
        ):
            for item in page.get("Items", []):
                found = True
                self._client.delete_item(
                    TableName=self._table,
                    Key={"endpoint_id": item["endpoint_id"], "item": item["item"]},
                )
        return found

    # --- helpers ---------------------------------------------------------------------------

    def _update(
        self, endpoint_id: str, expression: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The item after the update; None when the endpoint does not exist (any more)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(endpoint_id),
            "UpdateExpression": expression,
            "ConditionExpression": _EXISTS,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if "#status" in expression:
            request["ExpressionAttributeNames"] = {"#status": "status"}
        try:
            response = self._client.update_item(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        return dict(response.get("Attributes") or {}) or None

    def _scan_endpoints(self) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table,
            FilterExpression="#item = :endpoint",
            ExpressionAttributeNames={"#item": "item"},
            ExpressionAttributeValues={":endpoint": {"S": ENDPOINT_ITEM}},
        ):
            yield from page.get("Items", [])


def _key(endpoint_id: str, item: str = ENDPOINT_ITEM) -> dict[str, Any]:
    return {"endpoint_id": {"S": endpoint_id}, "item": {"S": item}}


def _secrets_value(secrets: tuple[SigningSecret, ...]) -> dict[str, Any]:
    values: list[dict[str, Any]] = []
    for secret in secrets:
        entry: dict[str, Any] = {"value": {"S": secret.value}}
        if secret.expires_at is not None:
            entry["expires_at"] = {"S": secret.expires_at.isoformat()}
        values.append({"M": entry})
    return {"L": values}


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value and "S" in value else None


def _time(item: dict[str, Any], name: str) -> datetime | None:
    text = _text(item, name)
    return datetime.fromisoformat(text) if text else None


def _endpoint(item: dict[str, Any]) -> Endpoint:
    secrets = tuple(
        SigningSecret(
            str(entry["M"]["value"]["S"]),
            datetime.fromisoformat(entry["M"]["expires_at"]["S"])
            if "expires_at" in entry["M"]
            else None,
        )
        for entry in item.get("secrets", {}).get("L", [])
    )
    return Endpoint(
        endpoint_id=str(item["endpoint_id"]["S"]),
        url=_text(item, "url") or "",
        secrets=secrets,
        filter_policy=json.loads(_text(item, "filter") or "{}"),
        description=_text(item, "description") or "",
        enabled=_text(item, "status") != "disabled",
        disabled_reason=_text(item, "disabled_reason"),
        created_at=_time(item, "created_at"),
        first_failure_at=_time(item, "first_failure_at"),
        failure_streak=int(item.get("failure_streak", {}).get("N", "0")),
    )


def _attempt(endpoint_id: str, item: dict[str, Any]) -> AttemptRecord:
    status = item.get("status_code", {}).get("N")
    return AttemptRecord(
        endpoint_id=endpoint_id,
        event_id=_text(item, "event_id") or "",
        attempt=int(item["attempt"]["N"]),
        at=datetime.fromisoformat(str(item["at"]["S"])),
        status=int(status) if status is not None else None,
        error=_text(item, "error"),
        duration_ms=int(item.get("duration_ms", {}).get("N", "0")),
        action=_text(item, "action") or "",
    )
