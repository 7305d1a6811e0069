"""DynamoDbDeferrals against moto, on the table and index template.yaml declares:
deferrals and their postponement, the quota item, stale contacts, forgetting a contact."""

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
from tests.support.state_table import DynamoDbStateTable

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


def item(dynamodb: Any, table: str, contact_id: str = CONTACT_ID) -> dict[str, Any]:
    found: dict[str, Any] = dynamodb.get_item(
        TableName=table, Key={"contact_id": {"S": contact_id}}, ConsistentRead=True
    ).get("Item", {})
    return found


def synced(store: DynamoDbStateTable, contact_id: str, started: datetime) -> ContactState:
    return store.save(ContactState(contact_id, Fingerprint(), last_sync_started_at=started))


# --- defer, due, postpone ------------------------------------------------------------------


def test_a_deferred_contact_is_due_once_its_time_has_come(store: DynamoDbStateTable) -> None:
    store.defer(CONTACT_ID, MIDNIGHT)

    assert store.due(MIDNIGHT - timedelta(microseconds=1), 10) == []
    assert store.due(MIDNIGHT, 10) == [CONTACT_ID]
    assert store.due(MIDNIGHT + timedelta(hours=1), 10) == [CONTACT_ID]


def test_due_lists_the_longest_waiting_first_up_to_the_limit(store: DynamoDbStateTable) -> None:
    # Deferred in an order unrelated to their deadlines
    for number, hours in [(1, 5), (2, 1), (3, 3), (4, 2), (5, 4)]:
        store.defer(contact(number), MIDNIGHT - timedelta(hours=hours))

    assert store.due(MIDNIGHT, 10) == [contact(1), contact(5), contact(3), contact(4), contact(2)]
    assert store.due(MIDNIGHT, 2) == [contact(1), contact(5)]
    assert store.due(MIDNIGHT - timedelta(hours=3), 10) == [contact(1), contact(5), contact(3)]
    assert store.due(MIDNIGHT, 0) == []


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
    before = item(dynamodb, state_table)

    store.defer(CONTACT_ID, MIDNIGHT)

    after = item(dynamodb, state_table)
    assert after["deferred_partition"] == {"S": "deferred"}
    assert after["deferred_until"] == {"S": "2024-05-02T00:00:00+00:00"}
    assert {k: v for k, v in after.items() if not k.startswith("deferred_")} == before
    # A sync that loaded the state before the deferral still saves without a conflict
    assert store.save(saved).version == saved.version + 1


def test_a_contact_never_synced_can_be_deferred_and_still_has_no_state(
    store: DynamoDbStateTable,
) -> None:
    store.defer(CONTACT_ID, MIDNIGHT)

    assert store.load(CONTACT_ID) is None
    assert store.save(ContactState(CONTACT_ID, Fingerprint())).version == 1


def test_a_later_deferral_replaces_the_earlier_one(store: DynamoDbStateTable) -> None:
    store.defer(CONTACT_ID, MIDNIGHT)
    store.defer(CONTACT_ID, MIDNIGHT + timedelta(days=1))

    assert store.due(MIDNIGHT, 10) == []
    assert store.due(MIDNIGHT + timedelta(days=1), 10) == [CONTACT_ID]


