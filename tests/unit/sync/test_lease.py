"""One sync of a contact at a time: the lease, what the sync that loses it does, and what every
sync reports it spent.

The second sync runs from inside the first one's page read (FakeLeadLex.between_pages), so the
two overlap deterministically, as two invocations that receive the same contact at once do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from activity_relay.core.contracts.contact_queue import Purpose, continuation_body
from activity_relay.core.model import (
    ContactNotFound,
    ContactState,
    InitialSync,
    TransientSourceError,
)
from activity_relay.core.sync.batch import BatchSync
from activity_relay.core.sync.engine import COALESCING_MARGIN, SyncEngine, SyncOutcome, SyncStatus
from activity_relay.core.sync.messages import ContactMessage, Disposition, MessageResult
from activity_relay.core.sync.ports import Lease, LeaseHeld, PublishFailed
from relay_local.fakes.contact_queue import MemoryContactQueue
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import EPOCH, FakeLeadLex, RecordingPublisher
from tests.support.clock import Clock
from tests.support.sync import batch_relay

CONTACT = "123e4567-e89b-12d3-a456-426614174000"
T0 = EPOCH + timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@dataclass
class Rig:
    api: FakeLeadLex
    store: MemoryStateTable
    publisher: RecordingPublisher
    engine: SyncEngine


@pytest.fixture
def rig() -> Rig:
    """A contact synced once (one activity), then 30 new activities logged."""
    api, store, publisher = FakeLeadLex(), MemoryStateTable(), RecordingPublisher()
    engine = SyncEngine(
        source=api, store=store, publisher=publisher, initial_sync=InitialSync.parse("all")
    )
    api.add(CONTACT, 0)
    engine.sync(CONTACT, started_at=EPOCH)
    for second in range(1, 31):
        api.add(CONTACT, second)
    publisher.delivered.clear()
    api.requests = 0
    return Rig(api, store, publisher, engine)


def during_first_page(rig: Rig, action: Any) -> list[Any]:
    """Run `action()` once, while the first sync reads its first page; return what it gave."""
    happened: list[Any] = []

    def hook(_: str, page: int) -> None:
        if not happened:
            try:
                happened.append(action())
            except Exception as error:
                happened.append(error)

    rig.api.between_pages.append(hook)
    return happened


# --- The engine -----------------------------------------------------------------------------


def test_a_second_sync_while_the_first_runs_publishes_nothing(rig: Rig) -> None:
    # Given a sync of the contact under way, and a second one for a request sent after it began
    second = during_first_page(
        rig,
        lambda: rig.engine.sync(
            CONTACT,
            started_at=T0 + timedelta(seconds=10),
            requested_at=T0 + timedelta(seconds=5),
            deadline=T0 + 2 * MINUTE,
        ),
    )

    # When the first sync runs
    first = rig.engine.sync(CONTACT, started_at=T0, deadline=T0 + MINUTE)

    # Then the second found the contact held, the first published the 30, each once
    (refusal,) = second
    assert isinstance(refusal, LeaseHeld)
    assert refusal.lease.taken_at == T0
    assert refusal.lease.expires_at == T0 + MINUTE + COALESCING_MARGIN
    assert first.published == 30
    assert len(rig.publisher.ids) == len(set(rig.publisher.ids)) == 30
    assert rig.api.requests == 1


def test_a_request_sent_before_the_holder_began_is_covered_by_it(rig: Rig) -> None:
    # Given a second sync for a request sent 5 s before the first sync began
    second = during_first_page(
        rig,
        lambda: rig.engine.sync(
            CONTACT, started_at=T0 + MINUTE, requested_at=T0 - timedelta(seconds=5)
        ),
    )

    rig.engine.sync(CONTACT, started_at=T0)

    # Then it is covered: no request, nothing published by it, acknowledged
    assert second == [SyncOutcome(CONTACT, SyncStatus.COVERED)]
    assert rig.api.requests == 1
    assert len(rig.publisher.ids) == 30


def test_a_request_sent_within_the_clock_margin_of_the_holders_start_is_not_covered(
    rig: Rig,
) -> None:
    second = during_first_page(
        rig,
        lambda: rig.engine.sync(
            CONTACT, started_at=T0 + MINUTE, requested_at=T0 - COALESCING_MARGIN / 2
        ),
    )
    rig.engine.sync(CONTACT, started_at=T0)
    assert [type(outcome) for outcome in second] == [LeaseHeld]


@pytest.mark.parametrize("ending", ["synced", "not_found", "source_error", "publish_failed"])
def test_every_ending_of_a_sync_releases_the_lease(rig: Rig, ending: str) -> None:
    # Given a sync that ends one way or another
    if ending == "not_found":
        other = "223e4567-e89b-12d3-a456-426614174000"
        assert rig.engine.sync(other, started_at=T0).status is SyncStatus.NOT_FOUND
        contact = other
    else:
        contact = CONTACT
        if ending == "source_error":

            def fail(_: str, __: int) -> None:
                raise TransientSourceError("503", requests=4)

            rig.api.between_pages.append(fail)
        if ending == "publish_failed":
            rig.publisher.fail_after = 10
        expected = {"synced": None, "source_error": TransientSourceError}
        expected["publish_failed"] = PublishFailed
        if expected[ending] is None:
            rig.engine.sync(contact, started_at=T0, deadline=T0 + MINUTE)
        else:
            with pytest.raises(expected[ending]):  # type: ignore[arg-type]
                rig.engine.sync(contact, started_at=T0, deadline=T0 + MINUTE)

    # Then nothing holds the contact: a sync a second later, long before the deadline, runs
    assert contact not in rig.store.leases
    rig.api.between_pages.clear()
    rig.publisher.fail_after = None
    later = rig.engine.sync(contact, started_at=T0 + timedelta(seconds=1))
    assert later.status in (SyncStatus.SYNCED, SyncStatus.NOT_FOUND)


def test_a_lease_left_by_a_killed_invocation_blocks_only_until_its_deadline(rig: Rig) -> None:
    # Given an invocation that took the lease at T0 with 60 s to live, and was killed
    killed = Lease(holder="killed", taken_at=T0, expires_at=T0 + MINUTE)
    rig.store.begin(CONTACT, killed)

    # When a sync starts before its deadline, it does not run
    with pytest.raises(LeaseHeld) as held:
        rig.engine.sync(CONTACT, started_at=T0 + 30 * timedelta(seconds=1))
    assert held.value.lease == killed
    assert rig.api.requests == 0

    # But one that starts after the deadline proceeds and publishes what the killed one did not
    after = rig.engine.sync(CONTACT, started_at=T0 + MINUTE + timedelta(milliseconds=1))
    assert after.published == 30
    assert CONTACT not in rig.store.leases
    assert rig.store.states[CONTACT].last_sync_started_at == T0 + MINUTE + timedelta(milliseconds=1)


def test_a_sync_whose_lease_was_taken_over_cannot_checkpoint(rig: Rig) -> None:
    # Given a sync that overran its lease (a clock far off), and another that took it over
    def take_over(_: str, __: int) -> None:
        rig.api.between_pages.clear()
        rig.store.begin(
            CONTACT, Lease(holder="other", taken_at=T0 + 2 * MINUTE, expires_at=T0 + 3 * MINUTE)
        )

    rig.api.between_pages.append(take_over)

    # Then its save is refused and the other's lease survives
    with pytest.raises(Exception, match="held by another sync"):
        rig.engine.sync(CONTACT, started_at=T0, deadline=T0 + MINUTE)
    assert rig.store.leases[CONTACT].holder == "other"


@dataclass
class CountingStore(MemoryStateTable):
    calls: list[str] = field(default_factory=list)

    def load(self, contact_id: str) -> ContactState | None:
        self.calls.append("load")
        return super().load(contact_id)

    def begin(
        self, contact_id: str, lease: Lease, *, covered_after: datetime | None = None
    ) -> ContactState | None:
        self.calls.append("begin")
        return super().begin(contact_id, lease, covered_after=covered_after)

    def save(self, state: ContactState, lease: Lease | None = None) -> ContactState:
        self.calls.append("save")
        return super().save(state, lease)

    def release(self, contact_id: str, lease: Lease) -> None:
        self.calls.append("release")
        super().release(contact_id, lease)


def test_a_steady_state_sync_costs_two_store_calls_lease_included(rig: Rig) -> None:
    store = CountingStore(states=dict(rig.store.states))
    engine = SyncEngine(
        source=rig.api, store=store, publisher=rig.publisher, initial_sync=InitialSync("all")
    )
    engine.sync(CONTACT, started_at=T0)
    assert store.calls == ["begin", "save"]

    # A request covered by the last sync costs one call and takes no lease
    store.calls.clear()
    covered = engine.sync(CONTACT, started_at=T0 + MINUTE, requested_at=T0 - MINUTE)
    assert covered.status is SyncStatus.COALESCED
    assert store.calls == ["begin"]
    assert CONTACT not in store.leases


# --- Requests counted, whatever the answer -------------------------------------------------


def test_a_404_counts_its_request(rig: Rig) -> None:
    outcome = rig.engine.sync("223e4567-e89b-12d3-a456-426614174000", started_at=T0)
    assert outcome.status is SyncStatus.NOT_FOUND
    assert outcome.requests == 1


# --- The relay: what becomes of the loser's message ----------------------------------------


def relay_for(rig: Rig, queue: MemoryContactQueue, clock: Clock[datetime]) -> BatchSync:
    return batch_relay(rig.engine, rig.store, clock, queue=queue)


def second_batch(rig: Rig, relay: BatchSync, sent_at: datetime) -> list[list[MessageResult]]:
    """The loser: a batch of one message for the contact, while the first batch's sync reads."""
    return during_first_page(
        rig, lambda: relay.process([ContactMessage("loser", CONTACT, sent_at)], lambda: 60_000)[0]
    )


