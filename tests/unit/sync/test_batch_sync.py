"""A batch at a time: rejection, one sync per contact, coalescing, the quota, the time budget."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from activity_relay.core.contracts.contact_queue import continuation_body, release_body
from activity_relay.core.model import (
    ActivityPage,
    AuthenticationFailed,
    InitialSync,
    QuotaExhausted,
    RateLimited,
    TransientSourceError,
)
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.sync.batch import BatchSync
from activity_relay.core.sync.engine import SyncEngine
from activity_relay.core.sync.messages import ContactMessage, Disposition, MessageResult
from activity_relay.core.sync.packing import PackingPublisher
from relay_local.fakes.contact_queue import MemoryContactQueue
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import EPOCH, FakeLeadLex, RecordingPublisher, RejectionLog
from tests.support.clock import Clock
from tests.support.sync import batch_relay

CONTACTS = [f"{n}23e4567-e89b-12d3-a456-426614174000" for n in range(1, 10)]
RESET = EPOCH + timedelta(days=1)
PLENTY_OF_TIME = 60_000
START = EPOCH + timedelta(hours=1)


@dataclass
class Harness:
    api: FakeLeadLex
    store: MemoryStateTable
    publisher: RecordingPublisher
    rejections: RejectionLog
    relay: BatchSync
    clock: Clock[datetime]
    queue: MemoryContactQueue

    def run(
        self, *messages: ContactMessage, remaining_ms: int = PLENTY_OF_TIME
    ) -> dict[str, MessageResult]:
        results, _ = self.relay.process(messages, lambda: remaining_ms)
        assert sorted(r.message_id for r in results) == sorted(m.message_id for m in messages)
        return {r.message_id: r for r in results}


def harness(api: FakeLeadLex | None = None, concurrency: int = 4) -> Harness:
    api = api or FakeLeadLex()
    for contact in CONTACTS:
        api.contacts.setdefault(contact, [])
        api.add(contact, 0)
    store, publisher, rejections, clock = (
        MemoryStateTable(),
        RecordingPublisher(),
        RejectionLog(),
        Clock(START),
    )
    queue = MemoryContactQueue()
    engine = SyncEngine(
        source=api, store=store, publisher=publisher, initial_sync=InitialSync.parse("all")
    )
    relay = batch_relay(
        engine,
        store,
        clock,
        rejected=rejections,
        queue=queue,
        concurrency=concurrency,
        quota=lambda: QuotaSnapshot(1000, 990, RESET, clock()),
    )
    return Harness(api, store, publisher, rejections, relay, clock, queue)


def message(number: int, contact: str, sent_at: datetime | None = None) -> ContactMessage:
    return ContactMessage(f"m{number}", contact, sent_at)


def test_a_malformed_message_is_rejected_with_its_body_and_reason() -> None:
    h = harness()
    results = h.run(message(1, "hello"), message(2, CONTACTS[0]))
    assert results["m1"].disposition is Disposition.REJECTED
    assert h.rejections.rejected == [("m1", "hello", results["m1"].reason)]
    assert results["m2"].disposition is Disposition.SYNCED


def test_every_contact_is_synced_and_published() -> None:
    h = harness()
    results = h.run(*(message(n, c) for n, c in enumerate(CONTACTS)))
    assert {r.disposition for r in results.values()} == {Disposition.SYNCED}
    assert sorted(e.contact_id for e in h.publisher.delivered) == sorted(CONTACTS)
    assert h.store.quota is not None, "the quota observation is shared"


def test_the_same_contact_twice_in_a_batch_is_synced_once() -> None:
    h = harness()
    results = h.run(message(1, CONTACTS[0]), message(2, f'{{"contact_id": "{CONTACTS[0]}"}}'))
    assert {r.disposition for r in results.values()} == {Disposition.SYNCED}
    assert h.api.requests == 1
    assert sum(r.requests for r in results.values()) == 1


def test_a_message_older_than_the_last_sync_costs_no_request() -> None:
    h = harness()
    h.run(message(1, CONTACTS[0], sent_at=h.clock.now))
    first_sync_started = h.clock.now
    h.clock.now += timedelta(minutes=5)
    h.api.requests = 0

    # Given a message sent before that sync started, and one sent after it
    results = h.run(
        message(2, CONTACTS[0], sent_at=first_sync_started - timedelta(seconds=30)),
    )
    assert results["m2"].disposition is Disposition.COALESCED
    assert h.api.requests == 0

    results = h.run(message(3, CONTACTS[0], sent_at=first_sync_started + timedelta(minutes=1)))
    assert results["m3"].disposition is Disposition.SYNCED
    assert h.api.requests == 1


def test_an_unknown_contact_is_acknowledged() -> None:
    h = harness()
    unknown = "99999999-e89b-12d3-a456-426614174000"
    assert h.run(message(1, unknown))["m1"].disposition is Disposition.NOT_FOUND
    assert unknown in h.store.not_found


def test_a_transient_failure_fails_only_its_own_contact() -> None:
    class FlakyFirstContact(FakeLeadLex):
        def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
            if contact_id == CONTACTS[0]:
                raise TransientSourceError("503 after retries")
            return super().fetch_page(contact_id, page)

    h = harness(FlakyFirstContact())
    results = h.run(message(1, CONTACTS[0]), message(2, CONTACTS[1]))
    assert results["m1"].disposition is Disposition.RETRY
    assert results["m2"].disposition is Disposition.SYNCED
    # And why it failed is kept for `relay state`
    assert h.store.failures == {CONTACTS[0]: ("TransientSourceError: 503 after retries", h.clock())}


def test_a_failure_that_cannot_be_recorded_still_just_retries_its_contact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Flaky(FakeLeadLex):
        def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
            raise TransientSourceError("503 after retries")

    def unreachable(contact_id: str, reason: str, at: datetime) -> None:
        raise OSError("table unreachable")

    h = harness(Flaky())
    monkeypatch.setattr(h.store, "record_failure", unreachable)

    assert h.run(message(1, CONTACTS[0]))["m1"].disposition is Disposition.RETRY


class QuotaAfter(FakeLeadLex):
    """Serves `allowed` requests, then answers as LeadLex does once the day's quota is gone."""

    def __init__(self, allowed: int) -> None:
        super().__init__()
        self.allowed = allowed
        self.refused = 0

    def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
        if self.requests >= self.allowed:
            self.refused += 1
            raise QuotaExhausted("daily quota exhausted", resets_at=RESET)
        return super().fetch_page(contact_id, page)


