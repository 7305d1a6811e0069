"""The contact lease (StateStore.begin / save / release / record_not_found): MemoryStateTable
agrees with DynamoDbStateTable, and the lease leaves the rest of the item alone (deferrals,
not_found_at, the `#quota` item, the sweep's `stale` scan).

Each case runs on both (the `store` fixture); DynamoDbStateTable is the reference.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from activity_relay.core.model import ContactState
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.sync.ports import Covered, Lease, LeaseHeld, StateConflict
from tests.support.state_table import HOUR, NOW, RESET, Store, contact, fingerprint, synced

MINUTE = timedelta(minutes=1)


def lease(holder: str, taken_at: object = NOW, lasting: timedelta = MINUTE) -> Lease:
    return Lease(holder=holder, taken_at=taken_at, expires_at=taken_at + lasting)  # type: ignore[arg-type, operator]


def test_a_free_contact_is_taken_and_a_second_holder_is_told_who_holds_it(store: Store) -> None:
    first = lease("first")

    assert store.begin(contact(1), first) is None  # unknown contact: no state yet

    with pytest.raises(LeaseHeld) as held:
        store.begin(contact(1), lease("second", NOW + timedelta(seconds=5)))
    assert held.value.lease == first


def test_begin_returns_the_state_load_would(store: Store) -> None:
    saved = synced(store, contact(1))
    state = store.begin(contact(1), lease("first"))
    assert state is not None
    assert (state.version, state.last_sync_started_at) == (
        saved.version,
        saved.last_sync_started_at,
    )
    assert state.seen.encode() == saved.seen.encode()


def test_the_holder_may_take_its_own_lease_again(store: Store) -> None:
    store.begin(contact(1), lease("first"))
    store.begin(contact(1), lease("first", NOW + timedelta(seconds=1)))


def test_an_expired_lease_is_taken_over(store: Store) -> None:
    store.begin(contact(1), lease("killed"))
    taken_over = lease("next", NOW + MINUTE + timedelta(milliseconds=1))

    store.begin(contact(1), taken_over)

    with pytest.raises(LeaseHeld) as held:
        store.begin(contact(1), lease("third", NOW + MINUTE + timedelta(seconds=2)))
    assert held.value.lease == taken_over


def test_a_lease_at_its_very_deadline_still_holds(store: Store) -> None:
    store.begin(contact(1), lease("first"))
    with pytest.raises(LeaseHeld):
        store.begin(contact(1), lease("second", NOW + MINUTE))


def test_the_checkpoint_releases_the_lease(store: Store) -> None:
    first = lease("first")
    state = store.begin(contact(1), first) or ContactState(contact(1), fingerprint())

    store.save(ContactState(contact(1), fingerprint("a"), state.version, NOW), first)

    assert store.begin(contact(1), lease("second", NOW + timedelta(seconds=1))) is not None


def test_a_save_under_a_lease_taken_over_is_refused_and_keeps_the_new_holders(
    store: Store,
) -> None:
    store.begin(contact(1), lease("overran"))
    store.begin(contact(1), lease("next", NOW + 2 * MINUTE))

    with pytest.raises(StateConflict):
        store.save(ContactState(contact(1), fingerprint("a"), 0, NOW), lease("overran"))

    assert store.load(contact(1)) is None
    with pytest.raises(LeaseHeld) as held:
        store.begin(contact(1), lease("third", NOW + 2 * MINUTE + timedelta(seconds=1)))
    assert held.value.lease.holder == "next"


def test_release_frees_only_the_holders_lease(store: Store) -> None:
    store.begin(contact(1), lease("first"))

    store.release(contact(1), lease("someone else"))
    with pytest.raises(LeaseHeld):
        store.begin(contact(1), lease("second", NOW + timedelta(seconds=1)))

    store.release(contact(1), lease("first"))
    store.begin(contact(1), lease("second", NOW + timedelta(seconds=1)))
    store.release(contact(2), lease("nobody"))  # nothing there: nothing happens
    assert store.load(contact(2)) is None


def test_a_request_covered_by_the_last_sync_takes_nothing(store: Store) -> None:
    synced(store, contact(1), started=NOW)
    store.begin(contact(1), lease("holder"))
    store.release(contact(1), lease("holder"))

    with pytest.raises(Covered) as covered:
        store.begin(contact(1), lease("late", NOW + MINUTE), covered_after=NOW - MINUTE)
    assert covered.value.last_sync_started_at == NOW

    # Covered wins over a lease held meanwhile, and a request after the last start is not covered
    store.begin(contact(1), lease("holder", NOW + MINUTE))
    with pytest.raises(Covered):
        store.begin(contact(1), lease("late", NOW + MINUTE), covered_after=NOW - MINUTE)
    with pytest.raises(LeaseHeld):
        store.begin(contact(1), lease("late", NOW + MINUTE), covered_after=NOW)


def test_a_request_for_a_contact_never_synced_is_never_covered(store: Store) -> None:
    assert store.begin(contact(1), lease("first"), covered_after=NOW - HOUR) is None


def test_not_found_releases_the_lease_and_the_contact_stays_unknown(store: Store) -> None:
    first = lease("first")
    store.begin(contact(1), first)

    store.record_not_found(contact(1), NOW, first)

    assert store.load(contact(1)) is None
    assert store.begin(contact(1), lease("second", NOW + timedelta(seconds=1))) is None
    assert store.stale(NOW + HOUR, 10) == []


def test_not_found_under_a_lease_taken_over_leaves_the_new_holders(store: Store) -> None:
    store.begin(contact(1), lease("overran"))
    store.begin(contact(1), lease("next", NOW + 2 * MINUTE))

    store.record_not_found(contact(1), NOW, lease("overran"))

    with pytest.raises(LeaseHeld) as held:
        store.begin(contact(1), lease("third", NOW + 2 * MINUTE + timedelta(seconds=1)))
    assert held.value.lease.holder == "next"


def test_a_lease_keeps_deferrals_the_sweeps_scan_and_the_quota_as_they_were(store: Store) -> None:
    # Given a synced contact, deferred; a first sync under way; and a quota observation
    quota = QuotaSnapshot(limit=1000, remaining=10, resets_at=RESET, observed_at=NOW)
    store.record_quota(quota)
    synced(store, contact(1), started=NOW - 2 * HOUR)
    store.defer(contact(1), RESET)
    synced(store, contact(2), started=NOW - 2 * HOUR)
    store.begin(contact(3), lease("first sync"))

    # When the contacts are leased and released without a save
    for number in (1, 2):
        store.begin(contact(number), lease(f"holder {number}"))
    store.release(contact(1), lease("holder 1"))

    # Then the deferral waits, the sweep sees the synced contacts only, the quota is intact
    assert store.due(RESET, 10) == [contact(1)]
    assert store.stale(NOW - HOUR, 10) == [contact(2)]
    assert store.load_quota() == quota
    assert store.load(contact(3)) is None


def test_forgetting_a_contact_drops_its_lease(store: Store) -> None:
    store.begin(contact(1), lease("first"))
    store.forget(contact(1))  # type: ignore[attr-defined]
    assert store.begin(contact(1), lease("second", NOW + timedelta(seconds=1))) is None
