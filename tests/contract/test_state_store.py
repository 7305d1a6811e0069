"""StateStore and Deferrals: MemoryStateTable agrees with DynamoDbStateStore and DynamoDbDeferrals.

Each case runs on both (the `store` fixture); the DynamoDB adapters are the reference.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from activity_relay.core.model import Backfill, ContactState
from activity_relay.core.model.fingerprint import Fingerprint
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.sync.ports import StateConflict
from tests.support.clock import Clock
from tests.support.state_table import HOUR, NOW, RESET, Store, contact, fingerprint, synced

# --- load and save -------------------------------------------------------------------------------


def test_an_unknown_contact_has_no_state(store: Store) -> None:
    assert store.load(contact(1)) is None


def test_a_saved_state_loads_back_one_version_on(store: Store) -> None:
    saved = store.save(ContactState(contact(1), fingerprint("a", "b"), last_sync_started_at=NOW))

    loaded = store.load(contact(1))

    assert saved.version == 1
    assert loaded is not None
    assert (loaded.contact_id, loaded.version, loaded.last_sync_started_at) == (
        contact(1),
        1,
        NOW,
    )
    assert loaded.seen.encode() == fingerprint("a", "b").encode()

    # And each later save moves it one version on, with what that save carried
    for version, ids in [(2, ("a", "b", "c")), (3, ("a", "b", "c", "d"))]:
        saved = store.save(replace(loaded, seen=fingerprint(*ids)))
        loaded = store.load(contact(1))
        assert loaded is not None
        assert saved.version == loaded.version == version
        assert loaded.seen.encode() == fingerprint(*ids).encode()


def _unread_read() -> Backfill:
    return Backfill(
        read_from_end=300,
        total=12_000,
        first_sync=False,
        checkpointed_at=NOW,
        unread_until=9_901,
        unread_seen=fingerprint("x", "y"),
    )


@pytest.mark.parametrize(
    "backfill",
    [
        Backfill(read_from_end=3_100, total=None, first_sync=True, checkpointed_at=NOW),
        Backfill(read_from_end=3_100, total=12_000, first_sync=True, checkpointed_at=NOW),
        Backfill(0, 12_000, first_sync=True, checkpointed_at=NOW, scanned_to=8_800),
        _unread_read(),
        Backfill(3_100, 12_000, first_sync=False, checkpointed_at=NOW, parked=True),
    ],
    ids=[
        "first-page-unknown",
        "position",
        "scanning-for-a-date",
        "reading-unread-history",
        "parked-by-the-quota",
    ],
)
def test_a_continuing_syncs_position_round_trips_and_goes_with_its_end(
    store: Store, backfill: Backfill
) -> None:
    # Given a sync that stopped at a checkpoint
    saved = store.save(ContactState(contact(1), fingerprint("a"), backfill=backfill))

    # Then a later invocation finds the position again
    loaded = store.load(contact(1))
    assert loaded is not None
    assert loaded.backfill == backfill

    # And once the sync is complete, nothing of it is left
    store.save(ContactState(contact(1), fingerprint("a"), saved.version, NOW, backfill=None))
    loaded = store.load(contact(1))
    assert loaded is not None
    assert loaded.backfill is None


def test_a_save_on_an_old_version_conflicts(store: Store) -> None:
    first = synced(store, contact(1))
    store.save(first)

    with pytest.raises(StateConflict):
        store.save(first)  # version 1, but the store is at 2
    with pytest.raises(StateConflict):
        store.save(
            replace(first, seen=fingerprint("b"))
        )  # the loser of a race, its own fingerprint
    with pytest.raises(StateConflict):
        store.save(ContactState(contact(1), Fingerprint()))  # a first save of a known contact
    loaded = store.load(contact(1))
    assert loaded is not None
    assert loaded.version == 2
    assert loaded.seen.encode() == fingerprint("a").encode(), "a refused save writes nothing"

    # A version behind by more than one conflicts as well
    store.save(loaded)
    with pytest.raises(StateConflict):
        store.save(first)  # version 1, the store at 3


def test_what_the_caller_changes_after_a_save_or_load_stays_with_the_caller(
    store: Store,
) -> None:
    # Given a stored state
    state = ContactState(contact(1), fingerprint("a"))
    saved = store.save(state)

    # When the caller changes the fingerprints it holds, without saving
    state.seen.add_all([("b", 1_800_000_000_000_000)])
    saved.seen.add_all([("c", 1_800_000_000_000_001)])
    loaded = store.load(contact(1))
    assert loaded is not None
    loaded.seen.add_all([("d", 1_800_000_000_000_002)])

    # Then the store still holds what was saved
    again = store.load(contact(1))
    assert again is not None
    assert again.seen.encode() == fingerprint("a").encode()


def test_a_contact_only_recorded_as_not_found_has_no_state_and_saves_as_new(store: Store) -> None:
    store.record_not_found(contact(1), NOW)

    assert store.load(contact(1)) is None
    assert store.save(ContactState(contact(1), Fingerprint())).version == 1


def test_not_found_keeps_an_existing_state(store: Store) -> None:
    synced(store, contact(1))

    store.record_not_found(contact(1), NOW)

    loaded = store.load(contact(1))
    assert loaded is not None
    assert loaded.version == 1


def test_recording_a_failure_changes_neither_the_state_nor_its_version(store: Store) -> None:
    saved = synced(store, contact(1))

    store.record_failure(contact(1), "TransientSourceError: 503", NOW)
    store.record_failure(contact(2), "never synced, failed at once", NOW)

    assert store.load(contact(1)) == saved
    assert store.load(contact(2)) is None
    assert store.save(replace(saved, seen=fingerprint("a"))).version == saved.version + 1


# --- defer, due, postpone ------------------------------------------------------------------------


def test_due_lists_contacts_whose_time_has_come_longest_waiting_first(store: Store) -> None:
    store.defer(contact(1), NOW - HOUR)
    store.defer(contact(2), NOW - 2 * HOUR)
    store.defer(contact(3), NOW)  # exactly now: due
    store.defer(contact(4), NOW + timedelta(microseconds=1))  # not yet

    assert store.due(NOW, 10) == [contact(2), contact(1), contact(3)]
    assert store.due(NOW, 2) == [contact(2), contact(1)]
    assert store.due(NOW - HOUR, 10) == [contact(2), contact(1)]


@pytest.mark.parametrize("limit", [0, -1])
def test_due_with_no_room_lists_nothing(store: Store, limit: int) -> None:
    store.defer(contact(1), NOW - HOUR)
    store.defer(contact(2), NOW - HOUR)

    assert store.due(NOW, limit) == []


def test_a_deferral_keeps_the_state_and_a_later_one_replaces_it(store: Store) -> None:
    synced(store, contact(1))

    store.defer(contact(1), NOW - HOUR)
    store.defer(contact(1), NOW + HOUR)

    loaded = store.load(contact(1))
    assert loaded is not None
    assert loaded.version == 1
    assert store.due(NOW, 10) == []
    assert store.due(NOW + HOUR, 10) == [contact(1)]


def test_a_contact_never_synced_can_be_deferred_and_has_no_state(store: Store) -> None:
    store.defer(contact(1), NOW - HOUR)

    assert store.load(contact(1)) is None
    assert store.due(NOW, 10) == [contact(1)]
    # and its first save is a version-0 save, which the deferral does not block
    assert store.save(ContactState(contact(1), Fingerprint())).version == 1


def test_a_save_clears_the_deferral(store: Store) -> None:
    store.defer(contact(1), NOW - HOUR)

    store.save(ContactState(contact(1), Fingerprint()))

    assert store.due(NOW + 48 * HOUR, 10) == []


def test_a_contact_that_is_gone_is_no_longer_deferred(store: Store) -> None:
    store.defer(contact(1), NOW - HOUR)

    store.record_not_found(contact(1), NOW)

    assert store.due(NOW + 48 * HOUR, 10) == []


def test_postpone_moves_a_deferral_that_has_come_due(store: Store, clock: Clock[datetime]) -> None:
    state = synced(store, contact(1))
    store.defer(contact(1), NOW - HOUR)
    store.defer(contact(2), NOW - HOUR)

    store.postpone([contact(1)], NOW + HOUR)

    assert store.due(NOW, 10) == [contact(2)], "only the contacts named are postponed"
    assert store.due(NOW + HOUR, 10) == [contact(2), contact(1)], "postponed, not forgotten"
    assert store.load(contact(1)) == state


def test_postpone_keeps_a_deferral_renewed_since_the_sweep_read_it(
    store: Store, clock: Clock[datetime]
) -> None:
    # Given a contact deferred again, to the next reset, after the sweep listed it as due
    store.defer(contact(1), RESET)

    # When the sweep postpones it to a moment after that reset, or before it
    store.postpone([contact(1)], RESET + HOUR)
    store.postpone([contact(1)], NOW + HOUR)

    # Then the renewed deferral stands: it is not yet due, so it is not the sweep's to move
    assert store.due(RESET - timedelta(microseconds=1), 10) == []
    assert store.due(RESET, 10) == [contact(1)]


def test_postpone_judges_due_by_the_store_s_clock(store: Store, clock: Clock[datetime]) -> None:
    store.defer(contact(1), NOW + HOUR)

    clock.now = NOW + 2 * HOUR  # by now the deferral has come due
    store.postpone([contact(1)], NOW + 3 * HOUR)

    assert store.due(NOW + 2 * HOUR, 10) == []
    assert store.due(NOW + 3 * HOUR, 10) == [contact(1)]


def test_postponing_a_contact_synced_meanwhile_or_unknown_changes_nothing(store: Store) -> None:
    store.defer(contact(1), NOW - HOUR)
    store.save(ContactState(contact(1), Fingerprint()))

    store.postpone([contact(1), contact(2)], NOW + HOUR)

    assert store.due(NOW + 48 * HOUR, 10) == []
    assert store.load(contact(2)) is None


# --- stale ---------------------------------------------------------------------------------------


def test_stale_lists_contacts_last_synced_before_the_cutoff(store: Store) -> None:
    synced(store, contact(1), NOW - 30 * HOUR)
    synced(store, contact(2), NOW - 24 * HOUR)  # exactly at the cutoff: not before it
    synced(store, contact(3), NOW - HOUR)
    store.save(ContactState(contact(4), Fingerprint()))  # saved without a sync start

    assert sorted(store.stale(NOW - 24 * HOUR, 10)) == [contact(1), contact(4)]


def test_stale_leaves_out_contacts_waiting_for_the_quota(store: Store) -> None:
    synced(store, contact(1), NOW - 30 * HOUR)
    synced(store, contact(2), NOW - 30 * HOUR)

    store.defer(contact(2), RESET)  # `due` will bring it back

    assert store.stale(NOW, 10) == [contact(1)]


def test_stale_leaves_out_contacts_that_are_gone_until_a_save(store: Store) -> None:
    synced(store, contact(1), NOW - 30 * HOUR)
    state = synced(store, contact(2), NOW - 30 * HOUR)

    store.record_not_found(contact(2), NOW - HOUR)
    assert store.stale(NOW, 10) == [contact(1)]

    # A save means the contact was found again: not_found is gone with it
    store.save(state)
    assert sorted(store.stale(NOW, 10)) == [contact(1), contact(2)]


def test_stale_leaves_out_contacts_never_saved(store: Store) -> None:
    store.record_not_found(contact(1), NOW - 30 * HOUR)
    store.defer(contact(2), NOW + HOUR)
    store.record_quota(QuotaSnapshot(limit=100, remaining=5, resets_at=RESET, observed_at=NOW))

    assert store.stale(NOW, 10) == []


@pytest.mark.parametrize("limit", [0, -1, 2])
def test_stale_lists_at_most_the_limit(store: Store, limit: int) -> None:
    for number in range(4):
        synced(store, contact(number), NOW - 30 * HOUR)

    listed = store.stale(NOW, limit)

    assert len(listed) == max(0, limit)
    assert len(set(listed)) == len(listed)
    assert set(listed) <= {contact(number) for number in range(4)}


# --- the quota -----------------------------------------------------------------------------------


def snapshot(remaining: int, *, resets: object = RESET, observed: object = NOW) -> QuotaSnapshot:
    return QuotaSnapshot(limit=1000, remaining=remaining, resets_at=resets, observed_at=observed)  # type: ignore[arg-type]


def test_no_quota_observed_yet(store: Store) -> None:
    assert store.load_quota() is None


def test_the_quota_round_trips_with_and_without_a_limit(store: Store) -> None:
    store.record_quota(snapshot(40))
    assert store.load_quota() == snapshot(40)

    later = QuotaSnapshot(limit=None, remaining=39, resets_at=RESET, observed_at=NOW + HOUR)
    store.record_quota(later)
    assert store.load_quota() == later


def test_an_older_observation_of_the_window_never_overwrites_a_newer_one(store: Store) -> None:
    store.record_quota(snapshot(30, observed=NOW))

    store.record_quota(snapshot(50, observed=NOW - HOUR))

    assert store.load_quota() == snapshot(30, observed=NOW)


def test_a_new_window_wins_even_when_observed_earlier(store: Store) -> None:
    # Two containers' clocks disagree: the one that saw the next window is still right
    store.record_quota(snapshot(0, resets=RESET, observed=NOW))

    store.record_quota(snapshot(999, resets=RESET + 24 * HOUR, observed=NOW - HOUR))

    assert store.load_quota() == snapshot(999, resets=RESET + 24 * HOUR, observed=NOW - HOUR)


def test_a_later_observation_of_an_old_window_is_ignored(store: Store) -> None:
    store.record_quota(snapshot(999, resets=RESET + 24 * HOUR, observed=NOW))

    store.record_quota(snapshot(0, resets=RESET, observed=NOW + HOUR))

    assert store.load_quota() == snapshot(999, resets=RESET + 24 * HOUR, observed=NOW)


def test_simultaneous_observations_keep_the_lower_remaining(store: Store) -> None:
    store.record_quota(snapshot(30))

    store.record_quota(snapshot(40))
    assert store.load_quota() == snapshot(30)

    store.record_quota(snapshot(20))
    assert store.load_quota() == snapshot(20)


# --- wait: contacts waiting for the paced budget (issue 13) -------------------------------------


def test_a_waiting_contact_is_due_at_once_in_the_order_they_started_to_wait(store: Store) -> None:
    store.wait(contact(1), NOW - timedelta(minutes=5))
    store.wait(contact(2), NOW - timedelta(minutes=20))
    store.defer(contact(3), RESET)  # the quota's deferral: not due before the reset

    assert store.due(NOW, 10) == [contact(2), contact(1)]


def test_a_waiting_contact_keeps_its_place_and_its_state(store: Store) -> None:
    state = synced(store, contact(1))
    store.wait(contact(1), NOW - timedelta(minutes=10))
    store.wait(contact(2), NOW - timedelta(minutes=5))

    store.wait(contact(1), NOW)  # a later message

    assert store.due(NOW, 10) == [contact(1), contact(2)]
    assert store.load(contact(1)) == state


def test_a_new_wait_brings_a_later_deferral_forward(store: Store) -> None:
    store.defer(contact(1), NOW + 2 * HOUR)  # postponed after a release

    store.wait(contact(1), NOW)

    assert store.due(NOW, 10) == [contact(1)]


def test_the_sync_a_waiting_contact_was_released_for_ends_its_wait(
    store: Store, clock: Clock[datetime]
) -> None:
    state = synced(store, contact(1))
    store.wait(contact(1), NOW - HOUR)

    # The sweep releases it; the sync it was released for starts a minute later
    clock.now = NOW + timedelta(minutes=1)
    store.save(replace(state, last_sync_started_at=clock.now))

    assert store.due(RESET + 24 * HOUR, 10) == []


@pytest.mark.parametrize("hold", ["wait", "defer"])
def test_a_wait_or_deferral_asked_for_while_a_sync_runs_outlives_that_syncs_save(
    store: Store, clock: Clock[datetime], hold: str
) -> None:
    # Given a sync that began at NOW (it read page 1 then)
    state = synced(store, contact(1))
    # When a message for an activity logged after that read waits for the paced budget (or the
    # contact is deferred to the quota's reset), and a moment later the sync saves its checkpoint
    clock.now = NOW + timedelta(seconds=30)
    if hold == "wait":
        store.wait(contact(1), clock.now)
    else:
        store.defer(contact(1), RESET)
    store.save(replace(state, last_sync_started_at=NOW))

    # Then the contact is still held: the sync could not have read that activity
    assert store.due(clock.now if hold == "wait" else RESET, 10) == [contact(1)]
    assert store.load(contact(1)).last_sync_started_at == NOW  # type: ignore[union-attr]


def test_a_wait_that_keeps_its_place_still_outlives_a_sync_begun_before_it(
    store: Store, clock: Clock[datetime]
) -> None:
    # Given a contact waiting since an hour ago, and a sync that began at NOW
    state = synced(store, contact(1))
    store.wait(contact(1), NOW - HOUR)
    # When another message waits during that sync (the contact keeps its earlier place)
    clock.now = NOW + timedelta(seconds=30)
    store.wait(contact(1), clock.now)
    store.save(replace(state, last_sync_started_at=NOW))

    # Then the wait survives the save, in its place
    assert store.due(clock.now, 10) == [contact(1)]