def test_an_exhausted_quota_defers_contacts_and_acknowledges_their_messages() -> None:
    h = harness(QuotaAfter(allowed=3), concurrency=1)
    results = h.run(*(message(n, c) for n, c in enumerate(CONTACTS)))

    synced = [r.contact_id for r in results.values() if r.disposition is Disposition.SYNCED]
    deferred = [r.contact_id for r in results.values() if r.disposition is Disposition.DEFERRED]
    assert len(synced) == 3
    assert sorted(deferred) == sorted(set(CONTACTS) - set(synced))
    assert h.store.deferred == dict.fromkeys(deferred, RESET)
    assert all(r.disposition.acknowledged for r in results.values()), "nothing to the DLQ"
    assert h.api.refused == 1, "after the first refusal no further request is sent"


def test_a_persistent_per_minute_limit_returns_the_rest_of_the_batch() -> None:
    class Limited(FakeLeadLex):
        def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
            self.requests += 1
            raise RateLimited("rate limited: 429 rate_limited")

    h = harness(Limited(), concurrency=1)
    results = h.run(*(message(n, c) for n, c in enumerate(CONTACTS[:4])))
    assert {r.disposition for r in results.values()} == {Disposition.RETRY}
    assert h.api.requests == 1


def test_a_refused_key_is_one_error_line_and_spares_the_rest(caplog) -> None:
    class Refusing(FakeLeadLex):
        def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
            self.requests += 1
            raise AuthenticationFailed("401 invalid_key", request_id="req_1")

    h = harness(Refusing(), concurrency=1)
    with caplog.at_level(logging.ERROR):
        results, refused = h.relay.process(
            [message(n, c) for n, c in enumerate(CONTACTS[:3])], lambda: PLENTY_OF_TIME
        )
    assert refused
    assert {r.disposition for r in results} == {Disposition.RETRY}
    assert h.api.requests == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "refused the API key" in errors[0].getMessage()
    assert [reason for reason, _ in h.store.failures.values()] == [
        "LeadLex refused the API key: 401 invalid_key"
    ]


def test_no_contact_starts_when_time_is_short() -> None:
    h = harness()
    results = h.run(*(message(n, c) for n, c in enumerate(CONTACTS)), remaining_ms=1_000)
    assert {r.disposition for r in results.values()} == {Disposition.RETRY}
    assert h.api.requests == 0
    assert h.store.saves == 0


