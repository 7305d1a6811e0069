"""The batch calls of one publish() go out concurrently (bounded), with the same per-entry
failure accounting; a FIFO topic keeps one call at a time."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from activity_relay.adapters.publishers.batching import RetryPolicy
from activity_relay.adapters.publishers.eventbridge import EventBridgePublisher
from activity_relay.adapters.publishers.sns import SnsPublisher
from activity_relay.core.sync.ports import PublishFailed
from tests.support.events import MakeEvent

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:activities"
CALL_SECONDS = 0.05


class SlowClient:
    """SNS and EventBridge as far as the publishers use them: each call takes CALL_SECONDS;
    entries whose event id is in `refuse` fail every time."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse = refuse
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    def _call(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.calls += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(CALL_SECONDS)
        with self.lock:
            self.in_flight -= 1

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[Any]) -> Any:
        self._call()
        ok, failed = [], []
        for entry in PublishBatchRequestEntries:
            refused = any(f'"event_id":"{i}"' in entry["Message"] for i in self.refuse)
            (failed if refused else ok).append(entry["Id"])
        return {
            "Successful": [{"Id": i, "MessageId": "m"} for i in ok],
            "Failed": [{"Id": i, "Code": "InternalError", "SenderFault": False} for i in failed],
        }

    def put_events(self, Entries: list[Any]) -> Any:
        self._call()
        return {
            "Entries": [
                {"ErrorCode": "InternalFailure"}
                if any(f'"event_id":"{i}"' in entry["Detail"] for i in self.refuse)
                else {"EventId": "e"}
                for entry in Entries
            ]
        }


def no_pause(_: float) -> None:
    pass


def test_a_slice_of_100_goes_out_in_concurrent_calls(make_event: MakeEvent) -> None:
    # Given 100 events (10 batch calls of 20 ms… here 50 ms each) on both channels
    events = [make_event() for _ in range(100)]
    sns, bus = SlowClient(), SlowClient()
    publishers = [
        SnsPublisher(sns, TOPIC_ARN),  # type: ignore[arg-type]
        EventBridgePublisher(bus, "activities", "leadlex.activities"),  # type: ignore[arg-type]
    ]

    for publisher in publishers:
        started = time.monotonic()
        publisher.publish(events)
        elapsed = time.monotonic() - started
        # Then five calls are in flight at once: two rounds, not ten calls one after another
        assert elapsed < 6 * CALL_SECONDS
    assert (sns.calls, bus.calls) == (10, 10)
    assert sns.peak == bus.peak == 5


def test_a_fifo_topic_is_published_one_call_at_a_time(make_event: MakeEvent) -> None:
    client = SlowClient()
    SnsPublisher(client, TOPIC_ARN + ".fifo").publish([make_event() for _ in range(30)])  # type: ignore[arg-type]
    assert (client.calls, client.peak) == (3, 1)


def test_a_failure_in_a_concurrent_call_names_the_earliest_undelivered_event(
    make_event: MakeEvent,
) -> None:
    # Given 50 events of which the 23rd and the 41st are always refused
    events = [make_event() for _ in range(50)]
    client = SlowClient(refuse=frozenset({events[22].event_id, events[40].event_id}))
    publisher = SnsPublisher(client, TOPIC_ARN, retry=RetryPolicy(sleep=no_pause))  # type: ignore[arg-type]

    with pytest.raises(PublishFailed) as failure:
        publisher.publish(events)

    # Then the delivered prefix ends before the 23rd, and only refused entries were resent
    assert failure.value.delivered == 22
    assert client.calls == 5 + 2 * 2
