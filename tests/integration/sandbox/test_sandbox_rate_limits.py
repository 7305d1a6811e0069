"""Quotas per workspace: headers on every response, 429 rate_limited, daily reset at midnight."""

from datetime import UTC, datetime

import pytest
import requests

from leadlex_sandbox import PLANS, Plan, SandboxServer
from tests.support.sandbox_http import Api, error_code

NOON = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
MIDNIGHT_AFTER_NOON = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())


@pytest.fixture
def contact(sandbox: SandboxServer) -> str:
    sandbox.clock.set(NOON, frozen=True)
    return sandbox.create_contact(activities=1)


def quota(response: requests.Response) -> tuple[int, int, int]:
    headers = response.headers
    return (
        int(headers["X-RateLimit-Limit"]),
        int(headers["X-RateLimit-Remaining"]),
        int(headers["X-RateLimit-Reset"]),
    )


@pytest.mark.parametrize(
    ("plan", "per_day", "per_minute"),
    [("starter", 100, 10), ("pro", 1_000, 50), ("org", 10_000, 200)],
)
def test_plan_presets_match_the_docs(plan: str, per_day: int, per_minute: int) -> None:
    assert (PLANS[plan].per_day, PLANS[plan].per_minute) == (per_day, per_minute)


def test_every_response_reports_the_daily_window(
    sandbox: SandboxServer, api: Api, contact: str
) -> None:
    sandbox.plan = "pro"

    ok = [api.list(contact) for _ in range(3)]
    not_found = api.list("00000000-0000-4000-8000-000000000000")
    unauthorised = api.list(contact, key="wbk_live_nope")

    assert [quota(r) for r in ok] == [(1000, 999 - n, MIDNIGHT_AFTER_NOON) for n in range(3)]
    assert quota(not_found) == (1000, 996, MIDNIGHT_AFTER_NOON)
    assert quota(unauthorised) == (1000, 996, MIDNIGHT_AFTER_NOON)  # 401s are not counted


def test_the_per_minute_quota_rejects_and_reopens_next_minute(
    sandbox: SandboxServer, api: Api, contact: str
) -> None:
    """Given the starter plan (10/min), the 11th request in a minute is 429; rejected requests
    do not count, and the next minute admits requests again."""
    sandbox.plan = "starter"

    statuses = [api.list(contact).status_code for _ in range(12)]
    limited = api.list(contact)
    sandbox.clock.advance(60)
    reopened = api.list(contact)

    assert statuses == [200] * 10 + [429] * 2
    assert error_code(limited) == "rate_limited"
    assert quota(limited)[1] == 90  # the daily remainder: 429s consumed nothing
    assert "Retry-After" not in limited.headers  # off by default: the API documents none
    assert reopened.status_code == 200
    assert quota(reopened)[1] == 89


def test_the_daily_quota_resets_at_utc_midnight(sandbox: SandboxServer, api: Api) -> None:
    sandbox.clock.set(datetime(2026, 3, 1, 23, 59, 30, tzinfo=UTC), frozen=True)
    sandbox.plan = Plan("tiny", per_day=3, per_minute=100)
    contact = sandbox.create_contact(activities=1)

    today = [api.list(contact) for _ in range(4)]
    sandbox.clock.advance(31)
    tomorrow = api.list(contact)

    assert [r.status_code for r in today] == [200, 200, 200, 429]
    assert quota(today[-1]) == (3, 0, int(datetime(2026, 3, 2, tzinfo=UTC).timestamp()))
    assert tomorrow.status_code == 200
    assert quota(tomorrow) == (3, 2, int(datetime(2026, 3, 3, tzinfo=UTC).timestamp()))


def test_retry_after_is_sent_when_enabled(sandbox: SandboxServer, api: Api) -> None:
    """Per-minute: the seconds left in the minute; daily: the seconds left until midnight."""
    sandbox.clock.set(datetime(2026, 3, 1, 23, 58, 45, tzinfo=UTC), frozen=True)
    sandbox.retry_after = True
    sandbox.plan = Plan("tiny", per_day=2, per_minute=1)
    contact = sandbox.create_contact(activities=1)

    api.list(contact)
    per_minute = api.list(contact)
    sandbox.clock.advance(60)
    api.list(contact)
    daily = api.list(contact)

    assert per_minute.status_code == daily.status_code == 429
    assert per_minute.headers["Retry-After"] == "15"
    assert daily.headers["Retry-After"] == "15"  # 23:59:45 -> midnight
    assert quota(daily)[1] == 0


def test_forbidden_requests_consume_quota(sandbox: SandboxServer, api: Api, contact: str) -> None:
    sandbox.plan = Plan("tiny", per_day=5, per_minute=5)
    key = sandbox.create_key(scopes=[])

    assert api.list(contact, key=key).status_code == 403
    assert quota(api.list(contact))[1] == 3