def test_the_loser_sent_after_the_holder_began_is_enqueued_again_until_its_deadline(
    rig: Rig,
) -> None:
    # Given the holder's invocation with 42.5 s left, and a loser whose message came later
    queue, clock = MemoryContactQueue(), Clock(T0)
    relay = relay_for(rig, queue, clock)
    loser = second_batch(rig, relay, sent_at=T0 + timedelta(seconds=2))

    (holder,), _ = relay.process([ContactMessage("holder", CONTACT, T0)], lambda: 42_500)

    # Then the loser is acknowledged, the contact enqueued again for when the lease expires
    # (deadline + clock margin), and only the holder published
    ((result,),) = loser
    assert result.disposition is Disposition.REQUEUED
    assert result.disposition.acknowledged
    assert result.requests == 0
    assert (queue.sent, queue.delays) == ([CONTACT], [44])
    assert holder.disposition is Disposition.SYNCED
    assert holder.published == 30
    assert len(rig.publisher.ids) == len(set(rig.publisher.ids)) == 30


def test_the_loser_sent_before_the_holder_began_is_acknowledged_as_covered(rig: Rig) -> None:
    queue, clock = MemoryContactQueue(), Clock(T0)
    relay = relay_for(rig, queue, clock)
    loser = second_batch(rig, relay, sent_at=T0 - timedelta(seconds=3))

    relay.process([ContactMessage("holder", CONTACT, T0)], lambda: 60_000)

    ((result,),) = loser
    assert result.disposition is Disposition.COVERED
    assert result.disposition.acknowledged
    assert queue.sent == []


