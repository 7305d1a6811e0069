"""The webhook endpoint table (DynamoDB): one item per endpoint, and nothing else.

Key: `endpoint_id` (hash) and `item` (range) = `endpoint`. Attempts and parked deliveries live
in the attempt table (attempts.py), so the fan-out's Scan reads endpoints only. Tables from
before that split still hold `attempt#…` items here until `relay webhooks migrate` deletes them
(or their TTL, 14 days, does); the Scan filters them out meanwhile.

Signing secrets are stored sealed (`sealed_secrets`: each a KMS ciphertext bound to the
endpoint id, adapters/kms_secrets.py), never in the clear. An endpoint registered before
sealing still has `secrets` in the clear: it is read as such (and signs) until
`relay webhooks migrate` seals it.

A removed endpoint stays as a tombstone (`status` = `removed`) until its TTL (`expires_at`,
REMOVED_RETENTION: longer than a delivery stays queued), so deliveries still queued for it are
dropped and counted rather than dead-lettered as unknown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from activity_relay.adapters.dynamodb.codec import condition_failed
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.signing import SealedSecret, SigningSecret, StoredSecret

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ENDPOINT_ITEM = "endpoint"
REMOVED_RETENTION = timedelta(days=5)
"""A removed endpoint's tombstone outlives the delivery queue's retention (4 days)."""

_LIVE = "attribute_exists(endpoint_id) AND #status <> :removed"


class DynamoDbEndpointStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- what fan-out and delivery need (core/webhooks_out/ports.py EndpointStore) -----------

    def endpoints(self) -> list[Endpoint]:
        return [e for e in (_endpoint(item) for item in self._scan()) if not e.removed]

    def get(self, endpoint_id: str) -> Endpoint | None:
        item = self._client.get_item(
            TableName=self._table, Key=_key(endpoint_id), ConsistentRead=True
        ).get("Item")
        return _endpoint(item) if item else None

    def record_success(self, endpoint_id: str, at: datetime) -> None:
        self._update(
            endpoint_id,
            "SET failure_streak = :zero, last_success_at = :at REMOVE first_failure_at",
            {":zero": {"N": "0"}, ":at": {"S": at.isoformat()}},
        )

    def record_failure(self, endpoint_id: str, at: datetime, count: int = 1) -> Endpoint | None:
        item = self._update(
            endpoint_id,
            "SET first_failure_at = if_not_exists(first_failure_at, :at), "
            "failure_streak = if_not_exists(failure_streak, :zero) + :count, last_failure_at = :at",
            {":at": {"S": at.isoformat()}, ":zero": {"N": "0"}, ":count": {"N": str(count)}},
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
            **_secrets_attribute(endpoint.secrets),
        }
        if endpoint.created_at is not None:
            item["created_at"] = {"S": endpoint.created_at.isoformat()}
        self._client.put_item(
            TableName=self._table,
            Item=item,
            ConditionExpression="attribute_not_exists(endpoint_id)",
        )

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

    def replace_secrets(
        self, endpoint_id: str, secrets: tuple[StoredSecret, ...], *, only_unsealed: bool = False
    ) -> bool:
        """Store `secrets` (all sealed: as `sealed_secrets`, the clear ones removed); with
        `only_unsealed`, only while the endpoint still holds secrets in the clear (migration
        racing a rotation loses)."""
        ((name, value),) = _secrets_attribute(secrets).items()
        expression = f"SET {name} = :secrets"
        if name == "sealed_secrets":
            expression += " REMOVE secrets"
        condition = "attribute_exists(secrets)" if only_unsealed else None
        return (
            self._update(endpoint_id, expression, {":secrets": value}, condition=condition)
            is not None
        )

    def remove(self, endpoint_id: str, at: datetime) -> bool:
        """A tombstone in its place: no URL, no secrets, gone after REMOVED_RETENTION."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **_key(endpoint_id),
                    "status": {"S": "removed"},
                    "url": {"S": ""},
                    "removed_at": {"S": at.isoformat()},
                    "expires_at": {"N": str(int((at + REMOVED_RETENTION).timestamp()))},
                },
                ConditionExpression=_LIVE,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":removed": {"S": "removed"}},
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def legacy_items(self) -> Iterator[dict[str, Any]]:
        """Keys of the attempt records tables from before the attempt table still hold here."""
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table,
            FilterExpression="#item <> :endpoint",
            ExpressionAttributeNames={"#item": "item"},
            ExpressionAttributeValues={":endpoint": {"S": ENDPOINT_ITEM}},
            ProjectionExpression="endpoint_id, #item",
        ):
            yield from page.get("Items", [])

    def delete_item(self, key: dict[str, Any]) -> None:
        self._client.delete_item(TableName=self._table, Key=key)

    # --- helpers ---------------------------------------------------------------------------

    def _update(
        self,
        endpoint_id: str,
        expression: str,
        values: dict[str, Any],
        *,
        condition: str | None = None,
    ) -> dict[str, Any] | None:
        """The item after the update; None when the endpoint does not exist (any more), is
        removed, or `condition` does not hold."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(endpoint_id),
            "UpdateExpression": expression,
            "ConditionExpression": _LIVE + (f" AND ({condition})" if condition else ""),
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {**values, ":removed": {"S": "removed"}},
            "ReturnValues": "ALL_NEW",
        }
        try:
            response = self._client.update_item(**request)
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return dict(response.get("Attributes") or {}) or None

    def _scan(self) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table,
            ConsistentRead=True,
            FilterExpression="#item = :endpoint",
            ExpressionAttributeNames={"#item": "item"},
            ExpressionAttributeValues={":endpoint": {"S": ENDPOINT_ITEM}},
        ):
            yield from page.get("Items", [])


def _key(endpoint_id: str, item: str = ENDPOINT_ITEM) -> dict[str, Any]:
    return {"endpoint_id": {"S": endpoint_id}, "item": {"S": item}}


def _secrets_attribute(secrets: tuple[StoredSecret, ...]) -> dict[str, Any]:
    """`sealed_secrets` when every secret is sealed, else (a test, a legacy copy) `secrets`."""
    if all(isinstance(s, SealedSecret) for s in secrets):
        return {"sealed_secrets": {"L": [_secret_value(s) for s in secrets]}}
    return {"secrets": {"L": [_secret_value(s) for s in secrets]}}


def _secret_value(secret: StoredSecret) -> dict[str, Any]:
    entry: dict[str, Any] = (
        {"ciphertext": {"B": secret.ciphertext}}
        if isinstance(secret, SealedSecret)
        else {"value": {"S": secret.value}}
    )
    if secret.expires_at is not None:
        entry["expires_at"] = {"S": secret.expires_at.isoformat()}
    return {"M": entry}


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value and "S" in value else None


def _time(item: dict[str, Any], name: str) -> datetime | None:
    text = _text(item, name)
    return datetime.fromisoformat(text) if text else None


def _stored_secret(entry: dict[str, Any]) -> StoredSecret:
    fields = entry["M"]
    expires = datetime.fromisoformat(fields["expires_at"]["S"]) if "expires_at" in fields else None
    if "ciphertext" in fields:
        return SealedSecret(bytes(fields["ciphertext"]["B"]), expires)
    return SigningSecret(str(fields["value"]["S"]), expires)


def _endpoint(item: dict[str, Any]) -> Endpoint:
    stored = item.get("sealed_secrets") or item.get("secrets") or {"L": []}
    status = _text(item, "status")
    return Endpoint(
        endpoint_id=str(item["endpoint_id"]["S"]),
        url=_text(item, "url") or "",
        secrets=tuple(_stored_secret(entry) for entry in stored.get("L", [])),
        filter_policy=json.loads(_text(item, "filter") or "{}"),
        description=_text(item, "description") or "",
        enabled=status == "enabled" or status is None,
        disabled_reason=_text(item, "disabled_reason"),
        disabled_at=_time(item, "disabled_at"),
        created_at=_time(item, "created_at"),
        first_failure_at=_time(item, "first_failure_at"),
        failure_streak=int(item.get("failure_streak", {}).get("N", "0")),
        removed=status == "removed",
    )
