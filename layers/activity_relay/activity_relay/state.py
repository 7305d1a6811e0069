"""DynamoDB StateStore: the only code that speaks to DynamoDB.

One item per contact, keyed by `contact_id` (S) alone, as template.yaml declares the table:

| attribute | type | meaning |
|---|---|---|
| `contact_id` | S | the key |
| `fingerprint` | B | `ContactState.seen.encode()` (about 20 KB at most, far below 400 KB) |
| `version` | N | optimistic-concurrency counter, one up on every save |
| `activities_accounted` | N | `seen.total`; for people reading the table, never read back |
| `last_sync_started_at` | S | ISO 8601 UTC, when the state has it |
| `updated_at` | S | ISO 8601 UTC, when `save` last wrote the item |
| `not_found_at` | S | ISO 8601 UTC, when the API last answered 404 for the contact |

A contact has a state once `save` has written it, i.e. once the item has a `version`: an item
holding only `not_found_at` loads as None, and its first save is a version-0 save. `save`
removes `not_found_at`, since the contact it describes has been found since. Writes are
UpdateItems, so attributes written by anyone else survive them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from activity_relay.fingerprint import Fingerprint
from activity_relay.model import ContactState, parse_timestamp
from activity_relay.ports import StateConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import UniversalAttributeValueTypeDef

_CONDITION_FAILED = "ConditionalCheckFailedException"
_FIRST_SAVE = "attribute_not_exists(contact_id) OR attribute_not_exists(#version)"
_LATER_SAVE = "#version = :expected"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


class DynamoDbStateStore:
    """Per-contact sync state in one DynamoDB table, written with optimistic concurrency."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    def load(self, contact_id: str) -> ContactState | None:
        # Strongly consistent: an eventually consistent read may miss the last save, and the
        # sync would then redo the work and fail its save with a conflict.
        response = self._client.get_item(
            TableName=self._table_name,
            Key={"contact_id": {"S": contact_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None or "version" not in item:
            return None
        started = item.get("last_sync_started_at", {}).get("S")
        return ContactState(
            contact_id=contact_id,
            seen=Fingerprint.decode(item["fingerprint"]["B"]),
            version=int(item["version"]["N"]),
            last_sync_started_at=parse_timestamp(started) if started else None,
        )

    def save(self, state: ContactState) -> ContactState:
        version = state.version + 1
        values: dict[str, UniversalAttributeValueTypeDef] = {
            ":fingerprint": {"B": state.seen.encode()},
            ":version": {"N": str(version)},
            ":accounted": {"N": str(state.seen.total)},
            ":updated": {"S": _iso(self._clock())},
        }
        assignments = [
            "fingerprint = :fingerprint",
            "#version = :version",
            "activities_accounted = :accounted",
            "updated_at = :updated",
        ]
        removals = ["not_found_at"]
        if state.last_sync_started_at is None:
            removals.append("last_sync_started_at")
        else:
            values[":started"] = {"S": _iso(state.last_sync_started_at)}
            assignments.append("last_sync_started_at = :started")
        if state.version == 0:
            condition = _FIRST_SAVE
        else:
            condition = _LATER_SAVE
            values[":expected"] = {"N": str(state.version)}
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": state.contact_id}},
                UpdateExpression=f"SET {', '.join(assignments)} REMOVE {', '.join(removals)}",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                raise StateConflict(
                    f"contact {state.contact_id}: stored state is no longer version {state.version}"
                ) from error
            raise
        return dataclasses.replace(state, version=version)

    def record_not_found(self, contact_id: str, at: datetime) -> None:
        self._client.update_item(
            TableName=self._table_name,
            Key={"contact_id": {"S": contact_id}},
            UpdateExpression="SET not_found_at = :at",
            ExpressionAttributeValues={":at": {"S": _iso(at)}},
        )
