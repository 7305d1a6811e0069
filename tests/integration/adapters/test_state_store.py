"""DynamoDbStateStore against moto, on the table template.yaml declares: what the contract
cases cannot see. tests/contract/test_state_store.py and test_lease.py run the port's cases
(round trips, optimistic concurrency, not-found records, the lease) on this adapter and its
fake alike; here, the item's own attributes, an error that is not a conflict, and the size of
a large contact's item."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from activity_relay.core.model import ContactState
from activity_relay.core.model.fingerprint import Fingerprint
from activity_relay.core.sync.ports import StateConflict
from tests.support.events import CONTACT_ID
from tests.support.state_table import DynamoDbStateTable, stored_item

pytestmark = pytest.mark.integration

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BASE_MICROS = 1_714_521_600_000_000  # 2024-05-01T00:00:00Z


def fingerprint(count: int, *, spacing_seconds: int = 60) -> Fingerprint:
    seen = Fingerprint()
    seen.add_all((f"act-{i}", BASE_MICROS + i * spacing_seconds * 1_000_000) for i in range(count))
    return seen


@pytest.fixture
def store(dynamodb: Any, state_table: str) -> DynamoDbStateTable:
    return DynamoDbStateTable(dynamodb, state_table, clock=lambda: NOW)


def test_a_saved_state_loads_back_one_version_on(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    # Given a first state of a contact
    started = datetime(2024, 5, 1, 11, 59, 30, 123456, tzinfo=UTC)
    state = ContactState(CONTACT_ID, fingerprint(250), last_sync_started_at=started)

    # When it is saved and loaded
    saved = store.save(state)
    loaded = store.load(CONTACT_ID)

    # Then it comes back as saved, at version 1
    assert saved == dataclasses.replace(state, version=1)
    assert loaded is not None
    assert loaded.version == 1
    assert loaded.seen.encode() == state.seen.encode()
    assert loaded.last_sync_started_at == started
    item = stored_item(dynamodb, state_table, CONTACT_ID)
    assert item["fingerprint"]["B"] == state.seen.encode()
    assert item["activities_accounted"] == {"N": "250"}
    assert item["last_sync_started_at"] == {"S": "2024-05-01T11:59:30.123456+00:00"}
    assert item["updated_at"] == {"S": "2024-05-01T12:00:00+00:00"}


def test_not_found_keeps_an_existing_state(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    # Given a contact with a stored state
    saved = store.save(ContactState(CONTACT_ID, fingerprint(10), last_sync_started_at=NOW))

    # When the API later answers 404 for it
    store.record_not_found(CONTACT_ID, NOW + timedelta(days=1))

    # Then its state is intact and the 404 is on record
    loaded = store.load(CONTACT_ID)
    assert loaded is not None
    assert loaded.seen.encode() == saved.seen.encode()
    assert loaded.version == saved.version
    assert loaded.last_sync_started_at == NOW
    assert stored_item(dynamodb, state_table, CONTACT_ID)["not_found_at"] == {
        "S": "2024-05-02T12:00:00+00:00"
    }
    # and the next save still expects the same version
    assert store.save(loaded).version == saved.version + 1


def test_a_contact_only_recorded_as_not_found_has_no_state_yet(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    store.record_not_found(CONTACT_ID, NOW)

    assert store.load(CONTACT_ID) is None
    # Its first save is a version-0 save, which the record does not block
    saved = store.save(ContactState(CONTACT_ID, fingerprint(1)))
    assert saved.version == 1
    # and which clears the record: the contact has been found since
    assert "not_found_at" not in stored_item(dynamodb, state_table, CONTACT_ID)


def test_a_cleared_sync_start_is_removed_from_the_item(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    saved = store.save(ContactState(CONTACT_ID, fingerprint(1), last_sync_started_at=NOW))

    store.save(dataclasses.replace(saved, last_sync_started_at=None))

    assert "last_sync_started_at" not in stored_item(dynamodb, state_table, CONTACT_ID)
    loaded = store.load(CONTACT_ID)
    assert loaded is not None
    assert loaded.last_sync_started_at is None


def test_other_errors_are_not_conflicts(dynamodb: Any) -> None:
    # A missing table (or throttling past botocore's retries) is transient, not a lost race
    store = DynamoDbStateTable(dynamodb, "no-such-table")

    with pytest.raises(ClientError) as error:
        store.save(ContactState(CONTACT_ID, fingerprint(1)))

    assert not isinstance(error.value, StateConflict)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (N counted at its widest)."""
    total = 0
    for name, value in item.items():
        ((kind, content),) = value.items()
        total += len(name.encode())
        total += len(content) if kind == "B" else len(content.encode()) + (1 if kind == "N" else 0)
    return total


@pytest.mark.parametrize(
    "spacing_seconds", [1, 3600], ids=["all-within-the-recent-window", "spread-over-years"]
)
def test_the_item_of_a_20000_activity_contact_stays_far_below_400_kb(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str, spacing_seconds: int
) -> None:
    seen = fingerprint(20_000, spacing_seconds=spacing_seconds)
    state = ContactState(CONTACT_ID, seen, last_sync_started_at=NOW)

    store.save(state)
    store.record_not_found(CONTACT_ID, NOW)

    assert item_size(stored_item(dynamodb, state_table, CONTACT_ID)) < 100 * 1024
    loaded = store.load(CONTACT_ID)
    assert loaded is not None
    assert loaded.seen.total == 20_000
