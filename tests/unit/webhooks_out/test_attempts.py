"""The retry schedule and what each attempt's outcome decides."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activity_relay.core.webhooks_out.attempts import (
    DEFAULT_SCHEDULE,
    Action,
    AttemptOutcome,
    RetrySchedule,
    decide,
    parse_retry_after,
)
from activity_relay.core.webhooks_out.ports import WebhookConfigError

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SCHEDULE = RetrySchedule.parse(DEFAULT_SCHEDULE)


def no_jitter(low: float, high: float) -> float:
    return 1.0


def test_the_default_schedule_is_the_contracts() -> None:
    assert SCHEDULE.delays == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert SCHEDULE.attempts == 8


@pytest.mark.parametrize("text", ["", "5", "5d", "5s,,5m", "13h", "-5s"])
def test_bad_schedules_are_refused(text: str) -> None:
    with pytest.raises(WebhookConfigError):
        RetrySchedule.parse(text)


@given(st.integers(1, 7), st.randoms(use_true_random=False))
def test_jitter_stays_within_ten_percent(attempt: int, rng: random.Random) -> None:
    step = SCHEDULE.delays[attempt - 1]
    delay = SCHEDULE.delay_after(attempt, None, rng.uniform)

    assert step * 0.9 - 1 <= delay <= step * 1.1 + 1


def test_retry_after_longer_than_the_step_is_honoured() -> None:
    assert SCHEDULE.delay_after(1, 120, no_jitter) == 120


def test_retry_after_shorter_than_the_step_does_not_hurry_the_retry() -> None:
    assert SCHEDULE.delay_after(3, 10, no_jitter) == 1800


def test_retry_after_is_capped_at_the_longest_step() -> None:
    assert SCHEDULE.delay_after(1, 7 * 86_400, no_jitter) == 36_000


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Sun, 01 Mar 2026 09:10:00 GMT", NOW) == 600
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def verdict(outcome: AttemptOutcome, attempt: int = 1, failing_since: datetime | None = None):  # type: ignore[no-untyped-def]
    return decide(
        outcome,
        attempt=attempt,
        schedule=SCHEDULE,
        failing_since=failing_since,
        now=NOW,
        uniform=no_jitter,
    )


@pytest.mark.parametrize("code", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(code: int) -> None:
    assert verdict(AttemptOutcome(code)).action is Action.DELIVERED


@pytest.mark.parametrize(
    "outcome",
    [
        AttemptOutcome(500),
        AttemptOutcome(429),
        AttemptOutcome(404),
        AttemptOutcome(302, error="redirect not followed"),
        AttemptOutcome(None, error="timeout after 15 s"),
        AttemptOutcome(None, error="connection failed: ConnectionError"),
    ],
)
def test_other_outcomes_retry_on_the_schedule(outcome: AttemptOutcome) -> None:
    assert verdict(outcome, attempt=2).action is Action.RETRY
    assert verdict(outcome, attempt=2).delay_seconds == 300


def test_after_the_last_attempt_the_delivery_is_dead_lettered_with_its_status() -> None:
    last = verdict(AttemptOutcome(503), attempt=8)

    assert last.action is Action.DEAD_LETTER
    assert last.reason == "503 after 8 attempt(s)"
    assert last.disable_reason is None


def test_410_disables_the_endpoint_at_once() -> None:
    gone = verdict(AttemptOutcome(410), attempt=1)

    assert gone.action is Action.DEAD_LETTER
    assert gone.disable_reason is not None
    assert "410" in gone.disable_reason


def test_five_days_failing_without_a_success_disables_the_endpoint() -> None:
    almost = verdict(AttemptOutcome(500), failing_since=NOW - timedelta(days=5, seconds=-1))
    five = verdict(AttemptOutcome(500), failing_since=NOW - timedelta(days=5))

    assert almost.action is Action.RETRY
    assert five.action is Action.DEAD_LETTER
    assert five.disable_reason is not None
    assert "5 days" in five.disable_reason


def test_a_refused_address_is_not_retried() -> None:
    blocked = AttemptOutcome(None, error="refused: 10.0.0.1 is not public", blocked=True)

    assert verdict(blocked).action is Action.DEAD_LETTER
