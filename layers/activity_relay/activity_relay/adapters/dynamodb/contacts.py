"""The state table's contact items (codec.py): each contact's sync state, written with
optimistic concurrency, and the lease that lets one sync of a contact run at a time.

The lease is taken by `begin`, in the UpdateItem that also returns the state (ALL_NEW), so a
sync costs no more calls than a GetItem would; it goes with the sync's `save` (or `release`, or
`record_not_found`). A brand-new contact's item may hold only a lease: it loads as None.

A save removes `not_found_at`, since the contact has been found since, and the deferral, since
the sync it waited for has happened (unless it was asked for after the sync began). Writes are
UpdateItems, so attributes written by anyone else survive them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from activity_relay.adapters.dynamodb.codec import (
    BACKFILL_ATTRIBUTES,
    DEFERRAL_ATTRIBUTES,
    ERROR_LENGTH,
    LEASE_ATTRIBUTES,
    PUBLISHING,
    REQUEST_MARGIN,
    StateTableAdapter,
    claim_attribute,
    condition_failed,
    decode_claims,
    decode_state,
    iso,
    number,
)
from activity_relay.core.model import (
    Activity,
    ContactState,
    WebhookClaim,
    id_hash,
    parse_timestamp,
)
from activity_relay.core.sync.ports import Covered, Lease, LeaseHeld, StateConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import UniversalAttributeValueTypeDef

_FIRST_SAVE = "attribute_not_exists(contact_id) OR attribute_not_exists(#version)"
_LATER_SAVE = "#version = :expected"
# A save clears the deferral a sync waited for, but not one asked for after the sync began: the
# activity behind that request may lie above what the sync read.
_REQUESTED_BEFORE_SYNC = (
    "(attribute_not_exists(deferred_asked_at) OR deferred_asked_at < :requested_before)"
)
_LEASE_FREE = (
    "(attribute_not_exists(lease_holder) OR lease_expires_at < :taken OR lease_holder = :holder)"
)
_NOT_COVERED = (
    "(attribute_not_exists(last_sync_started_at) OR last_sync_started_at <= :covered_after)"
)
_LEASE_MINE = "(attribute_not_exists(lease_holder) OR lease_holder = :holder)"


class _DeferralAskedDuringSync(Exception):
    """A save's only failed condition: the deferral was asked for after the sync began."""


