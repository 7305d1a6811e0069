"""The sweep releases the reconciliations of contacts whose webhooks carried their activities:
after the contacts that wait for the quota or the pace, in the budget left, and every one still
waiting in the pace's last hour (core/quota/sweep.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from activity_relay.core.contracts.contact_queue import Purpose, QueuedContact
from activity_relay.core.model import WebhookClaim
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.quota.sweep import sweep
from activity_relay.core.webhooks_in.ports import ClaimRequest
from relay_local.fakes.state_table import MemoryStateTable
from tests.support.sweep import policy

DAY = datetime(2026, 3, 3, tzinfo=UTC)
RESET = DAY + timedelta(days=1)
NOON = DAY + timedelta(hours=12)


def contact(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


class Queue:
    def __init__(self) -> None:
        self.sent: list[QueuedContact] = []

    def send(self, messages: Sequence[QueuedContact]) -> list[QueuedContact]:
        self.sent.extend(messages)
        return []

    def contacts(self) -> list[str]:
        return [m.contact_id for m in self.sent]


def table_with(remaining: int) -> MemoryStateTable:
    table = MemoryStateTable(clock=lambda: NOON)
    table.record_quota(
        QuotaSnapshot(limit=1_000, remaining=remaining, resets_at=RESET, observed_at=DAY)
    )
    return table


def reconcile(table: MemoryStateTable, number: int, due: datetime) -> None:
    claim = WebhookClaim(number, 0, claimed_at=DAY)
    assert table.claim(
        ClaimRequest(contact(number), claim, version=None, replacing=None, reconcile_at=due)
    )


def test_reconciliations_go_after_the_waiting_contacts_in_the_budget_left() -> None:
    # Given a day well behind its pace (plenty to spend now), two contacts waiting for the
    # pace and three due reconciliations, and a sweep that may release four
    table = table_with(remaining=1_000)
    table.wait(contact(1), NOON - timedelta(minutes=5))
    table.wait(contact(2), NOON - timedelta(minutes=1))
    for number in (3, 4, 5):
        reconcile(table, number, NOON - timedelta(minutes=number))
    queue = Queue()

    result = sweep(table, queue, policy(per_minute=4), now=NOON)

    # Then the waiting go first, then the longest-due reconciliations
    assert queue.contacts() == [contact(1), contact(2), contact(5), contact(4)]
    assert (result.deferred_enqueued, result.reconciliations_enqueued) == (2, 2)
    assert {m.purpose for m in queue.sent} == {Purpose.RELEASE}
    assert table.reconciling[contact(3)] == NOON - timedelta(minutes=3), "still due"


def test_a_reconciliation_not_due_waits_until_the_pace_s_last_hour() -> None:
    # Given a reconciliation due tomorrow morning
    table = table_with(remaining=1_000)
    reconcile(table, 1, RESET + timedelta(hours=5))
    queue = Queue()
    # When the sweep runs at noon, nothing; in the day's last hour, it is released
    sweep(table, queue, policy(), now=NOON)
    assert queue.contacts() == []
    sweep(table, queue, policy(), now=RESET - timedelta(minutes=30))
    assert queue.contacts() == [contact(1)]


def test_without_pacing_a_reconciliation_is_released_when_due() -> None:
    table = table_with(remaining=1_000)
    reconcile(table, 1, NOON + timedelta(hours=1))
    queue = Queue()

    sweep(table, queue, policy(paced=False), now=RESET - timedelta(minutes=30))

    assert queue.contacts() == [contact(1)]
    assert queue.sent[0].purpose is Purpose.REQUEST


def test_a_released_reconciliation_is_postponed_like_a_deferral() -> None:
    table = table_with(remaining=1_000)
    reconcile(table, 1, NOON - timedelta(minutes=1))

    sweep(table, Queue(), policy(), now=NOON)

    assert table.reconciling[contact(1)] == NOON + timedelta(hours=2)
