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
| `deferred_partition` | S | `"deferred"` while the contact waits for the quota, else absent |
| `deferred_until` | S | ISO 8601 UTC, when the deferred contact may be synced again |
| `deferred_asked_at` | S | ISO 8601 UTC, when a deferral or wait was last asked for |
| `backfill_read_from_end` | N | a continuing sync's position, counted from the list's end |
| `backfill_total` | N | `meta.total` at that checkpoint (absent before the first) |
| `backfill_first_sync` | BOOL | the continuing sync is the contact's first: INITIAL_SYNC applies |
| `backfill_checkpointed_at` | S | ISO 8601 UTC, when it last checkpointed |
| `backfill_scanned_to` | N | a first sync still looking for INITIAL_SYNC's date: down to here |
| `backfill_unread_until` | N | reading the history a first sync left unread: up to here |
| `backfill_unread_seen` | B | what that read has accounted for so far (`Fingerprint.encode()`) |
| `lease_holder` | S | the sync holding the contact's lease (`Lease.holder`), while it runs |
| `lease_taken_at` | S | ISO 8601 UTC, when that sync began |
| `lease_expires_at` | S | ISO 8601 UTC, its invocation's deadline: then anyone may take it |

The `backfill_*` attributes exist only while a sync continues over several invocations.

A contact has a state once `save` has written it, i.e. once the item has a `version`: an item
holding only `not_found_at` loads as None, and its first save is a version-0 save. `save`
removes `not_found_at`, since the contact it describes has been found since, and the deferral,
since the sync it waited for has happened. Writes are UpdateItems, so attributes written by
anyone else survive them.

Deferred contacts are found through the sparse index `DeferredContacts` (template.yaml):
partition `deferred_partition`, sort `deferred_until`. Only deferred items carry those
attributes, so the index holds exactly the waiting contacts, oldest deadline first. One constant
partition is fine at this scale: it takes 1,000 writes a second, and a relay held to a daily quota
of at most 10,000 requests defers and releases far fewer.

Timestamps are written by `_iso` (`isoformat()` of a UTC datetime, `+00:00`), whose strings sort
as the moments they name: the index and the conditions below compare them as strings.

The lease is taken by `begin`, in the UpdateItem that also returns the state (ALL_NEW), so a
sync costs no more calls than a GetItem would; it goes with the sync's `save` (or `release`, or
`record_not_found`). A brand-new contact's item may hold only a lease: it loads as None, and
`stale` (which needs a `version`) never returns it.

The quota observation lives in one reserved item keyed `#quota`. Contact ids are UUIDs, so no
contact can take that key; it has neither `version` nor the deferral attributes, so neither
`stale` nor `due` can return it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from activity_relay.core.model import Backfill, ContactState, parse_timestamp
from activity_relay.core.model.fingerprint import Fingerprint
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.sync.ports import Covered, Lease, LeaseHeld, StateConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import UniversalAttributeValueTypeDef

DEFERRED_INDEX: Final = "DeferredContacts"
"""The sparse GSI of deferred contacts, as template.yaml names it."""

DEFERRED_PARTITION: Final = "deferred"
QUOTA_KEY: Final = "#quota"
"""Key of the reserved item holding the latest quota observation (never a contact's UUID)."""

