"""Properties of the sync engine against an in-memory model of the LeadLex list.

Invariants (CONTRACT.md, Guarantees): everything the API held when a sync began is published
by that sync or an earlier one; nothing is published twice in a run without failures; each
sync publishes oldest first; steady state costs the fewest possible requests.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from activity_relay.core.model import Activity, InitialSync, RateLimited
from activity_relay.core.sync.engine import SyncEngine, SyncStatus
from activity_relay.core.sync.ports import OutOfTime
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import EPOCH, FakeLeadLex, RecordingPublisher, at

CONTACT = "123e4567-e89b-12d3-a456-426614174000"
DAY = 86_400
tie_orders = st.sampled_from(["newest", "oldest", "id"])


def engine_for(
    api: FakeLeadLex, initial_sync: str = "all"
) -> tuple[SyncEngine, RecordingPublisher]:
    publisher = RecordingPublisher()
    engine = SyncEngine(
        source=api,
        store=MemoryStateTable(),
        publisher=publisher,
        initial_sync=InitialSync.parse(initial_sync),
    )
    return engine, publisher


def leadlex_with(history: list[int], tie_order: str) -> FakeLeadLex:
    """LeadLex holding CONTACT, with an activity at each of `history`'s seconds."""
    api = FakeLeadLex(tie_order=tie_order)
    api.contacts[CONTACT] = []
    for seconds in history:
        api.add(CONTACT, seconds)
    return api


def order_keys(events: list[Any]) -> list[tuple[int, str]]:
    return [event.activity.order_key for event in events]


def assert_each_call_oldest_first(publisher: RecordingPublisher) -> None:
    for call in publisher.calls:
        assert order_keys(call) == sorted(order_keys(call)), "a publish call not oldest first"


def log_arrivals(api: FakeLeadLex, spec: dict[str, Any], now: int) -> tuple[set[str], set[str]]:
    """One step's arrivals: on top (from `now` on), backdated, and twins dated like an existing
    activity. Returns the ids of those on top, and of the backdated ones and twins."""
    on_top = {api.add(CONTACT, now + offset)["id"] for offset in spec["on_top"]}
    below = {api.add(CONTACT, seconds)["id"] for seconds in spec["backdated"]}
    existing = [a["created_date"] for a in api.contacts[CONTACT]]
    for pick in spec["same_time"] if existing else []:
        twin = api.add(CONTACT, 0)
        twin["created_date"] = existing[pick % len(existing)]
        below.add(twin["id"])
    return on_top, below


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=st.lists(st.integers(0, 400 * DAY), max_size=650),
    new=st.lists(st.integers(1, 30 * DAY), max_size=350),
    tie_order=tie_orders,
)
def test_steady_state_costs_the_fewest_requests(
    history: list[int], new: list[int], tie_order: str
) -> None:
    # Given a contact whose history was synced in full
    api = leadlex_with(history, tie_order)
    engine, publisher = engine_for(api)
    first = engine.sync(CONTACT, started_at=EPOCH)
    assert first.requests == max(1, math.ceil(len(history) / 100))
    assert sorted(publisher.ids) == sorted(a["id"] for a in api.contacts[CONTACT])
    assert order_keys(publisher.delivered) == sorted(order_keys(publisher.delivered))

    # When k activities newer than all of it arrive (equal timestamps among them allowed)
    newest = max(history, default=0)
    added = [api.add(CONTACT, newest + offset) for offset in new]
    publisher.delivered.clear()
    second = engine.sync(CONTACT, started_at=EPOCH)

    # Then exactly those are published, oldest first, in ceil(k/100) requests (at least one)
    assert sorted(publisher.ids) == sorted(a["id"] for a in added)
    assert order_keys(publisher.delivered) == sorted(order_keys(publisher.delivered))
    assert second.requests == max(1, math.ceil(len(new) / 100))


