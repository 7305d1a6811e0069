"""The sweep with pacing: it releases the waiting at the line's rate, longest-waiting first,
at most a minute of the per-minute limit, with release bodies, and claims what it released in
the shared quota observation (the PACING setting: tests/unit/runtime/test_pacing_settings.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from activity_relay.core.contracts.contact_queue import Purpose, QueuedContact, release_body
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.quota.sweep import sweep
from relay_local.fakes.state_table import MemoryStateTable
from tests.support.sweep import policy

DAY_START = datetime(2026, 3, 3, tzinfo=UTC)
RESET = DAY_START + timedelta(days=1)
NOON = DAY_START + timedelta(hours=12)
# At noon on a Pro day the line allows 439 spent: 561 left is exactly on it.
ON_THE_LINE = 561


def contact(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


@dataclass
class Queue:
    sent: list[str] = field(default_factory=list)
    purposes: set[Purpose] = field(default_factory=set)

    def send(self, messages: Sequence[QueuedContact]) -> list[QueuedContact]:
        assert {m.delay_seconds for m in messages} <= {0}, "a minute's worth goes out at once"
        self.sent.extend(m.contact_id for m in messages)
        self.purposes.update(m.purpose for m in messages)
        return []


def store_with_waiting(remaining: int, count: int) -> MemoryStateTable:
    store = MemoryStateTable()
    store.quota = QuotaSnapshot(1_000, remaining, RESET, NOON - timedelta(seconds=5))
    for n in range(count):
        # contact(0) has waited longest
        store.wait(contact(n), NOON - timedelta(minutes=count - n))
    return store


def test_the_waiting_go_out_longest_waiting_first_as_far_as_the_line_allows() -> None:
    store, queue = store_with_waiting(ON_THE_LINE + 3, 10), Queue()

    result = sweep(store, queue, policy(), now=NOON)

    assert queue.sent == [contact(0), contact(1), contact(2)]
    assert result.deferred_enqueued == 3
    # Claimed in the shared observation: the next run sees them spent
    assert store.quota is not None
    assert store.quota.remaining == ON_THE_LINE
    assert sweep(store, Queue(), policy(), now=NOON + timedelta(seconds=1)).deferred_enqueued == 0
    assert store.due(NOON, 100)[0] == contact(3)


def test_on_the_line_nobody_is_released_and_nothing_is_claimed() -> None:
    store, queue = store_with_waiting(ON_THE_LINE, 5), Queue()
    before = store.quota

    assert sweep(store, queue, policy(), now=NOON).deferred_enqueued == 0
    assert queue.sent == []
    assert store.quota == before


def test_a_run_releases_at_most_a_minute_of_the_per_minute_limit() -> None:
    # Right after the reset, the head of the new day (100) is spendable at once
    store, queue = store_with_waiting(1_000, 300), Queue()
    after_reset = RESET + timedelta(seconds=30)

    result = sweep(store, queue, policy(per_minute=50), now=after_reset)

    assert result.deferred_enqueued == 50
    assert queue.sent == [contact(n) for n in range(50)]
    assert store.quota is not None
    assert store.quota.resets_at == RESET + timedelta(days=1)
    assert store.quota.remaining == 950


def test_without_pacing_the_quota_left_goes_out_over_sqs_delays() -> None:
    store = store_with_waiting(ON_THE_LINE, 5)
    sent: list[str] = []

    class Delayed:
        def send(self, messages: Sequence[QueuedContact]) -> list[QueuedContact]:
            sent.extend(m.contact_id for m in messages)
            return []

    assert sweep(store, Delayed(), policy(paced=False), now=NOON).deferred_enqueued == 5
    assert sent == [contact(n) for n in range(5)]


def test_with_pacing_the_sweep_s_messages_are_releases() -> None:
    # Given contacts waiting for the paced budget, which the line allows now
    store = store_with_waiting(1_000, 3)
    queue = Queue()

    # When the sweep releases them
    sweep(store, queue, policy(), now=NOON)

    # Then each message says so: the sync spends no second unit of the budget on it
    assert queue.sent == [contact(n) for n in range(3)]
    assert queue.purposes == {Purpose.RELEASE}
    assert QueuedContact(contact(1), Purpose.RELEASE).body == release_body(contact(1))