class DynamoDbStateStore(StateTableAdapter):
    """Per-contact sync state in one DynamoDB table, written with optimistic concurrency."""

    def load(self, contact_id: str) -> ContactState | None:
        # Strongly consistent: an eventually consistent read may miss the last save, and the
        # sync would then redo the work and fail its save with a conflict.
        response = self._client.get_item(
            TableName=self._table_name,
            Key={"contact_id": {"S": contact_id}},
            ConsistentRead=True,
        )
        return decode_state(contact_id, response.get("Item"))

    def begin(
        self, contact_id: str, lease: Lease, *, covered_after: datetime | None = None
    ) -> ContactState | None:
        values: dict[str, UniversalAttributeValueTypeDef] = {
            ":holder": {"S": lease.holder},
            ":taken": {"S": iso(lease.taken_at)},
            ":expires": {"S": iso(lease.expires_at)},
        }
        condition = _LEASE_FREE
        if covered_after is not None:
            condition = f"{_LEASE_FREE} AND {_NOT_COVERED}"
            values[":covered_after"] = {"S": iso(covered_after)}
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
            if not condition_failed(error):
                raise
            old: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            raise _not_begun(contact_id, old, covered_after) from error
        return decode_state(contact_id, response.get("Attributes"))

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
            ":updated": {"S": iso(self._clock())},
        }
        assignments = [
            "fingerprint = :fingerprint",
            "#version = :version",
            "activities_accounted = :accounted",
            "updated_at = :updated",
        ]
        # What the sync announced is in the fingerprint now; settled claims are accounted too.
        removals = ["not_found_at", PUBLISHING]
        names = {"#version": "version"}
        for index, hashed in enumerate(sorted(state.settled_claims)):
            names[f"#settled{index}"] = claim_attribute(hashed)
            removals.append(f"#settled{index}")
        requested_before: str | None = None
        if clear_deferral:
            removals.extend(DEFERRAL_ATTRIBUTES)
            if state.last_sync_started_at is not None:
                requested_before = iso(state.last_sync_started_at - REQUEST_MARGIN)
                values[":requested_before"] = {"S": requested_before}
        if state.last_sync_started_at is None:
            removals.append("last_sync_started_at")
        else:
            values[":started"] = {"S": iso(state.last_sync_started_at)}
            assignments.append("last_sync_started_at = :started")
        if state.backfill is None:
            removals.extend(BACKFILL_ATTRIBUTES)
        else:
            backfill = state.backfill
            values[":from_end"] = {"N": str(backfill.read_from_end)}
            values[":first"] = {"BOOL": backfill.first_sync}
            values[":checkpointed"] = {"S": iso(backfill.checkpointed_at)}
            assignments += [
                "backfill_read_from_end = :from_end",
                "backfill_first_sync = :first",
                "backfill_checkpointed_at = :checkpointed",
            ]
            optional: dict[str, UniversalAttributeValueTypeDef | None] = {
                "backfill_total": number(backfill.total),
                "backfill_scanned_to": number(backfill.scanned_to),
                "backfill_unread_until": number(backfill.unread_until),
                "backfill_unread_seen": (
                    None if backfill.unread_seen is None else {"B": backfill.unread_seen.encode()}
                ),
                "backfill_parked": {"BOOL": True} if backfill.parked else None,
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
            removals.extend(LEASE_ATTRIBUTES)
        if requested_before is not None:
            condition = f"({condition}) AND {_REQUESTED_BEFORE_SYNC}"
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": state.contact_id}},
                UpdateExpression=f"SET {', '.join(assignments)} REMOVE {', '.join(removals)}",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if condition_failed(error):
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
        claims = {h: c for h, c in state.claims.items() if h not in state.settled_claims}
        return dataclasses.replace(
            state, version=version, claims=claims, settled_claims=frozenset()
        )

    def announce(
        self, contact_id: str, lease: Lease, activities: Sequence[Activity]
    ) -> dict[int, WebhookClaim]:
        try:
            response = self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=f"ADD {PUBLISHING} :hashes",
                ConditionExpression="lease_holder = :holder",
                ExpressionAttributeValues={
                    ":hashes": {"NS": sorted({str(id_hash(a.id)) for a in activities})},
                    ":holder": {"S": lease.holder},
                },
                # The claims as they stand once this is written: any claim made later sees it.
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            raise StateConflict(f"contact {contact_id} is held by another sync now") from error
        return decode_claims(response.get("Attributes", {}))

    def webhook_claims(self, contact_id: str) -> dict[int, WebhookClaim]:
        item = self._client.get_item(
            TableName=self._table_name, Key={"contact_id": {"S": contact_id}}, ConsistentRead=True
        ).get("Item", {})
        return decode_claims(item)

    def release(self, contact_id: str, lease: Lease) -> None:
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                UpdateExpression=f"REMOVE {', '.join(LEASE_ATTRIBUTES)}",
                ConditionExpression="lease_holder = :holder",
                ExpressionAttributeValues={":holder": {"S": lease.holder}},
            )
        except ClientError as error:
            # Expired and taken by another sync, or already released: nothing of ours is left.
            if not condition_failed(error):
                raise

    def record_not_found(self, contact_id: str, at: datetime, lease: Lease | None = None) -> None:
        # A contact that is gone is not worth waiting for.
        removals = [*DEFERRAL_ATTRIBUTES]
        values: dict[str, UniversalAttributeValueTypeDef] = {":at": {"S": iso(at)}}
        condition: dict[str, Any] = {}
        if lease is not None:
            removals.extend(LEASE_ATTRIBUTES)
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
            if not condition_failed(error):
                raise
            # Our lease expired and another sync holds the contact now: leave its lease alone.
            self.record_not_found(contact_id, at)

    def record_failure(self, contact_id: str, reason: str, at: datetime) -> None:
        self._client.update_item(
            TableName=self._table_name,
            Key={"contact_id": {"S": contact_id}},
            UpdateExpression="SET last_error = :reason, last_error_at = :at",
            ExpressionAttributeValues={
                ":reason": {"S": reason[:ERROR_LENGTH]},
                ":at": {"S": iso(at)},
            },
        )

    def forget(self, contact_id: str) -> None:
        """Replace everything stored about the contact with when that happened (`reset_at`,
        which `relay state` shows): its next sync is a first sync."""
        self._client.put_item(
            TableName=self._table_name,
            Item={"contact_id": {"S": contact_id}, "reset_at": {"S": iso(self._clock())}},
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
