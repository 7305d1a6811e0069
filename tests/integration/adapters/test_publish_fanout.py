"""FanOutPublisher: an event is delivered once every target has it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from adapter_support import MakeEvent

from activity_relay.core.fanout import FanOutPublisher
from activity_relay.core.model import ActivityEvent
from activity_relay.core.ports import PublishFailed


class FakePublisher:
    """Delivers up to `fails_at` events of each call, then fails."""

    def __init__(self, fails_at: int | None = None) -> None:
        self.fails_at = fails_at
        self.received: list[list[str]] = []

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        self.received.append([event.event_id for event in events])
        if self.fails_at is not None and self.fails_at < len(events):
            raise PublishFailed("fake failure", delivered=self.fails_at)


def ids(events: Sequence[ActivityEvent]) -> list[str]:
    return [event.event_id for event in events]


def test_every_publisher_receives_every_event(make_event: MakeEvent) -> None:
    events = [make_event() for _ in range(4)]
    first, second = FakePublisher(), FakePublisher()

    FanOutPublisher([first, second]).publish(events)

    assert first.received == second.received == [ids(events)]


def test_a_failure_of_the_first_limits_what_the_second_is_given(make_event: MakeEvent) -> None:
    # Given a first publisher that delivers 3 of 5
    events = [make_event() for _ in range(5)]
    first, second = FakePublisher(fails_at=3), FakePublisher()

    # When fanned out
    with pytest.raises(PublishFailed) as failure:
        FanOutPublisher([first, second]).publish(events)

    # Then 3 count as delivered, and the second got only those: the rest is retried anyway
    assert failure.value.delivered == 3
    assert second.received == [ids(events[:3])]
    assert isinstance(failure.value.__cause__, PublishFailed)


def test_delivered_is_the_least_any_publisher_delivered(make_event: MakeEvent) -> None:
    events = [make_event() for _ in range(5)]

    with pytest.raises(PublishFailed) as failure:
        FanOutPublisher([FakePublisher(fails_at=4), FakePublisher(fails_at=2)]).publish(events)

    assert failure.value.delivered == 2


def test_fan_out_needs_a_publisher() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FanOutPublisher([])
