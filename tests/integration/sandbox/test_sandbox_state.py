"""Contacts, seeded and added activities, the clock, and the counters tests read."""

from datetime import UTC, datetime, timedelta

import pytest

from leadlex_sandbox import SandboxServer
from tests.support.sandbox_http import Api

TYPES = {"call", "email_sent", "meeting", "note", "ai_action"}


def test_seeded_contacts_are_reproducible_from_the_seed() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def world(seed: int) -> list[list[dict[str, object]]]:
        with SandboxServer(seed=seed) as sandbox:
            sandbox.clock.set(start, frozen=True)
            contacts = [sandbox.create_contact(activities=20) for _ in range(2)]
            return [sandbox.activities(contact) for contact in contacts]

    assert world(3) == world(3)
    assert world(3) != world(4)


def test_seeded_activities_look_real(sandbox: SandboxServer) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    sandbox.clock.set(now, frozen=True)
    contact = sandbox.create_contact(activities=200)

    activities = sandbox.activities(contact)

    assert {a["activity_type"] for a in activities} == TYPES
    assert {a["entity_type"] for a in activities} == {"contact", "deal"}
    assert any(a["metadata"] is None for a in activities)
    assert any(isinstance(a["metadata"], dict) for a in activities)
    assert all(a["description"] and a["user_id"] and a["user_name"] for a in activities)
    dates = [datetime.fromisoformat(a["created_date"]) for a in activities]
    assert all(now - timedelta(days=366) < d < now for d in dates)
    assert max(dates) - min(dates) > timedelta(days=100)  # spread, not bunched


def test_an_activity_added_without_a_date_is_dated_by_the_clock(sandbox: SandboxServer) -> None:
    sandbox.clock.set(datetime(2026, 3, 1, 9, 30, tzinfo=UTC), frozen=True)
    contact = sandbox.create_contact()

    activity = sandbox.add_activity(contact, activity_type="note", metadata=None, title="Custom")

    assert activity["created_date"] == "2026-03-01T09:30:00Z"
    assert activity["activity_type"] == "note"
    assert activity["metadata"] is None
    assert activity["title"] == "Custom"  # extra fields pass through, as custom ones might
    assert sandbox.activities(contact) == [activity]


def test_sub_second_dates_keep_their_precision(sandbox: SandboxServer) -> None:
    contact = sandbox.create_contact()

    activity = sandbox.add_activity(contact, created_date="2026-03-01T10:00:00.250000+02:00")

    assert activity["created_date"] == "2026-03-01T08:00:00.250000Z"


def test_adding_to_an_unknown_contact_fails(sandbox: SandboxServer) -> None:
    with pytest.raises(KeyError):
        sandbox.add_activity("00000000-0000-4000-8000-000000000000")


def test_a_contact_can_be_created_with_a_given_id(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact(contact_id="123E4567-E89B-12D3-A456-426614174000")

    assert contact == "123e4567-e89b-12d3-a456-426614174000"
    assert api.list(contact).status_code == 200
    with pytest.raises(ValueError, match="not a UUID"):
        sandbox.create_contact(contact_id="nope")


def test_a_clock_set_without_freezing_keeps_ticking(sandbox: SandboxServer) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    sandbox.clock.set(start)

    assert timedelta(0) <= sandbox.clock.now() - start < timedelta(seconds=5)
    sandbox.clock.reset()
    assert abs(sandbox.clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_counters_and_the_request_log_record_api_traffic(sandbox: SandboxServer, api: Api) -> None:
    one, other = sandbox.create_contact(), sandbox.create_contact()

    api.list(one, page=2, per_page=10)
    api.list(one)
    api.list(other, key="wbk_live_unknown")
    api.admin("GET", "/state")  # admin calls are not API traffic

    assert sandbox.total_requests == 3
    assert sandbox.listing_requests(one) == 2
    assert sandbox.listing_requests(other) == 1
    first = sandbox.request_log[0]
    assert (first.method, first.path, dict(first.query), first.status) == (
        "GET",
        f"/v1/contacts/{one}/activities",
        {"page": "2", "per_page": "10"},
        200,
    )
    assert [record.status for record in sandbox.request_log] == [200, 200, 401]

    sandbox.reset_stats()

    assert sandbox.total_requests == 0
    assert sandbox.request_log == []
    assert sandbox.listing_requests(one) == 0


def test_keep_alive_connections_are_reused_and_counted(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact()

    for _ in range(5):
        api.list(contact)

    assert sandbox.connections_opened == 1
