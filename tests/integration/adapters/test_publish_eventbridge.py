"""EventBridgePublisher against moto: what an SQS target of a rule on the bus receives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from activity_relay.adapters.publishers.eventbridge import EventBridgePublisher
from activity_relay.core.contracts.event_document import event_document
from tests.support.aws import create_queue, drain
from tests.support.events import CONTACT_ID, MakeEvent

pytestmark = pytest.mark.integration

SOURCE = "leadlex.activities"


def route_to_queue(events: Any, sqs: Any, bus: str, name: str, pattern: dict[str, Any]) -> str:
    queue_url, queue_arn = create_queue(sqs, name)
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def test_a_rule_on_source_and_detail_type_receives_the_documents(
    events: Any, sqs: Any, make_event: MakeEvent
) -> None:
    # Given a rule on the bus routing the relay's events to a queue
    events.create_event_bus(Name="activities")
    queue_url = route_to_queue(
        events, sqs, "activities", "all", {"source": [SOURCE], "detail-type": ["activity.created"]}
    )
    published = [make_event(), make_event(activity_type="call")]

    # When they are put on the bus
    EventBridgePublisher(events, "activities", SOURCE).publish(published)

    # Then the queue receives each as an event whose detail is the document
    received = {
        body["detail"]["event_id"]: body
        for body in (json.loads(m["Body"]) for m in drain(sqs, queue_url))
    }
    assert set(received) == {event.event_id for event in published}
    for event in published:
        body = received[event.event_id]
        assert body["source"] == SOURCE
        assert body["detail-type"] == "activity.created"
        assert body["detail"] == event_document(event)


def test_a_rule_on_the_detail_selects_by_activity_type_and_contact(
    events: Any, sqs: Any, make_event: MakeEvent
) -> None:
    events.create_event_bus(Name="activities")
    queue_url = route_to_queue(
        events,
        sqs,
        "activities",
        "calls",
        {"source": [SOURCE], "detail": {"activity_type": ["call"], "contact_id": [CONTACT_ID]}},
    )
    call = make_event(activity_type="call")

    EventBridgePublisher(events, "activities", SOURCE).publish([make_event(), call])

    assert [json.loads(m["Body"])["detail"]["event_id"] for m in drain(sqs, queue_url)] == [
        call.event_id
    ]


def test_events_of_another_source_are_not_routed(
    events: Any, sqs: Any, make_event: MakeEvent
) -> None:
    # The Source is configuration (EVENT_SOURCE): a rule for the default does not see others.
    events.create_event_bus(Name="activities")
    queue_url = route_to_queue(events, sqs, "activities", "all", {"source": [SOURCE]})

    EventBridgePublisher(events, "activities", "staging.activities").publish([make_event()])

    assert drain(sqs, queue_url) == []
