"""The pacing policy: the day's budget released along a line, never more than the quota left
less the reserve, no waiting contact starved, and no delay for a day below the line."""

from __future__ import annotations

import math
from collections import deque
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from activity_relay.core.quota.pacing import PacePolicy, admit, budget, releasable
from activity_relay.core.quota.ports import QuotaSnapshot

RESET = datetime(2026, 3, 4, tzinfo=UTC)
START = RESET - timedelta(days=1)
DAY_S = 86_400

policies = st.builds(
    PacePolicy,
    reserve=st.integers(0, 200),
    default_limit=st.integers(1, 10_000),
    head_share=st.floats(0, 0.5),
    end_share=st.floats(0, 0.5),
    tail=st.integers(0, 6 * 3600).map(lambda s: timedelta(seconds=s)),
)
limits = st.one_of(st.none(), st.integers(1, 10_000))


def observed(remaining: int, *, limit: int | None = 1_000, at: datetime = START) -> QuotaSnapshot:
    return QuotaSnapshot(limit=limit, remaining=remaining, resets_at=RESET, observed_at=at)


@given(
    policy=policies,
    limit=limits,
    remaining=st.integers(0, 10_000),
    seconds=st.integers(-DAY_S, 3 * DAY_S),
)
def test_never_plans_more_than_the_quota_left_less_the_reserve(
    policy: PacePolicy, limit: int | None, remaining: int, seconds: int
) -> None:
    now = START + timedelta(seconds=seconds)
    paced = budget(observed(remaining, limit=limit), now, policy)

    assert 0 <= paced.allowance <= max(0, paced.remaining - policy.reserve)
    if now < RESET:
        # Within the observed window, what LeadLex reported left is the ceiling.
        assert paced.remaining == remaining
        assert paced.resets_at == RESET
    else:
        # A later window: at most a whole day's quota, and a reset still ahead.
        assert paced.remaining == (limit if limit is not None else policy.default_limit)
        assert now < paced.resets_at <= now + policy.window
    assert admit(observed(remaining, limit=limit), now, policy, contacts=50) <= max(
        0, paced.allowance
    )
    assert releasable(observed(remaining, limit=limit), now, policy, per_minute=50) <= min(
        50, paced.allowance
    )


@given(
    policy=policies,
    limit=st.integers(1, 10_000),
    spent_share=st.floats(0, 1),
    seconds=st.integers(0, DAY_S - 1),
    contacts=st.integers(1, 50),
)
def test_a_day_below_the_line_syncs_on_arrival(
    policy: PacePolicy, limit: int, spent_share: float, seconds: int, contacts: int
) -> None:
    # Given a day whose spending so far stays below the line by at least the arrivals
    now = START + timedelta(seconds=seconds)
    day_budget = max(0, limit - policy.reserve)
    head = math.floor(day_budget * policy.head_share)
    span = DAY_S - policy.tail.total_seconds()
    end = math.floor(day_budget * policy.end_share)
    released = head + (day_budget - head - end) * min(1.0, seconds / span)
    if seconds >= span:
        released = day_budget
    spent = math.floor(max(0.0, released - contacts - 1) * spent_share)
    snapshot = observed(limit - spent, limit=limit)
    if spent + contacts + 1 > released:
        return  # not below the line: another property's business

    # Then every contact arriving now is synced at once
    assert admit(snapshot, now, policy, contacts=contacts) == contacts


@given(policy=policies, limit=st.integers(1, 10_000), remaining=st.integers(0, 10_000))
def test_whatever_is_left_is_released_by_the_tail(
    policy: PacePolicy, limit: int, remaining: int
) -> None:
    assume(policy.tail > timedelta(0))  # without a tail the line ends at the reset itself
    remaining = min(remaining, limit)
    snapshot = observed(remaining, limit=limit)
    late = budget(snapshot, RESET - policy.tail, policy)

    # The day's last stretch holds nothing back: contacts touched late go before the reset.
    assert late.allowance == max(0, remaining - policy.reserve)
    # And the next window opens with its head spendable at once (the catch-up).
    opened = budget(snapshot, RESET, policy)
    assert opened.allowance == math.floor(max(0, limit - policy.reserve) * policy.head_share)


@given(policy=policies, remaining=st.integers(0, 1_000), a=st.integers(0, DAY_S - 1))
def test_without_spending_the_allowance_only_grows(
    policy: PacePolicy, remaining: int, a: int
) -> None:
    snapshot = observed(remaining)
    earlier = budget(snapshot, START + timedelta(seconds=a), policy).allowance
    later = budget(snapshot, START + timedelta(seconds=min(DAY_S - 1, a + 60)), policy).allowance
    assert later >= earlier