def test_a_sync_stops_at_a_checkpoint_when_time_runs_short_and_continues_by_itself() -> None:
    # Given a new contact with 450 activities and an invocation whose time runs out after
    # the first requests (page 1 for the total, then the last page)
    h = harness(concurrency=1)
    for seconds in range(450):
        h.api.add(CONTACTS[0], seconds)
    history = [a["id"] for a in sorted(h.api.contacts[CONTACTS[0]], key=lambda a: a["id"])]
    remaining = iter([60_000, 60_000, 60_000, 60_000, 1_000])

    results, _ = h.relay.process([message(1, CONTACTS[0])], lambda: next(remaining, 1_000))

    # Then the oldest slice went out and was checkpointed, the message is acknowledged and a
    # continuation of its own is queued (no receive count spent)
    assert results[0].disposition is Disposition.CONTINUED
    assert h.publisher.ids == history[:51]
    assert h.store.states[CONTACTS[0]].backfill is not None
    assert h.queue.continuations() == [(CONTACTS[0], 0)]

    # When the continuation arrives (and a webhook message with it, sent later)
    h.clock.now += timedelta(seconds=2)
    h.api.requests = 0
    done = h.run(
        ContactMessage("c1", continuation_body(CONTACTS[0])),
    )

    # Then the rest goes out oldest first, nothing twice, and nothing was read twice
    assert done["c1"].disposition is Disposition.SYNCED
    assert h.publisher.ids == history
    assert h.api.requests == 4, "pages 4, 3, 2, 1: the last page was not read again"
    assert h.store.states[CONTACTS[0]].backfill is None


def test_another_message_during_a_continuing_sync_is_covered_by_it() -> None:
    h = harness(concurrency=1)
    for seconds in range(450):
        h.api.add(CONTACTS[0], seconds)
    remaining = iter([60_000, 60_000, 60_000, 60_000, 1_000])
    h.relay.process([message(1, CONTACTS[0])], lambda: next(remaining, 1_000))
    h.api.requests = 0

    # A webhook's message while the continuation waits: no request, acknowledged
    results = h.run(message(2, CONTACTS[0], sent_at=h.clock.now + timedelta(minutes=1)))
    assert results["m2"].disposition is Disposition.COALESCED
    assert h.api.requests == 0

    # But a chain whose checkpoint is long silent (its message dead-lettered) is taken over
    h.clock.now += timedelta(hours=1)
    taken_over = h.run(message(3, CONTACTS[0]))
    assert taken_over["m3"].disposition is Disposition.SYNCED
    assert len(set(h.publisher.ids)) == len(h.publisher.ids) == len(h.api.contacts[CONTACTS[0]])


def test_coalescing_never_swallows_a_continuation() -> None:
    # Given a contact synced once, then a burst of 450 on top, cut after its first slice
    h = harness(concurrency=1)
    h.run(message(1, CONTACTS[0]))
    for seconds in range(450):
        h.api.add(CONTACTS[0], 100 + seconds)
    h.clock.now += timedelta(minutes=5)
    remaining = iter([60_000, 60_000, 60_000, 60_000, 1_000])
    results, _ = h.relay.process([message(2, CONTACTS[0])], lambda: next(remaining, 1_000))
    assert results[0].disposition is Disposition.CONTINUED

    # When its continuation carries a SentTimestamp older than the last sync's start
    stale_stamp = h.clock.now - timedelta(hours=1)
    done = h.run(ContactMessage("c1", continuation_body(CONTACTS[0]), stale_stamp))

    # Then it still continues and finishes the burst
    assert done["c1"].disposition is Disposition.SYNCED
    assert len(h.publisher.ids) == len(set(h.publisher.ids)) == len(h.api.contacts[CONTACTS[0]])


def test_a_continuation_that_cannot_be_queued_returns_the_message() -> None:
    h = harness(concurrency=1)
    for seconds in range(450):
        h.api.add(CONTACTS[0], seconds)
    h.queue.go_down()
    remaining = iter([60_000, 60_000, 60_000, 60_000, 1_000])
    results, _ = h.relay.process([message(1, CONTACTS[0])], lambda: next(remaining, 1_000))
    assert results[0].disposition is Disposition.RETRY
    assert h.store.states[CONTACTS[0]].backfill is not None, "the checkpoint holds"


def test_the_per_minute_limit_mid_history_continues_a_minute_later() -> None:
    class LimitedAfterTwo(FakeLeadLex):
        def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
            if self.requests >= 2:
                self.requests += 1
                raise RateLimited("rate limited: 429 rate_limited")
            return super().fetch_page(contact_id, page)

    h = harness(LimitedAfterTwo(), concurrency=1)
    for seconds in range(450):
        h.api.add(CONTACTS[0], seconds)
    h.api.requests = 0
    results = h.run(message(1, CONTACTS[0]), message(2, CONTACTS[1]))
    assert results["m1"].disposition is Disposition.CONTINUED
    assert h.queue.continuations() == [(CONTACTS[0], 60)]
    assert results["m2"].disposition is Disposition.RETRY, "the rest of the batch is spared"
    assert len(h.publisher.ids) == 51


