"""Publisher: RecordingPublisher agrees with SnsPublisher (an SQS subscriber of the template's
topic) and EventBridgePublisher (an SQS target of a rule on the template's bus)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from activity_relay.core.contracts.event_document import event_document
from activity_relay.core.model import Activity, ActivityEvent
from activity_relay.core.sync.ports import PublishFailed
from tests.contract.conftest import PublisherUnderTest

CONTACT_ID = "123e4567-e89b-12d3-a456-426614174000"


@pytest.fixture
def make_events() -> Callable[[int], list[ActivityEvent]]:
    numbers = itertools.count()

    def make(count: int) -> list[ActivityEvent]:
        events = []
        for number in itertools.islice(numbers, count):
            raw = {
                "id": f"act-{number:05d}",
                "created_date": f"2024-05-01T10:{number // 60:02d}:{number % 60:02d}Z",
                "activity_type": "email",
                "entity_type": "contact",
                "description": f"Activity {number}",
            }
            events.append(ActivityEvent(contact_id=CONTACT_ID, activity=Activity.from_api(raw)))
        return events

    return make


def by_id(document: dict[str, Any]) -> str:
    return str(document["event_id"])


def test_every_event_is_delivered_once_in_order_as_its_document(
    publisher: PublisherUnderTest, make_events: Callable[[int], list[ActivityEvent]]
) -> None:
    events = make_events(23)  # three batch calls

    publisher.publisher.publish(events[:3])
    publisher.publisher.publish(events[3:])

    # The batch calls of one publish() may run concurrently (standard topics and buses promise
    # no order to subscribers anyway): each event once, as its document.
    assert sorted(publisher.delivered(), key=by_id) == [event_document(event) for event in events]


def test_nothing_to_publish_delivers_nothing(publisher: PublisherUnderTest) -> None:
    publisher.publisher.publish([])

    assert publisher.delivered() == []


@pytest.mark.parametrize("position", [0, 10])
def test_a_failure_names_how_many_leading_events_were_delivered(
    publisher: PublisherUnderTest,
    make_events: Callable[[int], list[ActivityEvent]],
    position: int,
) -> None:
    # Given a service that refuses every event from `position` on (a batch boundary)
    events = make_events(15)
    publisher.fail_from(events, position)

    # When the events are published
    with pytest.raises(PublishFailed) as failure:
        publisher.publisher.publish(events)

    # Then the error counts the leading events delivered, and those are what arrived
    assert failure.value.delivered == position
    assert sorted(publisher.delivered(), key=by_id) == [
        event_document(event) for event in events[:position]
    ]