@settings(max_examples=40, deadline=None)
@given(
    arrivals=st.lists(
        st.tuples(st.integers(0, 1439), st.integers(0, 300), st.integers(1, 3)),
        min_size=1,
        max_size=200,
    ),
    per_day=st.integers(100, 1_000),
    per_minute=st.integers(1, 50),
)
def test_every_waiting_contact_is_released_longest_waiting_first(
    arrivals: list[tuple[int, int, int]], per_day: int, per_minute: int
) -> None:
    """The relay and the sweep over simulated days: an arrival the allowance does not cover
    waits (a contact already waiting keeps its place), a sweep every minute releases the
    waiting in the order they started to wait, and each sync spends 1-3 units of one quota."""
    policy = PacePolicy(reserve=per_day // 10)
    by_minute: dict[int, list[tuple[str, int]]] = {}
    for minute, number, cost in arrivals:
        by_minute.setdefault(minute, []).append((f"c{number}", cost))
    costs = {f"c{number}": cost for _, number, cost in arrivals}
    waiting: deque[tuple[int, str]] = deque()
    released: list[tuple[int, str]] = []
    remaining, resets_at = per_day, RESET
    # Enough days for the whole demand at the pace, and one more.
    days = math.ceil(sum(cost for *_, cost in arrivals) / (per_day - policy.reserve)) + 1
    for minute in range((days + 1) * 1440):
        now = START + timedelta(minutes=minute)
        if now >= resets_at:
            remaining, resets_at = per_day, resets_at + timedelta(days=1)

        def spend(cost: int) -> None:
            nonlocal remaining
            # A sync needing more than the quota left stops at the reserve (the client's guard).
            remaining -= min(max(0, remaining - policy.reserve), cost)

        quota = QuotaSnapshot(per_day, remaining, resets_at, now)
        for _ in range(releasable(quota, now, policy, per_minute=per_minute)):
            if not waiting:
                break
            since, contact = waiting.popleft()
            released.append((since, contact))
            spend(costs[contact])
        for contact, cost in by_minute.get(minute, []):
            if any(c == contact for _, c in waiting):
                continue  # one sync will cover every message it gathered
            snapshot = QuotaSnapshot(per_day, remaining, resets_at, now)
            if admit(snapshot, now, policy, contacts=1):
                spend(cost)
            else:
                waiting.append((minute, contact))
        assert remaining >= policy.reserve
        if not waiting and minute >= 1440:
            break

    # Then nobody is left waiting, and the release order followed the waiting order
    assert not waiting
    assert [since for since, _ in released] == sorted(since for since, _ in released)


@given(policy=policies, remaining=st.integers(0, 1_000), seconds=st.integers(0, DAY_S - 1))
def test_until_the_tail_the_end_share_is_held_back(
    policy: PacePolicy, remaining: int, seconds: int
) -> None:
    now = START + timedelta(seconds=seconds)
    end = math.floor(max(0, 1_000 - policy.reserve) * policy.end_share)
    if now < RESET - policy.tail:
        assert budget(observed(remaining), now, policy).allowance <= max(
            0, remaining - policy.reserve - end
        )


def test_a_pro_day_budget_head_100_then_28_an_hour_and_250_for_the_last_hour() -> None:
    policy = PacePolicy()
    fresh = observed(1_000)

    assert budget(fresh, START, policy).allowance == 100
    assert budget(fresh, START + timedelta(hours=22, minutes=59), policy).allowance == 749
    assert budget(fresh, START + timedelta(hours=23), policy).allowance == 1_000
    assert budget(fresh, START + timedelta(hours=1), policy).per_hour == pytest.approx(650 / 23)
    # At noon with 700 spent, 300 left: the line allows 100 + 650 x 12/23 = 439 spent, so the
    # budget is ahead of the rate: nothing may start until the line reaches 700, at 21:16.
    assert budget(observed(300), START + timedelta(hours=12), policy).allowance == 0
    assert budget(observed(300), START + timedelta(hours=21, minutes=15), policy).allowance == 0
    assert budget(observed(300), START + timedelta(hours=21, minutes=16), policy).allowance == 1


def test_no_observation_yet_admits_everything() -> None:
    assert admit(None, START, PacePolicy(), contacts=7) == 7
    assert releasable(None, START, PacePolicy(reserve=95), per_minute=50) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reserve": -1}, "reserve"),
        ({"head_share": 1.5}, "head_share"),
        ({"head_share": 0.5, "end_share": 0.6}, "end_share"),
        ({"tail": timedelta(days=1)}, "tail"),
        ({"default_limit": 0}, "default_limit"),
    ],
)
def test_policies_that_cannot_work_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PacePolicy(**kwargs)  # type: ignore[arg-type]