_CONDITION_FAILED = "ConditionalCheckFailedException"
_FIRST_SAVE = "attribute_not_exists(contact_id) OR attribute_not_exists(#version)"
_LATER_SAVE = "#version = :expected"
_DEFERRAL = ("deferred_partition", "deferred_until", "deferred_asked_at")
# A save clears the deferral a sync waited for, but not one asked for after the sync began: the
# activity behind that request may lie above what the sync read. (The margin: the request's and
# the sync's clocks are two containers'.)
_REQUESTED_BEFORE_SYNC = (
    "(attribute_not_exists(deferred_asked_at) OR deferred_asked_at < :requested_before)"
)
REQUEST_MARGIN = timedelta(seconds=1)
_BACKFILL = (
    "backfill_read_from_end",
    "backfill_total",
    "backfill_first_sync",
    "backfill_checkpointed_at",
    "backfill_scanned_to",
    "backfill_unread_until",
    "backfill_unread_seen",
)
_LEASE = ("lease_holder", "lease_taken_at", "lease_expires_at")
_LEASE_FREE = (
    "(attribute_not_exists(lease_holder) OR lease_expires_at < :taken OR lease_holder = :holder)"
)
_NOT_COVERED = (
    "(attribute_not_exists(last_sync_started_at) OR last_sync_started_at <= :covered_after)"
)
_LEASE_MINE = "(attribute_not_exists(lease_holder) OR lease_holder = :holder)"
# A newer window always wins; within a window the later observation, and on a tie the lower
# remaining count, the more cautious reading of two containers' simultaneous answers.
_NEWER_QUOTA = (
    "attribute_not_exists(contact_id)"
    " OR quota_resets_at < :resets"
    " OR (quota_resets_at = :resets AND (quota_observed_at < :observed"
    " OR (quota_observed_at = :observed AND quota_remaining > :remaining)))"
)


def _backfill(item: Mapping[str, Any]) -> Backfill | None:
    if "backfill_read_from_end" not in item:
        return None
    total = item.get("backfill_total", {}).get("N")
    scanned_to = item.get("backfill_scanned_to", {}).get("N")
    unread_until = item.get("backfill_unread_until", {}).get("N")
    unread_seen = item.get("backfill_unread_seen", {}).get("B")
    return Backfill(
        read_from_end=int(item["backfill_read_from_end"]["N"]),
        total=int(total) if total is not None else None,
        first_sync=bool(item.get("backfill_first_sync", {}).get("BOOL", False)),
        checkpointed_at=parse_timestamp(item["backfill_checkpointed_at"]["S"]),
        scanned_to=int(scanned_to) if scanned_to is not None else None,
        unread_until=int(unread_until) if unread_until is not None else None,
        unread_seen=Fingerprint.decode(unread_seen) if unread_seen is not None else None,
    )


def _number(value: int | None) -> UniversalAttributeValueTypeDef | None:
    return None if value is None else {"N": str(value)}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


