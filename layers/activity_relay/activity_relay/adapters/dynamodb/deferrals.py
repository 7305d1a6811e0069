"""The state table's deferrals and quota (codec.py): contacts put off until the daily quota
resets or waiting for the paced budget, what the sweep releases, and the last observation of
LeadLex's quota that every container and the sweep share.

Deferred contacts are found through the sparse index `DeferredContacts` (template.yaml):
partition `deferred_partition`, sort `deferred_until`. Only deferred items carry those
attributes, so the index holds exactly the waiting contacts, oldest deadline first. One constant
partition is fine at this scale: it takes 1,000 writes a second, and a relay held to a daily quota
of at most 10,000 requests defers and releases far fewer.

The quota observation lives in one reserved item keyed `#quota`. Contact ids are UUIDs, so no
contact can take that key; it has neither `version` nor the deferral attributes, so neither
`stale` nor `due` can return it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from activity_relay.adapters.dynamodb.codec import (
    DEFERRED_INDEX,
    DEFERRED_PARTITION,
    PACED,
    QUOTA_KEY,
    QUOTA_SPENT,
    RECONCILE_PARTITION,
    RELEASED,
    StateTableAdapter,
    condition_failed,
    iso,
)
from activity_relay.core.model import parse_timestamp
from activity_relay.core.quota.ports import QuotaSnapshot

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import UniversalAttributeValueTypeDef

# A newer window always wins; within a window the later observation, and on a tie the lower
# remaining count, the more cautious reading of two containers' simultaneous answers.
_NEWER_QUOTA = (
    "attribute_not_exists(contact_id)"
    " OR quota_resets_at < :resets"
    " OR (quota_resets_at = :resets AND (quota_observed_at < :observed"
    " OR (quota_observed_at = :observed AND quota_remaining > :remaining)))"
)


class DynamoDbDeferrals(StateTableAdapter):
    """The Deferrals port over the state table."""

    def defer(self, contact_id: str, until: datetime) -> None:
        # The latest deferral wins: it comes from the latest exhaustion, so its reset is the
        # one that matters. Neither the fingerprint nor the version is touched: a deferral is
        # not a state save and must not make a concurrent sync's save conflict.
        self._client.update_item(
            TableName=self._table_name,
            Key={"contact_id": {"S": contact_id}},
            UpdateExpression=(
                "SET deferred_partition = :partition, deferred_until = :until,"
                " deferred_asked_at = :requested, deferred_reason = :reason"
            ),
            ExpressionAttributeValues={
                ":partition": {"S": DEFERRED_PARTITION},
                ":until": {"S": iso(until)},
                ":requested": {"S": iso(self._clock())},
                ":reason": {"S": QUOTA_SPENT},
            },
        )

    def wait(self, contact_id: str, since: datetime) -> None:
        # Waiting since `since`: due at once, and the index's order is the waiting order. A
        # contact already due earlier keeps its place (later messages do not push it back); one
        # deferred to a later reset or postponed after a release comes forward, since its new
        # message asks for a sync that nothing else has promised.
        requested = {"S": iso(self._clock())}
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=(
                    "SET deferred_partition = :partition, deferred_until = :since,"
                    " deferred_asked_at = :requested, deferred_reason = :reason"
                ),
                ConditionExpression=(
                    "attribute_not_exists(deferred_until) OR deferred_until > :since"
                ),
                ExpressionAttributeValues={
                    ":partition": {"S": DEFERRED_PARTITION},
                    ":since": {"S": iso(since)},
                    ":requested": requested,
                    ":reason": {"S": PACED},
                },
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            # Keeps its place (a reconciliation due earlier becomes a wait like the others),
            # but a sync under way must not clear what was asked for now.
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=(
                    "SET deferred_partition = :partition, deferred_asked_at = :requested,"
                    " deferred_reason = :reason"
                ),
                ExpressionAttributeValues={
                    ":partition": {"S": DEFERRED_PARTITION},
                    ":requested": requested,
                    ":reason": {"S": PACED},
                },
            )

    def due(self, now: datetime, limit: int) -> list[str]:
        return self._due(DEFERRED_PARTITION, now, limit)

    def reconciliations(self, now: datetime, limit: int) -> list[str]:
        return self._due(RECONCILE_PARTITION, now, limit)

    def _due(self, partition: str, now: datetime, limit: int) -> list[str]:
        contact_ids: list[str] = []
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": DEFERRED_INDEX,
            "KeyConditionExpression": "deferred_partition = :partition AND deferred_until <= :now",
            "ExpressionAttributeValues": {
                ":partition": {"S": partition},
                ":now": {"S": iso(now)},
            },
            "ScanIndexForward": True,
        }
        while len(contact_ids) < limit:
            response = self._client.query(**request, Limit=limit - len(contact_ids))
            contact_ids.extend(item["contact_id"]["S"] for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return contact_ids

    def postpone(self, contact_ids: Sequence[str], until: datetime) -> None:
        # Only a deferral that has come due moves. Between the sweep's query and this call
        # the contact's message may already have been processed: a sync that succeeded
        # removed the deferral itself, and one that ran out of quota again deferred it to the
        # next reset, which lies in the future and must survive.
        values = {
            ":now": {"S": iso(self._clock())},
            ":until": {"S": iso(until)},
            ":released": {"S": RELEASED},
        }
        for contact_id in contact_ids:
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key={"contact_id": {"S": contact_id}},
                    UpdateExpression="SET deferred_until = :until, deferred_reason = :released",
                    ConditionExpression="deferred_until <= :now",
                    ExpressionAttributeValues=values,
                )
            except ClientError as error:
                if not condition_failed(error):
                    raise

    def stale(self, synced_before: datetime, limit: int) -> list[str]:
        # A Scan, not an index: reconciliation is opt-in (STALE_AFTER_HOURS), the table holds
        # one item per contact and the daily quota keeps the number of contacts worth syncing
        # small, so a filtered scan every sweep costs little. An index on
        # last_sync_started_at would also miss every item written before it existed.
        # Contacts waiting for the quota are left to `due`, and contacts last answered with a
        # 404 (not_found_at survives until a save) are gone: no webhook will come for them.
        contact_ids: list[str] = []
        if limit <= 0:
            return contact_ids
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "ProjectionExpression": "contact_id",
            "FilterExpression": (
                "attribute_exists(#version)"
                " AND attribute_not_exists(not_found_at)"
                " AND attribute_not_exists(deferred_partition)"
                " AND (attribute_not_exists(last_sync_started_at)"
                " OR last_sync_started_at < :cutoff)"
            ),
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": {":cutoff": {"S": iso(synced_before)}},
        }
        while True:
            response = self._client.scan(**request)
            contact_ids.extend(item["contact_id"]["S"] for item in response.get("Items", []))
            if len(contact_ids) >= limit or "LastEvaluatedKey" not in response:
                return contact_ids[:limit]
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def record_quota(self, snapshot: QuotaSnapshot) -> None:
        values: dict[str, UniversalAttributeValueTypeDef] = {
            ":remaining": {"N": str(snapshot.remaining)},
            ":resets": {"S": iso(snapshot.resets_at)},
            ":observed": {"S": iso(snapshot.observed_at)},
        }
        if snapshot.limit is None:
            update = "SET {} REMOVE quota_limit"
        else:
            update = "SET {}, quota_limit = :limit"
            values[":limit"] = {"N": str(snapshot.limit)}
        assignments = (
            "quota_remaining = :remaining, quota_resets_at = :resets, quota_observed_at = :observed"
        )
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": QUOTA_KEY}},
                UpdateExpression=update.format(assignments),
                ConditionExpression=_NEWER_QUOTA,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            # What is stored is newer: this observation has nothing to add.
            if not condition_failed(error):
                raise

    def load_quota(self) -> QuotaSnapshot | None:
        item = self._client.get_item(
            TableName=self._table_name,
            Key={"contact_id": {"S": QUOTA_KEY}},
            ConsistentRead=True,
        ).get("Item")
        if item is None or "quota_resets_at" not in item:
            return None
        limit = item.get("quota_limit", {}).get("N")
        return QuotaSnapshot(
            limit=int(limit) if limit is not None else None,
            remaining=int(item["quota_remaining"]["N"]),
            resets_at=parse_timestamp(item["quota_resets_at"]["S"]),
            observed_at=parse_timestamp(item["quota_observed_at"]["S"]),
        )