# LeadLex accepts a created_date up to 24 h ahead or years back. Per step, at most a handful
# of backdated activities: the sketch names up to SKETCH_SIZE per bucket between two syncs
# (beyond that, see test_engine.py: the range is published again rather than lost).
step = st.fixed_dictionaries(
    {
        "on_top": st.lists(st.integers(0, DAY), max_size=120),
        "backdated": st.lists(st.integers(0, 300 * DAY), max_size=4),
        "same_time": st.lists(st.integers(0, 10_000), max_size=3),
        "while_paging": st.lists(
            st.tuples(st.integers(1, 4), st.booleans(), st.integers(0, 300 * DAY)), max_size=3
        ),
    }
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=st.lists(st.integers(0, 300 * DAY), max_size=450),
    steps=st.lists(step, min_size=1, max_size=5),
    tie_order=tie_orders,
)
def test_every_activity_is_published_once_whatever_the_history(
    history: list[int], steps: list[dict[str, Any]], tie_order: str
) -> None:
    api = leadlex_with(history, tie_order)
    clock = 300 * DAY
    engine, publisher = engine_for(api)
    published: set[str] = set()

    def sync_and_check() -> None:
        held_at_start = {a["id"] for a in api.contacts[CONTACT]}
        before = len(publisher.delivered)
        engine.sync(CONTACT, started_at=EPOCH)
        this_sync = publisher.delivered[before:]
        ids = [event.event_id for event in this_sync]
        assert len(ids) == len(set(ids)), "published twice within one sync"
        assert not published & set(ids), "published again in a later sync"
        assert order_keys(this_sync) == sorted(order_keys(this_sync)), "not oldest first"
        published.update(ids)
        assert held_at_start <= published, "an activity held at sync start was skipped"

    sync_and_check()
    for spec in steps:
        clock += DAY
        log_arrivals(api, spec, clock)
        pending = list(spec["while_paging"])

        def insert_while_paging(
            contact_id: str, page: int, pending: list[Any] = pending, now: int = clock
        ) -> None:
            for item in [p for p in pending if p[0] == page]:
                pending.remove(item)
                _, backdated, seconds = item
                api.add(contact_id, seconds if backdated else now + DAY)

        api.between_pages[:] = [insert_while_paging]
        sync_and_check()

    # A last sync with nothing arriving settles what arrived during the previous ones.
    api.between_pages.clear()
    sync_and_check()
    assert published == {a["id"] for a in api.contacts[CONTACT]}


# --- Syncs that continue over several invocations ---------------------------------------------


class _Cut(Exception):
    """The simulated invocation ended: its deadline, or the per-minute window."""


def run_until_synced(
    engine: SyncEngine,
    api: FakeLeadLex,
    budgets: Any,
    between_invocations: Any = lambda: None,
    max_invocations: int = 400,
) -> tuple[int, int]:
    """Invoke the engine as the queue would until the contact's sync completes: each
    invocation may send `next(budgets)` requests, then runs out of time (or, alternately, is
    rate limited). Returns (invocations, requests)."""
    requests_before = api.requests
    continuation = False
    for invocation in range(1, max_invocations + 1):
        budget, limited = next(budgets)
        start = api.requests
        cut_by_limit = LimitAfter(api, start + budget) if limited else None

        def out_of_time(start: int = start, budget: int = budget, limited: bool = limited) -> bool:
            return not limited and api.requests - start >= budget

        api.between_pages[:] = [cut_by_limit] if cut_by_limit else []
        try:
            outcome = engine.sync(
                CONTACT, started_at=EPOCH, continuation=continuation, out_of_time=out_of_time
            )
        except (OutOfTime, RateLimited):
            outcome = None  # nothing gained: the message itself comes back
        api.between_pages.clear()
        if outcome is not None and outcome.status is SyncStatus.SYNCED:
            return invocation, api.requests - requests_before
        continuation = outcome is not None and outcome.status is SyncStatus.CONTINUED
        between_invocations()
    raise AssertionError("the sync never completed")


class LimitAfter:
    """A page hook that answers 429 once `limit` requests have been sent in this invocation."""

    def __init__(self, api: FakeLeadLex, limit: int) -> None:
        self.api, self.limit = api, limit

    def __call__(self, contact_id: str, page: int) -> None:
        if self.api.requests >= self.limit:
            raise RateLimited("rate limited: 429 rate_limited")


