"""The webhook fast path's state operations and a sync's announcement: MemoryStateTable agrees
with DynamoDbStateStore, DynamoDbDeferrals and DynamoDbWebhookLedger on the template's table.

The table decides, one conditional write at a time, whether a webhook or a sync publishes an
activity (core/webhooks_in/fast_path.py, core/sync/claims.py): these cases hold both
implementations to the same decisions. Each runs on both (the `store` fixture).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from activity_relay.core.model import (
    Activity,
    ContactState,
    Fingerprint,
    WebhookClaim,
    id_hash,
)
from activity_relay.core.quota.ports import Deferrals
from activity_relay.core.sync.ports import Lease, StateConflict, StateStore
from activity_relay.core.webhooks_in.ports import ClaimRequest, WebhookLedger
from tests.contract.conftest import NOW, Clock

CONTACT = "123e4567-e89b-12d3-a456-426614174000"
WINDOW = timedelta(hours=6)
LEASE = Lease(holder="sync-1", taken_at=NOW, expires_at=NOW + timedelta(minutes=15))


class Table(StateStore, Deferrals, WebhookLedger):
    """What both implementations are (for the type checker's sake)."""


def activity(number: int) -> Activity:
    return Activity.from_api({"id": f"act_{number}", "created_date": "2026-03-02T11:00:00Z"})


def claim_of(number: int, *, at: object = NOW, published: bool = False) -> WebhookClaim:
    return WebhookClaim(
        id_hash(f"act_{number}"),
        activity(number).created_micros,
        claimed_at=at,
        published=published,  # type: ignore[arg-type]
    )


def take(store: Table, number: int, *, version: int | None = None) -> bool:
    return store.claim(
        ClaimRequest(
            CONTACT, claim_of(number), version=version, replacing=None, reconcile_at=NOW + WINDOW
        )
    )


def test_a_contact_nobody_touched_reads_as_empty(store: Table) -> None:
    entry = store.look(CONTACT)

    assert (entry.version, entry.seen, dict(entry.claims), entry.publishing) == (
        None,
        None,
        {},
        frozenset(),
    )


def test_a_claim_is_taken_once_and_schedules_the_reconciliation(store: Table) -> None:
    # When a receiver claims an activity of a contact no sync has saved yet
    assert take(store, 1)

    # Then it holds the claim, a second claim for it fails, another activity's succeeds
    assert dict(store.look(CONTACT).claims) == {claim_of(1).id_hash: claim_of(1)}
    assert not take(store, 1)
    assert take(store, 2)
    # And the contact's reconciliation is due a window later, once
    assert store.reconciliations(NOW + WINDOW - timedelta(seconds=1), 10) == []
    assert store.reconciliations(NOW + WINDOW, 10) == [CONTACT]
    # And it is a contact with no state yet: its first sync is a first sync
    assert store.load(CONTACT) is None


def test_a_claim_is_refused_once_a_sync_saved_since_it_was_read(store: Table) -> None:
    # Given a receiver that read the contact at version 1
    store.save(ContactState(CONTACT, Fingerprint()))
    version = store.look(CONTACT).version
    assert version == 1
    # When a sync saves meanwhile (it may have published the activity)
    store.save(ContactState(CONTACT, Fingerprint(), version=1))

    # Then the claim read at version 1 is refused, and one read anew succeeds
    assert not take(store, 1, version=1)
    assert take(store, 1, version=2)


def test_a_claim_is_refused_for_an_activity_a_sync_announced(store: Table) -> None:
    # Given a sync holding the contact's lease that announced the activity after a receiver
    # read the contact
    store.save(ContactState(CONTACT, Fingerprint()))
    read = store.look(CONTACT)
    store.begin(CONTACT, LEASE)
    store.announce(CONTACT, LEASE, [activity(1)])

    # Then the receiver's claim is refused, another activity's is not
    assert not take(store, 1, version=read.version)
    assert take(store, 2, version=read.version)
    assert store.look(CONTACT).publishing == {id_hash("act_1")}


def test_the_announcement_returns_the_claims_taken_before_it(store: Table) -> None:
    store.save(ContactState(CONTACT, Fingerprint()))
    assert take(store, 1, version=1)
    store.begin(CONTACT, LEASE)

    claims = store.announce(CONTACT, LEASE, [activity(1), activity(2)])

    assert claims == {claim_of(1).id_hash: claim_of(1)}
    assert store.webhook_claims(CONTACT) == claims


def test_an_announcement_without_the_lease_is_refused(store: Table) -> None:
    store.begin(CONTACT, LEASE)
    other = Lease(holder="sync-2", taken_at=NOW, expires_at=NOW + timedelta(minutes=15))

    with pytest.raises(StateConflict):
        store.announce(CONTACT, other, [activity(1)])

    assert store.look(CONTACT).publishing == frozenset()


def test_confirm_and_withdraw_act_only_on_the_claim_they_name(store: Table) -> None:
    assert take(store, 1)
    assert take(store, 2)
    stranger = claim_of(1, at=NOW + timedelta(seconds=1))

    store.confirm(CONTACT, stranger)  # another receiver's claim: no effect
    store.withdraw(CONTACT, stranger)
    store.confirm(CONTACT, claim_of(1))
    store.withdraw(CONTACT, claim_of(2))

    assert dict(store.look(CONTACT).claims) == {claim_of(1).id_hash: claim_of(1, published=True)}


def test_a_stale_claim_is_replaced_only_by_who_read_it(store: Table) -> None:
    assert take(store, 1)
    later = claim_of(1, at=NOW + timedelta(minutes=1))

    assert store.claim(
        ClaimRequest(CONTACT, later, version=None, replacing=claim_of(1), reconcile_at=NOW + WINDOW)
    )
    assert not store.claim(
        ClaimRequest(
            CONTACT,
            claim_of(1, at=NOW + timedelta(minutes=2)),
            version=None,
            replacing=claim_of(1),
            reconcile_at=NOW + WINDOW,
        )
    )
    assert dict(store.look(CONTACT).claims) == {later.id_hash: later}


def test_a_save_ends_the_announcement_and_removes_the_claims_it_settles(store: Table) -> None:
    # Given two claims, and a sync that announced one activity
    assert take(store, 1)
    assert take(store, 2)
    state = store.begin(CONTACT, LEASE)
    assert state is None
    store.announce(CONTACT, LEASE, [activity(3)])

    # When it saves, settling the first claim
    saved = store.save(
        ContactState(CONTACT, Fingerprint(), settled_claims=frozenset({claim_of(1).id_hash})),
        LEASE,
    )

    # Then the announcement is over and only the other claim is left
    entry = store.look(CONTACT)
    assert entry.publishing == frozenset()
    assert set(entry.claims) == {claim_of(2).id_hash}
    assert saved.settled_claims == frozenset()
    loaded = store.load(CONTACT)
    assert loaded is not None
    assert set(loaded.claims) == {claim_of(2).id_hash}


def test_a_reconciliation_gives_way_to_a_wait_and_ends_with_a_sync(
    store: Table, clock: Clock
) -> None:
    # Given a contact waiting for its reconciliation
    assert take(store, 1)
    # When a webhook without its activity makes it wait for the pace: it waits like the others
    store.wait(CONTACT, NOW)
    assert store.reconciliations(NOW + 2 * WINDOW, 10) == []
    assert store.due(NOW, 10) == [CONTACT]
    # And once a sync that began after both saves, nothing is left to wait for
    clock.now = NOW + timedelta(minutes=5)
    store.save(ContactState(CONTACT, Fingerprint(), last_sync_started_at=clock.now))
    assert store.due(NOW + 2 * WINDOW, 10) == []
    assert store.reconciliations(NOW + 2 * WINDOW, 10) == []


def test_reconciliations_come_due_in_order_and_are_postponed_like_deferrals(
    store: Table, clock: Clock
) -> None:
    for number, minutes in ((1, 30), (2, 10), (3, 20)):
        contact = f"00000000-0000-4000-8000-{number:012d}"
        assert store.claim(
            ClaimRequest(
                contact,
                claim_of(number),
                version=None,
                replacing=None,
                reconcile_at=NOW + timedelta(minutes=minutes),
            )
        )
    due = store.reconciliations(NOW + timedelta(hours=1), 2)
    assert due == [
        "00000000-0000-4000-8000-000000000002",
        "00000000-0000-4000-8000-000000000003",
    ]
    clock.now = NOW + timedelta(hours=1)
    store.postpone(due, NOW + timedelta(hours=3))
    assert store.reconciliations(NOW + timedelta(hours=2), 10) == [
        "00000000-0000-4000-8000-000000000001"
    ]
    assert store.stale(NOW + timedelta(days=1), 10) == []
