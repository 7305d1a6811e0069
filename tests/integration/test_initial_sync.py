"""INITIAL_SYNC=none through the handler on moto, with the sandbox over real HTTP: a first sync
reads one page; an activity later logged into the history it left unread makes that history go
out once, over several invocations that checkpoint in DynamoDB; from then on it is named."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activity_relay.core.contracts.contact_queue import continuation_body
from activity_relay.core.model import parse_timestamp
from leadlex_sandbox import Plan, SandboxServer
from tests.support.lambdas import Subscribers, invoke, sqs_event


@pytest.fixture
def relay(relay: Subscribers, monkeypatch: pytest.MonkeyPatch) -> Subscribers:
    monkeypatch.setenv("INITIAL_SYNC", "none")  # the template's InitialSync parameter
    return relay


def test_skipped_history_costs_one_request_and_goes_out_once_when_something_is_logged_in_it(
    relay: Subscribers, sandbox: SandboxServer
) -> None:
    # Given a new contact with 450 activities, and a plan of 4 requests a minute
    sandbox.plan = Plan("slow", per_day=1_000, per_minute=4)
    sandbox.clock.set(sandbox.clock.now().replace(second=0), frozen=True)
    contact = sandbox.create_contact(activities=450)

    # When its first message is handled, one request is spent and nothing published
    assert invoke(sqs_event(contact)) == []
    assert sandbox.listing_requests(contact) == 1
    assert relay.from_topic() == []

    # When an activity is backdated below the page that was read
    oldest = parse_timestamp(str(sandbox.activities(contact)[-1]["created_date"]))
    sandbox.clock.advance(timedelta(minutes=1))
    backdated = sandbox.add_activity(contact, created_date=oldest - timedelta(days=1))["id"]
    assert invoke(sqs_event(contact)) == [], "acknowledged, the rest continues by itself"
    published = [e["event_id"] for e in relay.from_topic()]
    for _ in range(3):
        sandbox.clock.advance(timedelta(minutes=1))
        assert invoke(sqs_event(continuation_body(contact))) == []
        published += [e["event_id"] for e in relay.from_topic()]

    # Then the history below the top page's newest 99 went out once, the new one with it
    listed = [a["id"] for a in sandbox.activities(contact)]
    assert sorted(published) == sorted(listed[99:])
    assert backdated in published
    # oldest first: it is in the first slice (within a slice, arrival order is the services')
    assert backdated in published[:100]

    # And a later backdated activity there is named exactly
    sandbox.clock.advance(timedelta(minutes=1))
    again = sandbox.add_activity(contact, created_date=oldest + timedelta(hours=1))["id"]
    assert invoke(sqs_event(contact)) == []
    assert [e["event_id"] for e in relay.from_topic()] == [again]