def test_a_save_clears_the_deferral(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    state = synced(store, CONTACT_ID, NOW)
    store.defer(CONTACT_ID, MIDNIGHT)

    store.save(dataclasses.replace(state, last_sync_started_at=MIDNIGHT))

    assert store.due(MIDNIGHT + timedelta(days=1), 10) == []
    assert not {"deferred_partition", "deferred_until"} & set(item(dynamodb, state_table))


def test_postpone_moves_due_deferrals_only(
    store: DynamoDbStateTable, clock: Clock[datetime], dynamodb: Any, state_table: str
) -> None:
    synced(store, contact(1), NOW)
    store.defer(contact(1), MIDNIGHT)
    store.defer(contact(2), MIDNIGHT)
    clock.now = MIDNIGHT + timedelta(minutes=15)
    later = clock.now + timedelta(hours=2)

    store.postpone([contact(1)], later)

    assert store.due(clock.now, 10) == [contact(2)]
    assert store.due(later, 10) == [contact(2), contact(1)], "postponed, not forgotten"
    assert "version" in item(dynamodb, state_table, contact(1))


def test_postpone_keeps_a_deferral_renewed_since_the_sweep_read_it(
    store: DynamoDbStateTable, clock: Clock[datetime]
) -> None:
    # Given a due contact the sweep has enqueued
    store.defer(CONTACT_ID, MIDNIGHT)
    clock.now = MIDNIGHT + timedelta(minutes=15)
    assert store.due(clock.now, 10) == [CONTACT_ID]
    # whose sync ran out of quota again before the sweep postponed it
    store.defer(CONTACT_ID, MIDNIGHT + timedelta(days=1))

    store.postpone([CONTACT_ID], clock.now + timedelta(hours=2))

    # Then the new deferral stands
    assert store.due(MIDNIGHT + timedelta(hours=23), 10) == []
    assert store.due(MIDNIGHT + timedelta(days=1), 10) == [CONTACT_ID]


def test_postponing_a_contact_synced_meanwhile_or_unknown_is_harmless(
    store: DynamoDbStateTable, clock: Clock[datetime], dynamodb: Any, state_table: str
) -> None:
    state = synced(store, contact(1), NOW)
    store.defer(contact(1), MIDNIGHT)
    # synced meanwhile: by a sync that began after the deferral was asked for
    store.save(replace(state, last_sync_started_at=NOW + timedelta(minutes=1)))
    clock.now = MIDNIGHT + timedelta(minutes=15)

    store.postpone([contact(1), contact(2)], clock.now + timedelta(hours=2))

    assert item(dynamodb, state_table, contact(2)) == {}
    assert store.due(clock.now + timedelta(days=2), 10) == []


def test_a_contact_that_is_gone_is_no_longer_deferred(
    store: DynamoDbStateTable, clock: Clock[datetime]
) -> None:
    store.defer(CONTACT_ID, MIDNIGHT)
    store.record_not_found(CONTACT_ID, MIDNIGHT + timedelta(minutes=20))
    assert store.due(MIDNIGHT + timedelta(days=1), 10) == []


# --- the quota item -------------------------------------------------------------------------------


def snapshot(
    remaining: int,
    *,
    observed: datetime = NOW,
    resets: datetime = MIDNIGHT,
    limit: int | None = 1000,
) -> QuotaSnapshot:
    return QuotaSnapshot(limit=limit, remaining=remaining, resets_at=resets, observed_at=observed)


def test_no_quota_observed_yet(store: DynamoDbStateTable) -> None:
    assert store.load_quota() is None


def test_the_quota_round_trips_with_and_without_a_limit(store: DynamoDbStateTable) -> None:
    store.record_quota(snapshot(400))
    assert store.load_quota() == snapshot(400)

    later = snapshot(399, observed=NOW + timedelta(seconds=1), limit=None)
    store.record_quota(later)
    assert store.load_quota() == later


def test_an_older_observation_never_overwrites_a_newer_one(store: DynamoDbStateTable) -> None:
    newer = snapshot(300, observed=NOW + timedelta(minutes=5))
    store.record_quota(newer)

    store.record_quota(snapshot(350, observed=NOW))

    assert store.load_quota() == newer


def test_a_new_window_always_wins(store: DynamoDbStateTable) -> None:
    # An observation of today's window, taken by a container whose clock runs ahead
    store.record_quota(snapshot(0, observed=MIDNIGHT + timedelta(minutes=1)))
    tomorrow = snapshot(999, observed=MIDNIGHT, resets=MIDNIGHT + timedelta(days=1))

    store.record_quota(tomorrow)
    store.record_quota(snapshot(0, observed=MIDNIGHT + timedelta(minutes=2)))

    assert store.load_quota() == tomorrow


def test_simultaneous_observations_keep_the_lower_remaining(store: DynamoDbStateTable) -> None:
    store.record_quota(snapshot(10))
    store.record_quota(snapshot(9))
    store.record_quota(snapshot(10))

    loaded = store.load_quota()
    assert loaded is not None
    assert loaded.remaining == 9


def test_the_quota_item_is_neither_a_contact_nor_due_nor_stale(
    store: DynamoDbStateTable,
) -> None:
    store.record_quota(snapshot(0))

    assert store.load(QUOTA_KEY) is None
    assert store.due(MIDNIGHT + timedelta(days=365), 10) == []
    assert store.stale(MIDNIGHT + timedelta(days=365), 10) == []


# --- stale contacts -------------------------------------------------------------------------------


def test_stale_lists_contacts_last_synced_before_the_cutoff(store: DynamoDbStateTable) -> None:
    synced(store, contact(1), NOW - timedelta(days=2))
    synced(store, contact(2), NOW - timedelta(hours=1))
    synced(store, contact(3), NOW - timedelta(days=3))
    store.save(ContactState(contact(4), Fingerprint()))  # a state without a sync start

    stale = store.stale(NOW - timedelta(days=1), 10)

    assert sorted(stale) == [contact(1), contact(3), contact(4)]
    assert len(store.stale(NOW - timedelta(days=1), 2)) == 2
    assert store.stale(NOW - timedelta(days=1), 0) == []


def test_stale_leaves_out_not_found_deferred_and_quota_items(store: DynamoDbStateTable) -> None:
    long_ago = NOW - timedelta(days=30)
    synced(store, contact(1), long_ago)
    store.record_not_found(contact(2), long_ago)  # never found
    synced(store, contact(3), long_ago)
    store.record_not_found(contact(3), long_ago)  # found once, gone since
    synced(store, contact(4), long_ago)
    store.defer(contact(4), MIDNIGHT)  # the sweep reaches it through `due`
    store.record_quota(snapshot(5))

    assert store.stale(NOW, 10) == [contact(1)]


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


def test_forget_deletes_everything_about_the_contact(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    synced(store, CONTACT_ID, NOW)
    store.defer(CONTACT_ID, MIDNIGHT)
    store.record_quota(snapshot(5))

    store.forget(CONTACT_ID)
    store.forget(contact(99))  # unknown: nothing to do

    assert item(dynamodb, state_table) == {}
    assert store.load(CONTACT_ID) is None
    assert store.due(MIDNIGHT, 10) == []
    assert store.load_quota() == snapshot(5)


# --- wait: contacts waiting for the paced budget (issue 13) -----------------------------------


def test_a_waiting_contact_is_due_at_once_in_waiting_order(store: DynamoDbStateTable) -> None:
    store.wait(contact(1), NOW - timedelta(minutes=5))
    store.wait(contact(2), NOW - timedelta(minutes=20))
    store.defer(contact(3), MIDNIGHT)  # the quota's deferral: not due before the reset

    assert store.due(NOW, 10) == [contact(2), contact(1)]


def test_later_messages_keep_a_waiting_contact_s_place(
    store: DynamoDbStateTable, dynamodb: Any, state_table: str
) -> None:
    state = synced(store, CONTACT_ID, NOW - timedelta(hours=1))
    store.wait(CONTACT_ID, NOW - timedelta(minutes=10))
    store.wait(contact(2), NOW - timedelta(minutes=5))

    store.wait(CONTACT_ID, NOW)

    assert store.due(NOW, 10) == [CONTACT_ID, contact(2)]
    assert item(dynamodb, state_table, CONTACT_ID)["deferred_until"]["S"] == (
        (NOW - timedelta(minutes=10)).isoformat()
    )
    # Not a state save: the version a concurrent sync expects is untouched
    assert store.load(CONTACT_ID) == state


def test_a_new_message_brings_a_contact_deferred_to_later_forward(
    store: DynamoDbStateTable,
) -> None:
    # A contact postponed after a release (or deferred to the reset) asks again
    store.defer(CONTACT_ID, NOW + timedelta(hours=2))

    store.wait(CONTACT_ID, NOW)

    assert store.due(NOW, 10) == [CONTACT_ID]


def test_the_sync_a_waiting_contact_was_released_for_ends_its_wait(
    store: DynamoDbStateTable,
) -> None:
    state = synced(store, CONTACT_ID, NOW - timedelta(hours=1))
    store.wait(CONTACT_ID, NOW)

    store.save(dataclasses.replace(state, last_sync_started_at=NOW + timedelta(minutes=1)))

    assert store.due(NOW + timedelta(days=1), 10) == []
