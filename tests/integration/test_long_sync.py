"""A history longer than a minute of the plan's limit, through the handler on moto with the
sandbox over real HTTP: each invocation publishes oldest-first slices, checkpoints them and
queues its own continuation on the contact queue; its own message is acknowledged."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import boto3

from activity_relay.core.contracts.contact_queue import continuation_body
from leadlex_sandbox import Plan, SandboxServer
from relay_local.template import LocalStack
from tests.support.lambdas import Subscribers, invoke, sqs_event


def delayed_continuations(stack: LocalStack) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.contact_queue_url,
        AttributeNames=["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessages"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"]) + int(
        attributes["ApproximateNumberOfMessages"]
    )


def dates(events: list[dict[str, Any]]) -> list[str]:
    return [event["occurred_at"] for event in events]


def test_a_history_beyond_the_per_minute_limit_continues_by_itself(
    relay: Subscribers, sandbox: SandboxServer, aws_stack: LocalStack
) -> None:
    # Given a new contact with 750 activities (8 pages) and a plan of 4 requests a minute
    sandbox.plan = Plan("slow", per_day=1_000, per_minute=4)
    # Frozen, so that no minute rolls over during the client's backoff; moved by hand below.
    sandbox.clock.set(sandbox.clock.now().replace(second=0), frozen=True)
    contact = sandbox.create_contact(activities=750)
    history = {a["id"] for a in sandbox.activities(contact)}

    # When its message is handled: page 1 for the total, then pages 8, 7, 6, then a 429
    assert invoke(sqs_event(contact)) == [], "acknowledged: no receive count spent"

    # Then the oldest 250 are out on both channels and a continuation waits (delivered a
    # minute later, when the window has reopened). Within a slice the calls run concurrently,
    # so arrival order there is the services'.
    oldest = sorted(sandbox.activities(contact), key=lambda a: a["created_date"])[:250]
    topic, bus = relay.from_topic(), [e["detail"] for e in relay.from_bus()]
    assert (
        {e["event_id"] for e in topic} == {e["event_id"] for e in bus} == {a["id"] for a in oldest}
    )
    assert delayed_continuations(aws_stack) == 1

    # When the continuations are delivered, a minute apart
    invocations = [topic]
    for _ in range(2):
        sandbox.clock.advance(timedelta(minutes=1))
        assert invoke(sqs_event(continuation_body(contact))) == []
        invocations.append(relay.from_topic())
        bus += [e["detail"] for e in relay.from_bus()]

    # Then every activity arrived once on each channel, each invocation's after the last's
    topic = [event for batch in invocations for event in batch]
    assert sorted(e["event_id"] for e in topic) == sorted(history)
    assert sorted(e["event_id"] for e in bus) == sorted(history)
    for earlier, later in pairwise(invocations):
        if earlier and later:
            assert max(dates(earlier)) <= min(dates(later))
    listing_requests = sandbox.listing_requests(contact)
    # 8 pages, page 1 once more (the read reached the top in a later invocation), and one
    # refused request in each of the two invocations that met the limit (a 429 without
    # Retry-After is not retried)
    assert listing_requests == 8 + 1 + 2 * 1

    # And a continuation that arrives once the sync is complete costs nothing
    assert invoke(sqs_event(continuation_body(contact))) == []
    assert sandbox.listing_requests(contact) == listing_requests
    assert relay.from_topic() == []