budgets = st.lists(st.tuples(st.integers(2, 6), st.booleans()), min_size=1, max_size=8)


def cycle(items: list[Any]) -> Any:
    while True:
        yield from items


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=st.lists(st.integers(0, 400 * DAY), max_size=1_200),
    cuts=budgets,
    tie_order=tie_orders,
)
def test_a_first_sync_cut_anywhere_publishes_the_history_once_oldest_first(
    history: list[int], cuts: list[tuple[int, bool]], tie_order: str
) -> None:
    # Given a new contact, and invocations cut off after a few requests each
    api = leadlex_with(history, tie_order)
    engine, publisher = engine_for(api)

    # When its first sync runs, continuing invocation after invocation
    invocations, requests = run_until_synced(engine, api, cycle(cuts))

    # Then every activity went out once, oldest first across invocations (equal dates on
    # either side of a slice boundary keep the list's order, see docs/operate.md), and the requests
    # are the pages plus at most one per invocation
    assert sorted(publisher.ids) == sorted(a["id"] for a in api.contacts[CONTACT])
    assert len(publisher.ids) == len(set(publisher.ids))
    dates = [event.activity.created_micros for event in publisher.delivered]
    assert dates == sorted(dates)
    assert_each_call_oldest_first(publisher)
    assert requests <= max(1, math.ceil(len(history) / 100)) + invocations