class _DeferralAskedDuringSync(Exception):
    """A save's only failed condition: the deferral was asked for after the sync began."""


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
        return _state(contact_id, response.get("Item"))

    def begin(
        self, contact_id: str, lease: Lease, *, covered_after: datetime | None = None
    ) -> ContactState | None:
        values: dict[str, UniversalAttributeValueTypeDef] = {
            ":holder": {"S": lease.holder},
            ":taken": {"S": _iso(lease.taken_at)},
            ":expires": {"S": _iso(lease.expires_at)},
        }
        condition = _LEASE_FREE
        if covered_after is not None:
            condition = f"{_LEASE_FREE} AND {_NOT_COVERED}"
            values[":covered_after"] = {"S": _iso(covered_after)}
        try:
            response = self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=(
                    "SET lease_holder = :holder, lease_taken_at = :taken,"
                    " lease_expires_at = :expires"
                ),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                # Consistent, like every UpdateItem: no save can be missed.
                ReturnValues="ALL_NEW",
                # Who holds it, or which sync covered the request, without a second call.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise
            old: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            raise _not_begun(contact_id, old, covered_after) from error
        return _state(contact_id, response.get("Attributes"))

    def save(self, state: ContactState, lease: Lease | None = None) -> ContactState:
        try:
            return self._save(state, lease, clear_deferral=True)
        except _DeferralAskedDuringSync:
            return self._save(state, lease, clear_deferral=False)

    def _save(
        self, state: ContactState, lease: Lease | None, *, clear_deferral: bool
    ) -> ContactState:
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
        requested_before: str | None = None
        if clear_deferral:
            removals.extend(_DEFERRAL)
            if state.last_sync_started_at is not None:
                requested_before = _iso(state.last_sync_started_at - REQUEST_MARGIN)
                values[":requested_before"] = {"S": requested_before}
        if state.last_sync_started_at is None:
            removals.append("last_sync_started_at")
        else:
            values[":started"] = {"S": _iso(state.last_sync_started_at)}
            assignments.append("last_sync_started_at = :started")
        if state.backfill is None:
            removals.extend(_BACKFILL)
        else:
            backfill = state.backfill
            values[":from_end"] = {"N": str(backfill.read_from_end)}
            values[":first"] = {"BOOL": backfill.first_sync}
            values[":checkpointed"] = {"S": _iso(backfill.checkpointed_at)}
            assignments += [
                "backfill_read_from_end = :from_end",
                "backfill_first_sync = :first",
                "backfill_checkpointed_at = :checkpointed",
            ]
            optional: dict[str, UniversalAttributeValueTypeDef | None] = {
                "backfill_total": _number(backfill.total),
                "backfill_scanned_to": _number(backfill.scanned_to),
                "backfill_unread_until": _number(backfill.unread_until),
                "backfill_unread_seen": (
                    None if backfill.unread_seen is None else {"B": backfill.unread_seen.encode()}
                ),
            }
            for name, value in optional.items():
                if value is None:
                    removals.append(name)
                else:
                    values[f":{name}"] = value
                    assignments.append(f"{name} = :{name}")
        if state.version == 0:
            condition = _FIRST_SAVE
        else:
            condition = _LATER_SAVE
            values[":expected"] = {"N": str(state.version)}
        if lease is not None:
            # A lease that expired and was taken by another sync is no longer ours to release.
            condition = f"({condition}) AND {_LEASE_MINE}"
            values[":holder"] = {"S": lease.holder}
            removals.extend(_LEASE)
        if requested_before is not None:
            condition = f"({condition}) AND {_REQUESTED_BEFORE_SYNC}"
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": state.contact_id}},
                UpdateExpression=f"SET {', '.join(assignments)} REMOVE {', '.join(removals)}",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                old: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
                requested = old.get("deferred_asked_at", {}).get("S")
                if requested_before is not None and (requested or "") >= requested_before:
                    # Saved again without touching the deferral; a version or lease conflict
                    # then shows as one.
                    raise _DeferralAskedDuringSync from error
                raise StateConflict(
                    f"contact {state.contact_id}: stored state is no longer version {state.version}"
                ) from error
            raise
        return dataclasses.replace(state, version=version)

    def release(self, contact_id: str, lease: Lease) -> None:
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=f"REMOVE {', '.join(_LEASE)}",
                ConditionExpression="lease_holder = :holder",
                ExpressionAttributeValues={":holder": {"S": lease.holder}},
            )
        except ClientError as error:
            # Expired and taken by another sync, or already released: nothing of ours is left.
            if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise

    def record_not_found(self, contact_id: str, at: datetime, lease: Lease | None = None) -> None:
        # A contact that is gone is not worth waiting for.
        removals = [*_DEFERRAL]
        values: dict[str, UniversalAttributeValueTypeDef] = {":at": {"S": _iso(at)}}
        condition: dict[str, Any] = {}
        if lease is not None:
            removals.extend(_LEASE)
            values[":holder"] = {"S": lease.holder}
            condition = {"ConditionExpression": _LEASE_MINE}
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=f"SET not_found_at = :at REMOVE {', '.join(removals)}",
                ExpressionAttributeValues=values,
                **condition,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise
            # Our lease expired and another sync holds the contact now: leave its lease alone.
            self.record_not_found(contact_id, at)

    def forget(self, contact_id: str) -> None:
        """Delete everything stored about the contact: its next sync is a first sync."""
        self._client.delete_item(TableName=self._table_name, Key={"contact_id": {"S": contact_id}})

    # --- Deferrals ------------------------------------------------------------------------------

    def defer(self, contact_id: str, until: datetime) -> None:
        # The latest deferral wins: it comes from the latest exhaustion, so its reset is the
        # one that matters. Neither the fingerprint nor the version is touched: a deferral is
        # not a state save and must not make a concurrent sync's save conflict.
        self._client.update_item(
            TableName=self._table_name,
            Key={"contact_id": {"S": contact_id}},
            UpdateExpression=(
                "SET deferred_partition = :partition, deferred_until = :until,"
                " deferred_asked_at = :requested"
            ),
            ExpressionAttributeValues={
                ":partition": {"S": DEFERRED_PARTITION},
                ":until": {"S": _iso(until)},
                ":requested": {"S": _iso(self._clock())},
            },
        )

    def wait(self, contact_id: str, since: datetime) -> None:
        # Waiting since `since`: due at once, and the index's order is the waiting order. A
        # contact already due earlier keeps its place (later messages do not push it back); one
        # deferred to a later reset or postponed after a release comes forward, since its new
        # message asks for a sync that nothing else has promised.
        requested = {"S": _iso(self._clock())}
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=(
                    "SET deferred_partition = :partition, deferred_until = :since,"
                    " deferred_asked_at = :requested"
                ),
                ConditionExpression=(
                    "attribute_not_exists(deferred_until) OR deferred_until > :since"
                ),
                ExpressionAttributeValues={
                    ":partition": {"S": DEFERRED_PARTITION},
                    ":since": {"S": _iso(since)},
                    ":requested": requested,
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise
            # Keeps its place, but a sync under way must not clear what was asked for now.
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression="SET deferred_asked_at = :requested",
                ExpressionAttributeValues={":requested": requested},
            )

    def due(self, now: datetime, limit: int) -> list[str]:
        contact_ids: list[str] = []
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": DEFERRED_INDEX,
            "KeyConditionExpression": "deferred_partition = :partition AND deferred_until <= :now",
            "ExpressionAttributeValues": {
                ":partition": {"S": DEFERRED_PARTITION},
                ":now": {"S": _iso(now)},
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
        values = {":now": {"S": _iso(self._clock())}, ":until": {"S": _iso(until)}}
        for contact_id in contact_ids:
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key={"contact_id": {"S": contact_id}},
                    UpdateExpression="SET deferred_until = :until",
                    ConditionExpression="deferred_until <= :now",
                    ExpressionAttributeValues=values,
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
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
            "ExpressionAttributeValues": {":cutoff": {"S": _iso(synced_before)}},
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
            ":resets": {"S": _iso(snapshot.resets_at)},
            ":observed": {"S": _iso(snapshot.observed_at)},
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
            if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
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


def _state(contact_id: str, item: Mapping[str, Any] | None) -> ContactState | None:
    if item is None or "version" not in item:
        return None
    started = item.get("last_sync_started_at", {}).get("S")
    return ContactState(
        contact_id=contact_id,
        seen=Fingerprint.decode(item["fingerprint"]["B"]),
        version=int(item["version"]["N"]),
        last_sync_started_at=parse_timestamp(started) if started else None,
        backfill=_backfill(item),
    )


def _not_begun(
    contact_id: str, old: Mapping[str, Any], covered_after: datetime | None
) -> Covered | LeaseHeld | StateConflict:
    """Why `begin`'s condition failed, from the item as it stood (ALL_OLD)."""
    started = old.get("last_sync_started_at", {}).get("S")
    if covered_after is not None and started is not None:
        last_started = parse_timestamp(started)
        if last_started > covered_after:
            return Covered(
                f"contact {contact_id}: its last sync started at {started}",
                last_sync_started_at=last_started,
            )
    holder = old.get("lease_holder", {}).get("S")
    if holder is None:
        # The condition compares timestamps as strings: one stored in another format than
        # `_iso` writes could disagree with the comparison of the parsed values.
        return StateConflict(f"contact {contact_id}: its lease changed while being taken")
    lease = Lease(
        holder=holder,
        taken_at=parse_timestamp(old["lease_taken_at"]["S"]),
        expires_at=parse_timestamp(old["lease_expires_at"]["S"]),
    )
    return LeaseHeld(
        f"contact {contact_id}: another sync holds it until {lease.expires_at.isoformat()}",
        lease=lease,
    )
