"""The sync engine, case by case: initial sync modes, failures, and what each costs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from activity_relay.core.engine import SyncEngine, SyncStatus
from activity_relay.core.model import InitialSync
from activity_relay.core.ports import (
    ListingChanged,
    MalformedResponse,
    PublishFailed,
    StateConflict,
)
from relay_local.memory import EPOCH, FakeLeadLex, MemoryStateStore, RecordingPublisher, at

CONTACT = "123e4567-e89b-12d3-a456-426614174000"
DAY = 86_400


@pytest.fixture
def api() -> FakeLeadLex:
    api = FakeLeadLex()
    api.contacts[CONTACT] = []
    return api


@pytest.fixture
def store() -> MemoryStateStore:
    return MemoryStateStore()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


def make_engine(
    api: FakeLeadLex,
    store: MemoryStateStore,
    publisher: RecordingPublisher,
    initial_sync: str = "all",
) -> SyncEngine:
    return SyncEngine(
        source=api, store=store, publisher=publisher, initial_sync=InitialSync.parse(initial_sync)
    )


def fill(api: FakeLeadLex, count: int, start: int = 0, step: int = 60) -> list[str]:
    return [api.add(CONTACT, start + i * step)["id"] for i in range(count)]


class TestRequestsSpent:
    def test_first_sync_of_250_reads_three_pages(self, api, store, publisher) -> None:
        fill(api, 250)
        outcome = make_engine(api, store, publisher).sync(CONTACT, started_at=EPOCH)
        assert (outcome.requests, outcome.published, outcome.first_sync) == (3, 250, True)

    def test_five_new_on_ten_thousand_cost_one_request(self, api, store, publisher) -> None:
        fill(api, 10_000)
        engine = make_engine(api, store, publisher)
        engine.sync(CONTACT, started_at=EPOCH)
        new = fill(api, 5, start=10_000 * 60)
        outcome = engine.sync(CONTACT, started_at=EPOCH)
        assert outcome.requests == 1
        assert publisher.ids[-5:] == new

    def test_nothing_new_costs_one_request(self, api, store, publisher) -> None:
        fill(api, 300)
        engine = make_engine(api, store, publisher)
        engine.sync(CONTACT, started_at=EPOCH)
        outcome = engine.sync(CONTACT, started_at=EPOCH)
        assert (outcome.requests, outcome.published) == (1, 0)

    def test_a_backdated_activity_is_found_by_binary_search(self, api, store, publisher) -> None:
        # Given 10,000 synced activities and one new one dated years back
        fill(api, 10_000, start=5 * 365 * DAY)
        engine = make_engine(api, store, publisher)
        engine.sync(CONTACT, started_at=EPOCH)
        backdated = api.add(CONTACT, 5 * 365 * DAY + 1234 * 60 + 30)["id"]

        outcome = engine.sync(CONTACT, started_at=EPOCH)

        # Then it is published, and it took far fewer than the 100 pages of a full read
        assert publisher.ids[-1] == backdated
        assert outcome.published == 1
        assert outcome.requests <= 12

    def test_activities_inserted_while_paging_are_neither_skipped_nor_doubled(
        self, api, store, publisher
    ) -> None:
        held = fill(api, 250, start=DAY)
        inserted: list[str] = []

        def insert_three_after_page_one(contact_id: str, page: int) -> None:
            if page == 2 and not inserted:
                inserted.extend(api.add(contact_id, 10 * DAY + i)["id"] for i in range(3))

        api.between_pages.append(insert_three_after_page_one)
        engine = make_engine(api, store, publisher)
        outcome = engine.sync(CONTACT, started_at=EPOCH)
        assert set(held) <= set(publisher.ids)
        assert len(publisher.ids) == len(set(publisher.ids))
        # Read from the end: pages 1 (the total), 3, 2 — moved, so 3 again for the three
        # pushed onto it — and 1 at the new total: two requests for the move.
        assert outcome.requests == 5
        assert sorted(publisher.ids) == sorted(held + inserted), "the newcomers on top too"

        # The next sync finds nothing left to publish
        assert engine.sync(CONTACT, started_at=EPOCH).published == 0


class TestInitialSync:
    def test_none_publishes_nothing_of_the_history_but_everything_after(
        self, api, store, publisher
    ) -> None:
        fill(api, 120, start=DAY)
        engine = make_engine(api, store, publisher, "none")
        outcome = engine.sync(CONTACT, started_at=EPOCH)
        assert outcome.published == 0

        later = [api.add(CONTACT, 30 * DAY)["id"], api.add(CONTACT, 0)["id"]]  # one backdated
        engine.sync(CONTACT, started_at=EPOCH)
        assert sorted(publisher.ids) == sorted(later)

    def test_a_date_publishes_what_is_dated_from_it_on(self, api, store, publisher) -> None:
        old = fill(api, 10, start=0)
        recent = fill(api, 10, start=20 * DAY)
        since = (EPOCH + timedelta(days=10)).isoformat()
        make_engine(api, store, publisher, since).sync(CONTACT, started_at=EPOCH)
        assert publisher.ids == recent
        assert not set(old) & set(publisher.ids)

    def test_applies_to_the_first_sync_only(self, api, store, publisher) -> None:
        engine = make_engine(api, store, publisher, "none")
        engine.sync(CONTACT, started_at=EPOCH)  # a contact with no activities yet
        first = api.add(CONTACT, DAY)["id"]
        engine.sync(CONTACT, started_at=EPOCH)
        assert publisher.ids == [first]

    @pytest.mark.parametrize("text", ["some", "2026-13-01", ""])
    def test_rejects_anything_else(self, text: str) -> None:
        with pytest.raises(ValueError, match="'all', 'none' or an ISO 8601 date"):
            InitialSync.parse(text)


class TestFailures:
    def test_an_unknown_contact_is_recorded_not_retried(self, store, publisher) -> None:
        api = FakeLeadLex()
        outcome = make_engine(api, store, publisher).sync(CONTACT, started_at=EPOCH)
        assert outcome.status is SyncStatus.NOT_FOUND
        assert store.not_found == {CONTACT: EPOCH}
        assert publisher.calls == []

    def test_a_partial_publish_checkpoints_what_was_delivered(self, api, store, publisher) -> None:
        ids = fill(api, 30)
        publisher.fail_after = 12
        engine = make_engine(api, store, publisher)
        with pytest.raises(PublishFailed):
            engine.sync(CONTACT, started_at=EPOCH)
        assert store.states[CONTACT].seen.total == 12
        assert store.states[CONTACT].last_sync_started_at is None

        # When the message comes back, only the rest is published
        publisher.fail_after = None
        engine.sync(CONTACT, started_at=EPOCH)
        assert publisher.ids == ids
        assert store.states[CONTACT].last_sync_started_at == EPOCH

    def test_a_failed_first_publish_still_remembers_what_initial_sync_excluded(
        self, api, store, publisher
    ) -> None:
        fill(api, 5, start=0)
        recent = fill(api, 5, start=20 * DAY)
        publisher.fail_after = 0
        engine = make_engine(api, store, publisher, (EPOCH + timedelta(days=10)).isoformat())
        with pytest.raises(PublishFailed):
            engine.sync(CONTACT, started_at=EPOCH)
        publisher.fail_after = None
        engine.sync(CONTACT, started_at=EPOCH)
        assert publisher.ids == recent

    def test_a_conflicting_save_is_reported_and_keeps_the_other_state(
        self, api, store, publisher
    ) -> None:
        fill(api, 3)
        engine = make_engine(api, store, publisher)
        engine.sync(CONTACT, started_at=EPOCH)
        winner = store.states[CONTACT]

        class RacingStore(MemoryStateStore):
            def begin(self, contact_id, lease, *, covered_after=None):  # type: ignore[no-untyped-def]
                state = super().begin(contact_id, lease, covered_after=covered_after)
                # A writer that holds no lease (say, one whose lease expired) commits meanwhile
                self.save(state)
                return state

        racing = RacingStore(states={CONTACT: winner})
        api.add(CONTACT, DAY)
        with pytest.raises(StateConflict):
            make_engine(api, racing, publisher).sync(CONTACT, started_at=EPOCH)
        assert racing.states[CONTACT].seen == winner.seen

    def test_a_list_that_shrinks_is_an_error_not_a_silent_skip(self, api, store, publisher) -> None:
        fill(api, 10)
        engine = make_engine(api, store, publisher)
        engine.sync(CONTACT, started_at=EPOCH)
        api.contacts[CONTACT].pop()
        with pytest.raises(MalformedResponse, match="shrank"):
            engine.sync(CONTACT, started_at=EPOCH)

    def test_a_list_that_keeps_moving_gives_the_message_back(self, api, store, publisher) -> None:
        fill(api, 500, start=DAY)
        engine = make_engine(api, store, publisher)
        engine.sync(CONTACT, started_at=EPOCH)
        api.add(CONTACT, 0)  # backdated: needs a search below the head

        def another_on_every_read(contact_id: str, page: int) -> None:
            api.add(contact_id, 2 * DAY + api.requests)

        api.between_pages.append(another_on_every_read)
        with pytest.raises(ListingChanged):
            engine.sync(CONTACT, started_at=EPOCH)

    def test_too_many_backdated_in_one_range_are_published_again_not_lost(
        self, api, store, publisher, caplog
    ) -> None:
        # Given 100 hourly activities (one bucket), and 20 new ones dated among the oldest
        fill(api, 100, start=DAY, step=3600)
        engine = make_engine(api, store, publisher)
        engine.sync(CONTACT, started_at=EPOCH)
        backdated = [api.add(CONTACT, DAY + 3600 * i + 1)["id"] for i in range(20)]

        with caplog.at_level(logging.WARNING):
            engine.sync(CONTACT, started_at=EPOCH)

        assert set(backdated) <= set(publisher.ids)
        assert "re-publishing" in caplog.text
        outcome = engine.sync(CONTACT, started_at=EPOCH)
        assert outcome.published == 0, "the state is whole again afterwards"


def test_events_carry_the_contract_document(api, store, publisher) -> None:
    raw = api.add(CONTACT, 0)
    raw["type"] = raw.pop("activity_type")
    make_engine(api, store, publisher).sync(CONTACT, started_at=EPOCH)
    assert publisher.delivered[0].document() == {
        "schema_version": "1.0",
        "event_id": raw["id"],
        "event_type": "activity.created",
        "contact_id": CONTACT,
        "activity_type": "call",
        "occurred_at": at(0),
        "activity": raw,
    }
