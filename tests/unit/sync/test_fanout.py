"""FanOutPublisher: an event is delivered once every target has it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from activity_relay.core.model import ActivityEvent
from activity_relay.core.sync.fanout import FanOutPublisher
from activity_relay.core.sync.ports import PublishFailed
from relay_local.fakes.sync import RecordingPublisher
from tests.support.events import MakeEvent, event_maker


@pytest.fixture
def make_event() -> MakeEvent:
    """Events with distinct, ordered ids and dates."""
    return event_maker()


def delivering(fails_at: int | None = None) -> RecordingPublisher:
    """Delivers up to `fails_at` events of each call, then fails."""
    return RecordingPublisher(fail_after=fails_at)


def received(publisher: RecordingPublisher) -> list[list[str]]:
    return [ids(call) for call in publisher.calls]


def ids(events: Sequence[ActivityEvent]) -> list[str]:
    return [event.event_id for event in events]


def test_every_publisher_receives_every_event(make_event: MakeEvent) -> None:
    events = [make_event() for _ in range(4)]
    first, second = delivering(), delivering()

    FanOutPublisher([first, second]).publish(events)

    assert received(first) == received(second) == [ids(events)]


def test_a_failure_of_the_first_limits_what_the_second_is_given(make_event: MakeEvent) -> None:
    # Given a first publisher that delivers 3 of 5
    events = [make_event() for _ in range(5)]
    first, second = delivering(fails_at=3), delivering()

    # When fanned out
    with pytest.raises(PublishFailed) as failure:
        FanOutPublisher([first, second]).publish(events)

    # Then 3 count as delivered, and the second got only those: the rest is retried anyway
    assert failure.value.delivered == 3
    assert received(second) == [ids(events[:3])]
    assert isinstance(failure.value.__cause__, PublishFailed)


def test_delivered_is_the_least_any_publisher_delivered(make_event: MakeEvent) -> None:
    events = [make_event() for _ in range(5)]

    with pytest.raises(PublishFailed) as failure:
        FanOutPublisher([delivering(fails_at=4), delivering(fails_at=2)]).publish(events)

    assert failure.value.delivered == 2


def test_fan_out_needs_a_publisher() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FanOutPublisher([])