def test_a_continuation_that_finds_the_contact_held_goes_back_as_a_continuation(
    rig: Rig,
) -> None:
    # Given a continuation (whose SentTimestamp is old: continuations are never "covered")
    queue = MemoryContactQueue()
    relay = relay_for(rig, queue, Clock(T0))
    loser = during_first_page(
        rig,
        lambda: relay.process(
            [ContactMessage("loser", continuation_body(CONTACT), T0 - MINUTE)], lambda: 60_000
        )[0],
    )

    relay.process([ContactMessage("holder", CONTACT, T0)], lambda: 60_000)

    # Then it is queued again as a continuation, delayed past the holder's lease
    ((result,),) = loser
    assert result.disposition is Disposition.REQUEUED
    assert queue.continuations() == [(CONTACT, 61)]
    assert [m.purpose for m in queue.messages] == [Purpose.CONTINUATION]


@pytest.mark.parametrize(
    "queue",
    [MemoryContactQueue(refuse={CONTACT}), MemoryContactQueue(down=True)],
    ids=["queue refuses", "queue down"],
)
def test_a_loser_that_cannot_be_enqueued_again_hands_its_message_back(
    rig: Rig, queue: MemoryContactQueue
) -> None:
    relay = relay_for(rig, queue, Clock(T0))
    loser = second_batch(rig, relay, sent_at=T0 + timedelta(seconds=2))
    relay.process([ContactMessage("holder", CONTACT, T0)], lambda: 60_000)
    ((result,),) = loser
    assert result.disposition is Disposition.RETRY
    assert "another sync holds it" in (result.reason or "")


def test_a_sync_that_fails_midway_reports_every_request_it_sent(rig: Rig) -> None:
    # Given 150 more activities (two pages) and a second page that fails after 4 attempts
    for second in range(31, 181):
        rig.api.add(CONTACT, second)

    def fail_page_two(_: str, page: int) -> None:
        if page == 2:
            raise TransientSourceError("503 after retries", requests=4)

    rig.api.between_pages.append(fail_page_two)
    relay = relay_for(rig, MemoryContactQueue(), Clock(T0))

    (result,), _ = relay.process([ContactMessage("m", CONTACT, T0)], lambda: 60_000)

    # Then the message returns, and page 1 plus the four attempts at page 2 are reported
    assert result.disposition is Disposition.RETRY
    assert result.requests == 5


def test_a_404_in_a_batch_reports_its_request(rig: Rig) -> None:
    relay = relay_for(rig, MemoryContactQueue(), Clock(T0))
    missing = "223e4567-e89b-12d3-a456-426614174000"
    (result,), _ = relay.process([ContactMessage("m", missing, T0)], lambda: 60_000)
    assert result.disposition is Disposition.NOT_FOUND
    assert result.requests == 1


def test_a_contact_not_found_error_carries_its_requests() -> None:
    # The port's default: a source that raises has sent the request that failed
    assert ContactNotFound("gone").requests == 1
