"""The sync engine, case by case: initial sync modes, failures, and what each costs."""

from __future__ import annotations

import logging
import math
from datetime import timedelta

import pytest

from activity_relay.core.contracts.event_document import event_document
from activity_relay.core.model import InitialSync, MalformedResponse
from activity_relay.core.sync.engine import SyncEngine, SyncStatus
from activity_relay.core.sync.ports import ListingChanged, PublishFailed, StateConflict
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import EPOCH, FakeLeadLex, RecordingPublisher, at

CONTACT = "123e4567-e89b-12d3-a456-426614174000"
DAY = 86_400


@pytest.fixture
def api() -> FakeLeadLex:
    api = FakeLeadLex()
    api.contacts[CONTACT] = []
    return api


@pytest.fixture
def store() -> MemoryStateTable:
    return MemoryStateTable()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


def make_engine(
    api: FakeLeadLex,
    store: MemoryStateTable,
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
    def test_none_costs_one_request_whatever_the_history(self, api, store, publisher) -> None:
        # Given a contact with 10,000 activities, new to a relay told to skip history
        fill(api, 10_000, start=DAY)
        engine = make_engine(api, store, publisher, "none")

        # When its first sync runs, it reads the top page only and publishes nothing
        first = engine.sync(CONTACT, started_at=EPOCH)
        assert (first.requests, first.published, first.first_sync) == (1, 0, True)

        # Then what arrives on top afterwards costs what a known contact's news costs
        later = [api.add(CONTACT, 30 * DAY + i)["id"] for i in range(5)]
        second = engine.sync(CONTACT, started_at=EPOCH)
        assert (second.requests, publisher.ids) == (1, later)

    @pytest.mark.parametrize("since", [0, 1, 99, 100, 101, 250, 1_000])
    def test_a_date_costs_the_pages_it_publishes_plus_one(
        self, api, store, publisher, since: int
    ) -> None:
        # Given 10,000 activities, the newest `since` of them dated from the date on
        fill(api, 10_000 - since, start=0)
        recent = fill(api, since, start=400 * DAY)
        engine = make_engine(api, store, publisher, (EPOCH + timedelta(days=399)).isoformat())

        outcome = engine.sync(CONTACT, started_at=EPOCH)

        # Then exactly those are published, oldest first, in at most ceil(n/100) + 1 requests
        assert publisher.ids == recent
        assert outcome.requests == math.ceil((since + 1) / 100)
        assert outcome.requests <= math.ceil(since / 100) + 1
        assert engine.sync(CONTACT, started_at=EPOCH).requests == 1

    def test_news_dated_inside_what_was_read_is_named_exactly(self, api, store, publisher) -> None:
        # Given a first sync under a date that read the top 150 of 10,000 (dates DAY..)
        fill(api, 9_850, start=0, step=1)
        fill(api, 150, start=400 * DAY, step=60)
        engine = make_engine(api, store, publisher, (EPOCH + timedelta(days=399)).isoformat())
        engine.sync(CONTACT, started_at=EPOCH)
        publisher.delivered.clear()

        # When an activity is backdated into the part that was read, and one logged on top
        backdated = api.add(CONTACT, 400 * DAY + 30)["id"]
        on_top = api.add(CONTACT, 500 * DAY)["id"]
        outcome = engine.sync(CONTACT, started_at=EPOCH)

        # Then just those two are published; the unread history stays unread
        assert publisher.ids == [backdated, on_top]
        assert outcome.requests <= 4
        assert store.states[CONTACT].seen.unread > 9_000

    def test_an_activity_logged_into_the_unread_history_publishes_that_history_once(
        self, api, store, publisher
    ) -> None:
        # Given a contact of 1,000 whose first sync under `none` read its top page only
        history = fill(api, 1_000, start=DAY)
        engine = make_engine(api, store, publisher, "none")
        engine.sync(CONTACT, started_at=EPOCH)

        # When an activity is backdated below everything that first sync read
        backdated = api.add(CONTACT, 0)["id"]
        outcome = engine.sync(CONTACT, started_at=EPOCH)

        # Then it is published with the unread history it cannot be told from, once each,
        # oldest first: all but the top page (whose oldest date was counted as unread too)
        assert publisher.ids == [backdated, *history[:901]]
        assert outcome.published == 902
        # at a cost of one read of that history plus the search that found it
        assert outcome.requests <= 11 + 10

        # And from then on the history is named: the next backdated one goes out alone
        publisher.delivered.clear()
        again = api.add(CONTACT, 2 * 60)["id"]
        outcome = engine.sync(CONTACT, started_at=EPOCH)
        assert publisher.ids == [again]
        assert outcome.requests <= 10

    def test_a_date_search_cut_short_continues_where_it_stopped(
        self, api, store, publisher
    ) -> None:
        # Given 3,000 activities dated after INITIAL_SYNC's date, and invocations that may
        # each send 10 requests
        fill(api, 500, start=0)
        recent = fill(api, 3_000, start=400 * DAY)
        engine = make_engine(api, store, publisher, (EPOCH + timedelta(days=399)).isoformat())
        invocations, continuation = 0, False
        while True:
            invocations += 1
            start = api.requests
            outcome = engine.sync(
                CONTACT,
                started_at=EPOCH,
                continuation=continuation,
                out_of_time=lambda start=start: api.requests - start >= 10,
            )
            if outcome.status is SyncStatus.SYNCED:
                break
            assert outcome.status is SyncStatus.CONTINUED, "a cut never hands the message back"
            continuation = True

        # Then those are published once, oldest first, none of the older history, and the
        # pages of the first invocations' search are the only ones read twice
        assert publisher.ids == recent
        assert api.requests <= math.ceil(3_001 / 100) + 3 * 10 + invocations

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
        engine.sync(CONTACT, started_at=EPOCH, retried=True)  # the message back from the queue
        assert publisher.ids == recent

    def test_a_conflicting_save_is_reported_and_keeps_the_other_state(
        self, api, store, publisher
    ) -> None:
        fill(api, 3)
        engine = make_engine(api, store, publisher)
        engine.sync(CONTACT, started_at=EPOCH)
        winner = store.states[CONTACT]

        class RacingStore(MemoryStateTable):
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
    assert event_document(publisher.delivered[0]) == {
        "schema_version": "1.0",
        "event_id": raw["id"],
        "event_type": "activity.created",
        "contact_id": CONTACT,
        "activity_type": "call",
        "occurred_at": at(0),
        "activity": raw,
        "origin": "poll",
    }
