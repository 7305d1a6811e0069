"""QuotaGuard: the reserve rule and the quota observation, as the LeadLex client and the sync
share them (core/quota/reserve.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activity_relay.core.model import QuotaExhausted
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.quota.reserve import QuotaGuard, next_utc_midnight
from tests.support.clock import Clock

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 3, tzinfo=UTC)
CONTACT = "123e4567-e89b-12d3-a456-426614174000"


def seen(remaining: int, *, at: datetime = NOON, resets_at: datetime = MIDNIGHT) -> QuotaSnapshot:
    return QuotaSnapshot(limit=100, remaining=remaining, resets_at=resets_at, observed_at=at)


def test_nothing_observed_admits_and_assumes_the_next_utc_midnight() -> None:
    guard = QuotaGuard(reserve=5, clock=Clock(NOON))

    guard.admit(CONTACT)

    assert guard.snapshot() is None
    assert guard.resets_at() == MIDNIGHT


@pytest.mark.parametrize(("remaining", "admitted"), [(6, True), (5, False), (0, False)])
def test_the_reserve_is_never_spent(remaining: int, admitted: bool) -> None:
    # Given a guard keeping 5 requests a day for other uses of the key
    guard = QuotaGuard(reserve=5, clock=Clock(NOON))
    guard.record(seen(remaining))

    # When a request is about to be sent: it goes only while more than the reserve is left
    if admitted:
        guard.admit(CONTACT)
        return
    with pytest.raises(QuotaExhausted, match="reserve 5") as refused:
        guard.admit(CONTACT)
    assert refused.value.resets_at == MIDNIGHT
    assert refused.value.requests == 0


def test_once_the_window_has_reset_the_old_observation_no_longer_holds_requests_back() -> None:
    clock = Clock(NOON)
    guard = QuotaGuard(clock=clock)
    guard.record(seen(0))

    clock.now = MIDNIGHT

    guard.admit(CONTACT)


def test_the_client_s_own_answers_replace_what_was_known_another_container_s_only_if_newer() -> (
    None
):
    guard = QuotaGuard(clock=Clock(NOON))
    guard.record(seen(50))

    # Another container saw the same moment, or an earlier one: nothing to learn
    guard.seed(seen(10))
    guard.seed(seen(5, at=NOON - timedelta(minutes=1)))
    assert guard.snapshot() == seen(50)
    # A later observation of theirs is news
    guard.seed(seen(40, at=NOON + timedelta(minutes=1)))
    assert guard.snapshot() == seen(40, at=NOON + timedelta(minutes=1))
    # The client's own answer always stands (its clock may be frozen in a simulation)
    guard.record(seen(39))
    assert guard.snapshot() == seen(39)


def test_the_next_utc_midnight_of_any_moment() -> None:
    assert next_utc_midnight(NOON) == MIDNIGHT
    assert next_utc_midnight(MIDNIGHT - timedelta(microseconds=1)) == MIDNIGHT
    assert next_utc_midnight(MIDNIGHT) == MIDNIGHT + timedelta(days=1)
