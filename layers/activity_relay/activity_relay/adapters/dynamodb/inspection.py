"""One contact's item in the state table (codec.py) as a person asks about it (`relay state`):
its sync state and what the sync's own reads leave out (the 404 on record, the deferral and
why, the lease of a sync running now, the last failure, the last reset), read in one
consistent GetItem.
Read-only: nothing here takes part in a sync."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from activity_relay.adapters.dynamodb.codec import StateTableAdapter, decode_state
from activity_relay.core.model import ContactState, parse_timestamp
from activity_relay.core.sync.ports import Lease


@dataclass(frozen=True, slots=True)
class Deferral:
    """Why and until when the sweep holds the contact back (the DeferredContacts index)."""

    partition: str  # codec.DEFERRED_PARTITION or codec.RECONCILE_PARTITION
    until: datetime
    asked_at: datetime | None
    reason: str | None  # codec.QUOTA_SPENT, PACED, RELEASED; None on older items


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """Everything the state table holds about one contact."""

    contact_id: str
    exists: bool  # the table has an item for it at all
    state: ContactState | None
    updated_at: datetime | None = None
    not_found_at: datetime | None = None
    reset_at: datetime | None = None
    deferral: Deferral | None = None
    lease: Lease | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


class DynamoDbContactRecords(StateTableAdapter):
    def record(self, contact_id: str) -> ContactRecord:
        item: Mapping[str, Any] | None = self._client.get_item(
            TableName=self._table_name,
            Key={"contact_id": {"S": contact_id}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return ContactRecord(contact_id, exists=False, state=None)
        return ContactRecord(
            contact_id,
            exists=True,
            state=decode_state(contact_id, item),
            updated_at=_moment(item, "updated_at"),
            not_found_at=_moment(item, "not_found_at"),
            reset_at=_moment(item, "reset_at"),
            deferral=_deferral(item),
            lease=_lease(item),
            last_error=item.get("last_error", {}).get("S"),
            last_error_at=_moment(item, "last_error_at"),
        )


def _moment(item: Mapping[str, Any], name: str) -> datetime | None:
    value = item.get(name, {}).get("S")
    return parse_timestamp(value) if value else None


def _deferral(item: Mapping[str, Any]) -> Deferral | None:
    until = _moment(item, "deferred_until")
    if until is None or "deferred_partition" not in item:
        return None
    return Deferral(
        partition=item["deferred_partition"]["S"],
        until=until,
        asked_at=_moment(item, "deferred_asked_at"),
        reason=item.get("deferred_reason", {}).get("S"),
    )


def _lease(item: Mapping[str, Any]) -> Lease | None:
    taken, expires = _moment(item, "lease_taken_at"), _moment(item, "lease_expires_at")
    if "lease_holder" not in item or taken is None or expires is None:
        return None
    return Lease(holder=item["lease_holder"]["S"], taken_at=taken, expires_at=expires)
