"""DynamoDbDeferrals against moto, on the table and index template.yaml declares: what the
contract cases cannot see. tests/contract/test_state_store.py runs the port's cases (defer,
due, postpone, wait, stale, the quota) on this adapter and its fake alike; here, paging
through the index and the scan, the item's own attributes, the reserved quota key, and
forgetting a contact."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activity_relay.adapters.dynamodb.codec import QUOTA_KEY
from activity_relay.core.model import ContactState
from activity_relay.core.model.fingerprint import Fingerprint
from activity_relay.core.quota.ports import QuotaSnapshot
from tests.support.clock import Clock
from tests.support.events import CONTACT_ID
from tests.support.state_table import DynamoDbStateTable, stored_item

pytestmark = pytest.mark.integration

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2024, 5, 2, tzinfo=UTC)


def contact(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


@pytest.fixture
def clock() -> Clock[datetime]:
    return Clock(NOW)


@pytest.fixture
def store(dynamodb: Any, state_table: str, clock: Clock[datetime]) -> DynamoDbStateTable:
    return DynamoDbStateTable(dynamodb, state_table, clock=clock)


def synced(store: DynamoDbStateTable, contact_id: str, started: datetime) -> ContactState:
    return store.save(ContactState(contact_id, Fingerprint(), last_sync_started_at=started))


# --- defer, due, postpone ------------------------------------------------------------------


def test_due_pages_through_the_index_until_the_limit(
    store: DynamoDbStateTable, dynamodb: Any
) -> None:
    for number in range(25):
        store.defer(contact(number), MIDNIGHT - timedelta(minutes=number))
    limits: list[int] = []

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        limits.append(params["Limit"])
        params["Limit"] = min(params["Limit"], 7)

    dynamodb.meta.events.register("provide-client-params.dynamodb.Query", small_pages)

    due = store.due(MIDNIGHT, 20)

    assert due == [contact(number) for number in reversed(range(5, 25))]
    # Each page asks for no more than what is still missing
    assert limits == [20, 13, 6]


def test_defer_keeps_the_state_and_its_version(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    saved = synced(store, CONTACT_ID, NOW)
    before = stored_item(dynamodb, state_table, CONTACT_ID)

    store.defer(CONTACT_ID, MIDNIGHT)

    after = stored_item(dynamodb, state_table, CONTACT_ID)
    assert after["deferred_partition"] == {"S": "deferred"}
    assert after["deferred_until"] == {"S": "2024-05-02T00:00:00+00:00"}
    assert {k: v for k, v in after.items() if not k.startswith("deferred_")} == before
    # A sync that loaded the state before the deferral still saves without a conflict
    assert store.save(saved).version == saved.version + 1


def test_a_save_clears_the_deferral(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    state = synced(store, CONTACT_ID, NOW)
    store.defer(CONTACT_ID, MIDNIGHT)

    store.save(dataclasses.replace(state, last_sync_started_at=MIDNIGHT))

    assert store.due(MIDNIGHT + timedelta(days=1), 10) == []
    after = stored_item(dynamodb, state_table, CONTACT_ID)
    assert not {"deferred_partition", "deferred_until"} & set(after)


def test_postponing_a_contact_synced_meanwhile_or_unknown_is_harmless(
    store: DynamoDbStateTable, clock: Clock[datetime], dynamodb: Any, state_table: str
) -> None:
    state = synced(store, contact(1), NOW)
    store.defer(contact(1), MIDNIGHT)
    # synced meanwhile: by a sync that began after the deferral was asked for
    store.save(replace(state, last_sync_started_at=NOW + timedelta(minutes=1)))
    clock.now = MIDNIGHT + timedelta(minutes=15)

    store.postpone([contact(1), contact(2)], clock.now + timedelta(hours=2))

    assert stored_item(dynamodb, state_table, contact(2)) == {}
    assert store.due(clock.now + timedelta(days=2), 10) == []


def test_the_item_says_why_the_contact_waits_until_a_save_clears_it(
    store: DynamoDbStateTable, clock: Clock[datetime], dynamodb: Any, state_table: str
) -> None:
    def reason() -> str | None:
        value: str | None = (
            stored_item(dynamodb, state_table, CONTACT_ID).get("deferred_reason", {}).get("S")
        )
        return value

    state = synced(store, CONTACT_ID, NOW - timedelta(hours=1))
    store.defer(CONTACT_ID, MIDNIGHT)
    assert reason() == "quota"
    clock.now = MIDNIGHT + timedelta(minutes=1)
    store.postpone([CONTACT_ID], clock.now + timedelta(hours=2))
    assert reason() == "released"
    store.wait(CONTACT_ID, clock.now)
    assert reason() == "paced"
    store.wait(CONTACT_ID, clock.now + timedelta(minutes=5))  # keeps its place
    assert reason() == "paced"

    store.save(replace(state, last_sync_started_at=clock.now + timedelta(minutes=10)))

    assert reason() is None


# --- the quota item -------------------------------------------------------------------------------


def snapshot(
    remaining: int,
    *,
    observed: datetime = NOW,
    resets: datetime = MIDNIGHT,
    limit: int | None = 1000,
) -> QuotaSnapshot:
    return QuotaSnapshot(limit=limit, remaining=remaining, resets_at=resets, observed_at=observed)


def test_the_quota_item_is_neither_a_contact_nor_due_nor_stale(
    store: DynamoDbStateTable,
) -> None:
    store.record_quota(snapshot(0))

    assert store.load(QUOTA_KEY) is None
    assert store.due(MIDNIGHT + timedelta(days=365), 10) == []
    assert store.stale(MIDNIGHT + timedelta(days=365), 10) == []


# --- stale contacts -------------------------------------------------------------------------------


def test_stale_pages_through_the_whole_table(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    for number in range(30):
        synced(store, contact(number), NOW - timedelta(days=1))
    scans: list[dict[str, Any]] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Scan", lambda params, **_: scans.append(params)
    )
    pages = iter([3, 7, 20])

    def one_page_at_a_time(params: dict[str, Any], **_: Any) -> None:
        params["Limit"] = next(pages, 30)

    dynamodb.meta.events.register("provide-client-params.dynamodb.Scan", one_page_at_a_time)

    assert sorted(store.stale(NOW, 100)) == sorted(contact(n) for n in range(30))
    assert len(scans) >= 3
    assert len(store.stale(NOW, 5)) == 5


# --- forget ---------------------------------------------------------------------------------------


def test_forget_keeps_nothing_about_the_contact_but_when_it_was_reset(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    synced(store, CONTACT_ID, NOW)
    store.defer(CONTACT_ID, MIDNIGHT)
    store.record_quota(snapshot(5))

    store.forget(CONTACT_ID)

    assert stored_item(dynamodb, state_table, CONTACT_ID) == {
        "contact_id": {"S": CONTACT_ID},
        "reset_at": {"S": NOW.isoformat()},
    }
    assert store.load(CONTACT_ID) is None
    assert store.due(MIDNIGHT, 10) == []
    assert store.load_quota() == snapshot(5)


# --- wait: contacts waiting for the paced budget (issue 13) -----------------------------------


def test_later_messages_keep_a_waiting_contact_s_place(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    state = synced(store, CONTACT_ID, NOW - timedelta(hours=1))
    store.wait(CONTACT_ID, NOW - timedelta(minutes=10))
    store.wait(contact(2), NOW - timedelta(minutes=5))

    store.wait(CONTACT_ID, NOW)

    assert store.due(NOW, 10) == [CONTACT_ID, contact(2)]
    assert stored_item(dynamodb, state_table, CONTACT_ID)["deferred_until"]["S"] == (
        (NOW - timedelta(minutes=10)).isoformat()
    )
    # Not a state save: the version a concurrent sync expects is untouched
    assert store.load(CONTACT_ID) == state