def test_contacts_are_synced_concurrently() -> None:
    # Given LeadLex holding the first four page requests until all four have arrived (four
    # syncs in flight at once, whatever the load on the test machine), then for as long as
    # it takes a fifth to arrive, had the relay let one in, or a tenth of a second
    class Slow(FakeLeadLex):
        in_flight = 0
        peak = 0
        asked = 0
        lock = threading.Lock()
        four_arrived = threading.Barrier(4)
        fifth_arrived = threading.Event()

        def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
            with self.lock:
                Slow.in_flight += 1
                Slow.peak = max(Slow.peak, Slow.in_flight)
                Slow.asked += 1
                number = Slow.asked
            if number <= 4:
                self.four_arrived.wait(timeout=10)
                self.fifth_arrived.wait(timeout=0.1)
            else:
                self.fifth_arrived.set()
            with self.lock:
                Slow.in_flight -= 1
            return super().fetch_page(contact_id, page)

    # When a batch of nine contacts is synced four at a time
    h = harness(Slow(), concurrency=4)
    h.run(*(message(n, c) for n, c in enumerate(CONTACTS)))

    # Then four were in flight together, and never more
    assert Slow.peak == 4


def test_a_message_back_from_a_killed_invocation_resumes_a_chain_it_never_continued() -> None:
    # Given a first sync killed after its first checkpoint, before it queued a continuation
    h = harness(concurrency=1)
    for seconds in range(450):
        h.api.add(CONTACTS[0], seconds)

    class Killed(BaseException):
        pass

    saves = h.store.save

    def save_then_die(state):  # type: ignore[no-untyped-def]
        saves(state)
        raise Killed

    h.store.save = save_then_die  # type: ignore[method-assign]
    with pytest.raises(Killed):
        h.run(message(1, CONTACTS[0]))
    h.store.save = saves  # type: ignore[method-assign]
    assert h.store.states[CONTACTS[0]].backfill is not None
    assert h.queue.continuations() == []

    # When its message comes back (a second receive) within the chain's quarter of an hour
    back = h.run(ContactMessage("m1", CONTACTS[0], None, receive_count=2))

    # Then it resumes and completes the sync rather than waiting for a continuation
    assert back["m1"].disposition is Disposition.SYNCED
    assert sorted(set(h.publisher.ids)) == sorted(a["id"] for a in h.api.contacts[CONTACTS[0]])


def test_the_syncs_of_one_batch_share_their_publish_calls() -> None:
    # Given nine known contacts, each with one new activity, and LeadLex answering once all
    # nine syncs have asked (as at 100 ms of latency, whatever the load on the test machine)
    class Slow(FakeLeadLex):
        all_asked: threading.Barrier | None = None

        def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
            if self.all_asked is not None:
                self.all_asked.wait(timeout=10)
            return super().fetch_page(contact_id, page)

    api = Slow()
    inner = RecordingPublisher()
    packing = PackingPublisher(inner, window=5.0)
    store = MemoryStateTable()
    engine = SyncEngine(
        source=api, store=store, publisher=packing, initial_sync=InitialSync.parse("all")
    )
    relay = batch_relay(engine, store, Clock(START), concurrency=len(CONTACTS), packing=packing)
    for contact in CONTACTS:
        api.contacts[contact] = []
        api.add(contact, 0)
    relay.process([message(n, c) for n, c in enumerate(CONTACTS)], lambda: PLENTY_OF_TIME)
    inner.calls.clear()
    for contact in CONTACTS:
        api.add(contact, 60)
    api.all_asked = threading.Barrier(len(CONTACTS))

    # When one batch syncs them all
    results, _ = relay.process(
        [message(n, c) for n, c in enumerate(CONTACTS)], lambda: PLENTY_OF_TIME
    )

    # Then their nine events go out in one publish: one batch call per channel, not nine
    assert {r.disposition for r in results} == {Disposition.SYNCED}
    assert [len(call) for call in inner.calls] == [len(CONTACTS)]


def test_a_sync_stopped_by_the_daily_quota_resumes_at_the_sweep_s_release_however_soon() -> None:
    # Given a new contact of 450 activities whose first sync runs out of the day's quota after
    # its first slice (page 1 for the total, then the last page), a few minutes before the reset
    api = QuotaAfter(allowed=2)
    h = harness(api, concurrency=1)
    contact = CONTACTS[0]
    for seconds in range(450):
        api.add(contact, seconds)
    history = [a["id"] for a in sorted(api.contacts[contact], key=lambda a: a["id"])]
    first = h.run(message(1, contact))
    assert first["m1"].disposition is Disposition.DEFERRED
    assert h.publisher.ids == history[:51]
    assert h.queue.continuations() == [], "deferred, not continued"

    # When the quota is back and the sweep releases the contact within minutes of that
    # checkpoint (long before a live chain would be taken for broken)
    api.allowed = 1_000
    h.clock.now += timedelta(minutes=3)
    released = h.run(ContactMessage("r1", release_body(contact), h.clock.now))

    # Then the release resumes the sync from its checkpoint: all of it, nothing twice
    assert released["r1"].disposition is Disposition.SYNCED
    assert h.publisher.ids == history
    assert h.store.states[contact].backfill is None