between_step = st.fixed_dictionaries(
    {
        "on_top": st.lists(st.integers(0, DAY), max_size=150),
        "backdated": st.lists(st.integers(0, 300 * DAY), max_size=3),
        "same_time": st.lists(st.integers(0, 10_000), max_size=2),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=st.lists(st.integers(0, 300 * DAY), max_size=700),
    burst=st.lists(st.integers(0, DAY), max_size=400),
    cuts=budgets,
    steps=st.lists(between_step, max_size=6),
    tie_order=tie_orders,
)
def test_continued_syncs_with_arrivals_between_invocations_lose_nothing_and_double_nothing(
    history: list[int],
    burst: list[int],
    cuts: list[tuple[int, bool]],
    steps: list[dict[str, Any]],
    tie_order: str,
) -> None:
    api = leadlex_with(history, tie_order)
    clock = 300 * DAY
    engine, publisher = engine_for(api)
    pending = list(steps)
    backdated_ids: set[str] = set()

    def arrivals() -> None:
        # Between two invocations: new activities on top, backdated ones, equal dates
        nonlocal clock
        if not pending:
            return
        spec = pending.pop(0)
        clock += DAY
        backdated_ids.update(log_arrivals(api, spec, clock)[1])

    # A first sync, then (once it is done) a burst on top of the known contact
    held_at_start = {a["id"] for a in api.contacts[CONTACT]}
    run_until_synced(engine, api, cycle(cuts), arrivals)
    assert held_at_start <= set(publisher.ids)
    first = len(publisher.delivered)
    top = max((a["created_date"] for a in api.contacts[CONTACT]), default=at(0))
    newest = int((datetime.fromisoformat(top) - EPOCH).total_seconds())
    for offset in burst:
        api.add(CONTACT, newest + 1 + offset)
    held_at_start = {a["id"] for a in api.contacts[CONTACT]}
    run_until_synced(engine, api, cycle(cuts), arrivals)
    assert held_at_start <= set(publisher.ids)
    burst_dates = [
        e.activity.created_micros
        for e in publisher.delivered[first:]
        if e.event_id not in backdated_ids
    ]
    assert burst_dates == sorted(burst_dates), "a burst goes out oldest first"

    # A last sync with nothing arriving settles what arrived during the others
    pending.clear()
    engine.sync(CONTACT, started_at=EPOCH)
    assert sorted(publisher.ids) == sorted(a["id"] for a in api.contacts[CONTACT])
    assert len(publisher.ids) == len(set(publisher.ids)), "published twice"
    assert_each_call_oldest_first(publisher)


# --- First syncs that skip history (INITIAL_SYNC=none or a date) --------------------------------

initial_syncs = st.one_of(st.just("none"), st.integers(0, 300).map(lambda day: f"day {day}"))
# Histories long enough that a first sync which skips them leaves most of them unread.
long_histories = st.tuples(st.integers(0, 900), st.randoms(use_true_random=False)).map(
    lambda drawn: [drawn[1].randrange(300 * DAY) for _ in range(drawn[0])]
)


def initial_sync_text(choice: str) -> str:
    if choice == "none":
        return choice
    return at(int(choice.split()[1]) * DAY)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=long_histories,
    choice=initial_syncs,
    tie_order=tie_orders,
)
def test_a_first_sync_that_skips_history_costs_what_it_publishes(
    history: list[int], choice: str, tie_order: str
) -> None:
    # Given a new contact, and INITIAL_SYNC=none or a date
    api = leadlex_with(history, tie_order)
    initial = InitialSync.parse(initial_sync_text(choice))
    engine, publisher = engine_for(api, initial_sync_text(choice))

    outcome = engine.sync(CONTACT, started_at=EPOCH)

    # Then it publishes what INITIAL_SYNC keeps, oldest first, for ceil(n/100) + 1 requests
    kept = [a for a in api.contacts[CONTACT] if initial.publishes(Activity.from_api(a))]
    assert sorted(publisher.ids) == sorted(a["id"] for a in kept)
    dates = [event.activity.created_micros for event in publisher.delivered]
    assert dates == sorted(dates)  # equal dates across two slices keep the list's order
    assert_each_call_oldest_first(publisher)
    assert outcome.requests <= max(1, math.ceil(len(kept) / 100) + 1)
    if choice == "none":
        assert outcome.requests == 1


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=long_histories,
    choice=initial_syncs,
    cuts=budgets,
    later_cuts=st.lists(st.tuples(st.integers(12, 20), st.booleans()), min_size=1, max_size=4),
    steps=st.lists(between_step, min_size=1, max_size=6),
    tie_order=tie_orders,
)
def test_after_a_first_sync_that_skipped_history_nothing_new_is_lost_or_doubled(
    history: list[int],
    choice: str,
    cuts: list[tuple[int, bool]],
    later_cuts: list[tuple[int, bool]],
    steps: list[dict[str, Any]],
    tie_order: str,
) -> None:
    # Given a contact first synced under INITIAL_SYNC=none or a date, cut anywhere
    api = leadlex_with(history, tie_order)
    clock = 300 * DAY
    initial = InitialSync.parse(initial_sync_text(choice))
    engine, publisher = engine_for(api, initial_sync_text(choice))
    kept = {a["id"] for a in api.contacts[CONTACT] if initial.publishes(Activity.from_api(a))}
    excluded = {a["id"]: a["created_date"] for a in api.contacts[CONTACT] if a["id"] not in kept}
    run_until_synced(engine, api, cycle(cuts))
    assert set(publisher.ids) == kept

    # When activities arrive between syncs: on top, backdated anywhere, equal dates; each
    # sync cut after a dozen requests or so (a search for a backdated one must fit in one)
    arrived: set[str] = set()
    for spec in steps:
        clock += DAY
        arrived.update(*log_arrivals(api, spec, clock))
        run_until_synced(engine, api, cycle(later_cuts))

    # Then every one of them is published, nothing twice, each call oldest first; and the
    # excluded history goes out only when something was logged among its dates
    published = publisher.ids
    assert len(published) == len(set(published)), "published twice"
    assert arrived <= set(published), "an activity logged after the first sync was lost"
    assert_each_call_oldest_first(publisher)
    if set(published) & set(excluded):
        event("the unread history was read")
        newest_excluded = max(excluded.values())
        dates = {a["id"]: a["created_date"] for a in api.contacts[CONTACT]}
        assert any(dates[i] <= newest_excluded for i in arrived)
