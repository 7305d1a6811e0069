"""One Publisher over several: an event counts as delivered once every channel delivered it."""

from __future__ import annotations

from collections.abc import Sequence

from activity_relay.core.model import ActivityEvent
from activity_relay.core.sync.ports import Publisher, PublishFailed


class FanOutPublisher:
    """Publishes to every publisher; an event is delivered once all of them delivered it."""

    def __init__(self, publishers: Sequence[Publisher]) -> None:
        if not publishers:
            raise ValueError("FanOutPublisher needs at least one publisher")
        self._publishers = tuple(publishers)

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        delivered = len(events)
        failure: PublishFailed | None = None
        for publisher in self._publishers:
            # Later publishers get only what all earlier ones delivered: whatever lies beyond
            # is published again on the next try anyway, so sending it now only duplicates.
            try:
                publisher.publish(events[:delivered])
            except PublishFailed as error:
                delivered, failure = error.delivered, error
        if failure is not None:
            raise PublishFailed(str(failure), delivered=delivered) from failure
