"""The state table as the tests use it: its adapters in one object, as its fake
(MemoryStateTable) is one, for the tests that read and write a contact's state, its deferrals
and its webhook claims alike; and the contacts, fingerprints and times of the cases on it
(tests/contract/test_state_store.py, test_lease.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from activity_relay.adapters.dynamodb.contacts import DynamoDbStateStore
from activity_relay.adapters.dynamodb.deferrals import DynamoDbDeferrals
from activity_relay.adapters.dynamodb.ledger import DynamoDbWebhookLedger
from activity_relay.core.model import ContactState
from activity_relay.core.model.fingerprint import Fingerprint
from activity_relay.core.quota.ports import Deferrals
from activity_relay.core.sync.ports import StateStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
RESET = NOW.replace(hour=0) + timedelta(days=1)


class DynamoDbStateTable(DynamoDbStateStore, DynamoDbDeferrals, DynamoDbWebhookLedger):
    """StateStore, Deferrals and WebhookLedger over one table (one client, name and clock)."""


def stored_item(dynamodb: Any, table: str, contact_id: str) -> dict[str, Any]:
    """The contact's item as DynamoDB holds it (attribute → typed value), {} when there is none."""
    item: dict[str, Any] = dynamodb.get_item(
        TableName=table, Key={"contact_id": {"S": contact_id}}, ConsistentRead=True
    ).get("Item", {})
    return item


class Store(StateStore, Deferrals):
    """What both implementations are (for the type checker's sake)."""


def contact(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def fingerprint(*ids: str) -> Fingerprint:
    seen = Fingerprint()
    seen.add_all((activity_id, 1_700_000_000_000_000 + n) for n, activity_id in enumerate(ids))
    return seen


def synced(store: Store, contact_id: str, started: object = NOW - 2 * HOUR) -> ContactState:
    return store.save(ContactState(contact_id, fingerprint("a"), last_sync_started_at=started))  # type: ignore[arg-type]
