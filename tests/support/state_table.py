"""The state table's adapters in one object, as its fake (MemoryStateTable) is one: for the
tests that read and write a contact's state, its deferrals and its webhook claims alike."""

from __future__ import annotations

from activity_relay.adapters.dynamodb.contacts import DynamoDbStateStore
from activity_relay.adapters.dynamodb.deferrals import DynamoDbDeferrals
from activity_relay.adapters.dynamodb.ledger import DynamoDbWebhookLedger


class DynamoDbStateTable(DynamoDbStateStore, DynamoDbDeferrals, DynamoDbWebhookLedger):
    """StateStore, Deferrals and WebhookLedger over one table (one client, name and clock)."""
