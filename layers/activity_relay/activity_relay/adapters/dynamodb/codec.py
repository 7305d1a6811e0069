"""The state table's items, written once: their attributes, the conditions on them, and the
conversions to and from the core's values. DynamoDbStateStore (contacts.py) and
DynamoDbDeferrals (deferrals.py) share the table.

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
| `deferred_partition` | S | `"deferred"` (the quota, pacing) or `"reconcile"` while it waits |
| `deferred_until` | S | ISO 8601 UTC, when the deferred contact may be synced again |
| `deferred_asked_at` | S | ISO 8601 UTC, when a deferral or wait was last asked for |
| `deferred_reason` | S | why it waits: `quota`, `paced`, or `released` (the sweep enqueued it) |
| `backfill_read_from_end` | N | a continuing sync's position, counted from the list's end |
| `backfill_total` | N | `meta.total` at that checkpoint (absent before the first) |
| `backfill_first_sync` | BOOL | the continuing sync is the contact's first: INITIAL_SYNC applies |
| `backfill_checkpointed_at` | S | ISO 8601 UTC, when it last checkpointed |
| `backfill_scanned_to` | N | a first sync still looking for INITIAL_SYNC's date: down to here |
| `backfill_unread_until` | N | reading the history a first sync left unread: up to here |
| `backfill_unread_seen` | B | what that read has accounted for so far (`Fingerprint.encode()`) |
| `backfill_parked` | BOOL | stopped by the spent quota: no continuation, any message resumes it |
| `publishing` | NS | id hashes a sync announced it is publishing, until its next save |
| `wh_<hash>` | M | a webhook claim: `c` created (N, µs), `t` claimed at (S), `p` published |
| `lease_holder` | S | the sync holding the contact's lease (`Lease.holder`), while it runs |
| `lease_taken_at` | S | ISO 8601 UTC, when that sync began |
| `lease_expires_at` | S | ISO 8601 UTC, its invocation's deadline: then anyone may take it |
| `reset_at` | S | ISO 8601 UTC, when `relay reset` last forgot the contact's state |
| `last_error` | S | why the latest failed sync failed (at most 1,000 characters), for people |
| `last_error_at` | S | ISO 8601 UTC, when it failed; a later successful sync leaves both |

The `backfill_*` attributes exist only while a sync continues over several invocations.

A contact has a state once `save` has written it, i.e. once the item has a `version`: an item
holding only `not_found_at`, `reset_at`, a deferral or a lease loads as None, and its first save
is a version-0 save. The deferral attributes are indexed by `DeferredContacts` (deferrals.py); the
quota observation is one reserved item keyed `#quota`, which no contact's UUID can take.

Timestamps are written by `iso` (`isoformat()` of a UTC datetime, `+00:00`), whose strings sort
as the moments they name: the index and the conditions compare them as strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from activity_relay.core.model import (
    Backfill,
    ContactState,
    Fingerprint,
    WebhookClaim,
    parse_timestamp,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import UniversalAttributeValueTypeDef

DEFERRED_INDEX: Final = "DeferredContacts"
"""The sparse GSI of deferred contacts, as template.yaml names it."""

DEFERRED_PARTITION: Final = "deferred"
RECONCILE_PARTITION: Final = "reconcile"
"""Contacts whose webhooks carried their activities, waiting for the poll that reconciles them."""
QUOTA_KEY: Final = "#quota"
"""Key of the reserved item holding the latest quota observation (never a contact's UUID)."""

# Why a contact waits (`deferred_reason`), for people reading the table (`relay state`); the
# sweep goes by `deferred_until` alone. A reconciliation (its own partition) carries none.
QUOTA_SPENT: Final = "quota"
"""Deferred until the daily quota resets."""
PACED: Final = "paced"
"""Waiting for the paced budget since `deferred_until`; the sweep releases it."""
RELEASED: Final = "released"
"""Enqueued by the sweep; looked at again at `deferred_until` unless a sync clears it."""

DEFERRAL_ATTRIBUTES: Final = (
    "deferred_partition",
    "deferred_until",
    "deferred_asked_at",
    "deferred_reason",
)
BACKFILL_ATTRIBUTES: Final = (
    "backfill_read_from_end",
    "backfill_total",
    "backfill_first_sync",
    "backfill_checkpointed_at",
    "backfill_scanned_to",
    "backfill_unread_until",
    "backfill_unread_seen",
    "backfill_parked",
)
LEASE_ATTRIBUTES: Final = ("lease_holder", "lease_taken_at", "lease_expires_at")
PUBLISHING: Final = "publishing"
CLAIM_PREFIX: Final = "wh_"
ERROR_LENGTH: Final = 1000
"""Characters of a failure's reason kept in `last_error`: enough for LeadLex's message."""
REQUEST_MARGIN: Final = timedelta(seconds=1)
"""A deferral asked for this close before a sync began may be the sync's own request: the
request's clock and the sync's are two containers'."""


class StateTableAdapter:
    """An adapter of the state table: its client, its name, and the clock its writes stamp."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock or utc_now


def condition_failed(error: ClientError) -> bool:
    """Whether a conditional write was refused for its condition (not for anything else)."""
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def decode_backfill(item: Mapping[str, Any]) -> Backfill | None:
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
        parked=bool(item.get("backfill_parked", {}).get("BOOL", False)),
    )


def number(value: int | None) -> UniversalAttributeValueTypeDef | None:
    return None if value is None else {"N": str(value)}


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def claim_attribute(hashed: int) -> str:
    """The name of a claim's attribute: its id hash in hex (any id LeadLex sends stores)."""
    return f"{CLAIM_PREFIX}{hashed:016x}"


def encode_claim(claim: WebhookClaim) -> UniversalAttributeValueTypeDef:
    return {
        "M": {
            "c": {"N": str(claim.created_micros)},
            "t": {"S": iso(claim.claimed_at)},
            "p": {"BOOL": claim.published},
        }
    }


def decode_claims(item: Mapping[str, Any]) -> dict[int, WebhookClaim]:
    claims = {}
    for name, value in item.items():
        if not name.startswith(CLAIM_PREFIX):
            continue
        hashed, fields = int(name[len(CLAIM_PREFIX) :], 16), value["M"]
        claims[hashed] = WebhookClaim(
            id_hash=hashed,
            created_micros=int(fields["c"]["N"]),
            claimed_at=parse_timestamp(fields["t"]["S"]),
            published=bool(fields["p"]["BOOL"]),
        )
    return claims


def decode_state(contact_id: str, item: Mapping[str, Any] | None) -> ContactState | None:
    if item is None or "version" not in item:
        return None
    started = item.get("last_sync_started_at", {}).get("S")
    return ContactState(
        contact_id=contact_id,
        seen=Fingerprint.decode(item["fingerprint"]["B"]),
        version=int(item["version"]["N"]),
        last_sync_started_at=parse_timestamp(started) if started else None,
        backfill=decode_backfill(item),
        claims=decode_claims(item),
    )
