"""Publisher: RecordingPublisher agrees with SnsPublisher (an SQS subscriber of the template's
topic) and EventBridgePublisher (an SQS target of a rule on the template's bus)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from activity_relay.core.contracts.event_document import event_document
from activity_relay.core.model import ActivityEvent
from activity_relay.core.sync.ports import PublishFailed
from tests.contract.conftest import PublisherUnderTest
from tests.support.events import event_maker


@pytest.fixture
def make_events() -> Callable[[int], list[ActivityEvent]]:
    """Events with distinct, ordered ids and dates, `count` at a time."""
    make_event = event_maker()

    def make(count: int) -> list[ActivityEvent]:
        return [make_event() for _ in range(count)]

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
