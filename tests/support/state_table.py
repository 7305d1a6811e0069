"""The state table's two adapters in one object, as its fake (MemoryStateTable) is one: for the
tests that read and write a contact's state and its deferrals alike."""

from __future__ import annotations

from activity_relay.adapters.dynamodb.contacts import DynamoDbStateStore
from activity_relay.adapters.dynamodb.deferrals import DynamoDbDeferrals


class DynamoDbStateTable(DynamoDbStateStore, DynamoDbDeferrals):
    """StateStore and Deferrals over one table (both take the same client, name and clock)."""
