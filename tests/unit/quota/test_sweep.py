"""The sweep over in-memory ports: the budget the quota allows, deferred contacts before stale
ones, paced to the per-minute limit, deferrals postponed only for contacts that made it onto
the queue (its settings: tests/unit/runtime/test_sweep_settings.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activity_relay.core.model import ContactState
from activity_relay.core.model.fingerprint import Fingerprint
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.quota.sweep import RECHECK, SweepPolicy, quota_budget, sweep
from relay_local.fakes.contact_queue import MemoryContactQueue
from relay_local.fakes.state_table import MemoryStateTable

NOW = datetime(2026, 3, 2, 0, 15, tzinfo=UTC)
RESET = datetime(2026, 3, 2, tzinfo=UTC)
NEXT_RESET = RESET + timedelta(days=1)


def contact(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def settings(
    *,
    reserve: int = 0,
    default_quota: int = 100,
    stale_hours: int | None = None,
    per_minute: int = 10_000,
) -> SweepPolicy:
    return SweepPolicy(
        quota_reserve=reserve,
        default_daily_quota=default_quota,
        requests_per_minute=per_minute,
        stale_after=timedelta(hours=stale_hours) if stale_hours else None,
    )


def waiting(store: MemoryStateTable) -> set[str]:
    """Deferred contacts still due now: neither enqueued nor waiting for a later reset."""
    return set(store.due(NOW, 10_000))


def snapshot(remaining: int, *, resets: datetime, limit: int | None = 1000) -> QuotaSnapshot:
    return QuotaSnapshot(
        limit=limit, remaining=remaining, resets_at=resets, observed_at=resets - timedelta(hours=1)
    )


def synced(store: MemoryStateTable, contact_id: str, started: datetime) -> None:
    store.states[contact_id] = ContactState(
        contact_id, Fingerprint(), version=1, last_sync_started_at=started
    )


# --- The budget ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quota", "reserve", "expected"),
    [
        pytest.param(None, 0, 100, id="nothing-observed-yet: the default"),
        pytest.param(snapshot(0, resets=RESET), 0, 1000, id="window-reset: the whole limit"),
        pytest.param(snapshot(0, resets=RESET, limit=None), 0, 100, id="reset, limit unknown"),
        pytest.param(snapshot(37, resets=NEXT_RESET), 0, 37, id="window-open: what remains"),
        pytest.param(snapshot(37, resets=NEXT_RESET), 30, 7, id="reserve kept back"),
        pytest.param(snapshot(37, resets=NEXT_RESET), 50, 0, id="reserve above remaining: none"),
        pytest.param(snapshot(0, resets=RESET), 200, 800, id="reset, less the reserve"),
    ],
)
def test_the_budget_is_what_the_quota_left_can_serve(
    quota: QuotaSnapshot | None, reserve: int, expected: int
) -> None:
    assert quota_budget(quota, now=NOW, default_limit=100, reserve=reserve) == expected


def test_the_window_has_reset_at_the_reset_instant_itself() -> None:
    quota = snapshot(3, resets=NOW)
    assert quota_budget(quota, now=NOW - timedelta(microseconds=1), default_limit=1, reserve=0) == 3
    assert quota_budget(quota, now=NOW, default_limit=1, reserve=0) == 1000


# --- The sweep ----------------------------------------------------------------------------------


def test_due_contacts_are_enqueued_longest_waiting_first_and_postponed() -> None:
    store = MemoryStateTable(quota=snapshot(0, resets=RESET))
    store.defer(contact(1), RESET)
    store.defer(contact(2), RESET - timedelta(days=1))
    store.defer(contact(3), NEXT_RESET)  # not due yet
    queue = MemoryContactQueue()

    result = sweep(store, queue, settings(), now=NOW)

    assert queue.sent == [contact(2), contact(1)]
    assert waiting(store) == set()
    # Looked at again later, should their messages never lead to a successful sync
    assert store.deferred[contact(1)] == store.deferred[contact(2)] == NOW + RECHECK
    assert store.deferred[contact(3)] == NEXT_RESET
    assert (result.budget, result.deferred_enqueued, result.stale_enqueued) == (1000, 2, 0)
    assert result.failed == ()


def test_no_budget_no_enqueue() -> None:
    # The window is still open and spent: the deferrals wait for the reset
    store = MemoryStateTable(quota=snapshot(5, resets=NEXT_RESET))
    store.defer(contact(1), RESET)
    synced(store, contact(2), NOW - timedelta(days=3))
    queue = MemoryContactQueue()

    result = sweep(store, queue, settings(reserve=5, stale_hours=24), now=NOW)

    assert queue.sent == []
    assert waiting(store) == {contact(1)}
    assert result.budget == 0


def test_the_budget_caps_the_deferred_contacts() -> None:
    store = MemoryStateTable(quota=snapshot(3, resets=NEXT_RESET))
    for number in range(5):
        store.defer(contact(number), RESET - timedelta(minutes=number))
    queue = MemoryContactQueue()

    result = sweep(store, queue, settings(), now=NOW)

    assert queue.sent == [contact(4), contact(3), contact(2)]
    assert waiting(store) == {contact(0), contact(1)}
    assert result.deferred_enqueued == 3


def test_only_enqueued_contacts_are_postponed() -> None:
    store = MemoryStateTable(quota=snapshot(0, resets=RESET))
    store.defer(contact(1), RESET)
    store.defer(contact(2), RESET)
    queue = MemoryContactQueue(refuse={contact(2)})

    result = sweep(store, queue, settings(), now=NOW)

    assert queue.sent == [contact(1)]
    assert waiting(store) == {contact(2)}
    assert result.deferred_enqueued == 1
    assert result.failed == (contact(2),)


def test_stale_contacts_only_when_asked_for() -> None:
    store = MemoryStateTable(quota=snapshot(0, resets=RESET))
    synced(store, contact(1), NOW - timedelta(days=3))
    queue = MemoryContactQueue()

    result = sweep(store, queue, settings(), now=NOW)

    assert queue.sent == []
    assert result.stale_enqueued == 0


def test_stale_contacts_come_after_the_deferred_ones_within_what_is_left() -> None:
    store = MemoryStateTable(quota=snapshot(4, resets=NEXT_RESET))
    store.defer(contact(1), RESET)
    store.defer(contact(2), RESET)
    synced(store, contact(3), NOW - timedelta(hours=30))
    synced(store, contact(4), NOW - timedelta(hours=25))
    synced(store, contact(5), NOW - timedelta(hours=26))
    synced(store, contact(6), NOW - timedelta(hours=1))  # recent enough
    queue = MemoryContactQueue()

    result = sweep(store, queue, settings(stale_hours=24), now=NOW)

    assert queue.sent[:2] == [contact(1), contact(2)]
    assert len(queue.sent) == 4
    assert set(queue.sent[2:]) <= {contact(3), contact(4), contact(5)}
    assert (result.budget, result.deferred_enqueued, result.stale_enqueued) == (4, 2, 2)


def test_a_contact_both_due_and_stale_is_enqueued_once() -> None:
    store = MemoryStateTable(quota=snapshot(0, resets=RESET))
    synced(store, contact(1), NOW - timedelta(days=3))
    store.defer(contact(1), RESET)
    queue = MemoryContactQueue(refuse={contact(1)})

    result = sweep(store, queue, settings(stale_hours=24), now=NOW)

    assert result.failed == (contact(1),)
    assert result.stale_enqueued == 0


@given(
    remaining=st.integers(0, 60),
    limit=st.none() | st.integers(0, 60),
    reset_passed=st.booleans(),
    reserve=st.integers(0, 70),
    default_quota=st.integers(1, 60),
    deferred=st.integers(0, 40),
    stale=st.integers(0, 40),
    refused=st.sets(st.integers(0, 80), max_size=10),
    has_snapshot=st.booleans(),
)
def test_never_more_than_the_budget_and_deferred_first(
    remaining: int,
    limit: int | None,
    reset_passed: bool,
    reserve: int,
    default_quota: int,
    deferred: int,
    stale: int,
    refused: set[int],
    has_snapshot: bool,
) -> None:
    resets = RESET if reset_passed else NEXT_RESET
    quota = snapshot(remaining, resets=resets, limit=limit) if has_snapshot else None
    store = MemoryStateTable(quota=quota)
    for number in range(deferred):
        store.defer(contact(number), RESET - timedelta(minutes=number))
    for number in range(40, 40 + stale):
        synced(store, contact(number), NOW - timedelta(days=2))
    queue = MemoryContactQueue(refuse={contact(n) for n in refused})
    deferred_ids = {contact(n) for n in range(deferred)}

    result = sweep(
        store,
        queue,
        settings(reserve=reserve, default_quota=default_quota, stale_hours=24),
        now=NOW,
    )

    # The budget: what the quota allows, less the reserve, never negative
    if quota is None or (reset_passed and limit is None):
        available = default_quota
    elif reset_passed:
        assert limit is not None
        available = limit
    else:
        available = remaining
    assert result.budget == max(0, available - reserve)
    # Never more contacts than the budget, each once
    assert len(queue.sent) <= result.budget
    assert len(queue.sent) == len(set(queue.sent))
    assert result.deferred_enqueued + result.stale_enqueued == len(queue.sent)
    # A stale contact only once every due deferred contact had its chance
    if any(c not in deferred_ids for c in queue.sent):
        assert result.deferred_enqueued + len(
            [c for c in result.failed if c in deferred_ids]
        ) == min(deferred, result.budget)
    # Postponed exactly the deferred contacts that made it onto the queue
    assert waiting(store) == deferred_ids - set(queue.sent)
    assert set(store.deferred) == deferred_ids, "none forgotten"


def test_contacts_are_paced_to_the_per_minute_limit() -> None:
    # Given 25 due contacts and a plan allowing 10 requests a minute
    store = MemoryStateTable(quota=snapshot(0, resets=RESET))
    for number in range(25):
        store.defer(contact(number), RESET - timedelta(minutes=number))
    queue = MemoryContactQueue()

    sweep(store, queue, settings(per_minute=10), now=NOW)

    # Then they arrive ten a minute
    assert queue.delays == [0] * 10 + [60] * 10 + [120] * 5


def test_one_sweep_enqueues_no_more_than_the_longest_delay_can_pace() -> None:
    store = MemoryStateTable(quota=snapshot(0, resets=RESET))
    for number in range(100):
        store.defer(contact(number), RESET - timedelta(minutes=number))
    queue = MemoryContactQueue()

    result = sweep(store, queue, settings(per_minute=2), now=NOW)

    # 2 a minute over SQS's longest delay (15 minutes): 16 minutes' worth
    assert result.budget == 32
    assert len(queue.sent) == 32
    assert max(queue.delays) == 900
    assert len(waiting(store)) == 68, "the rest waits for the next sweep"
