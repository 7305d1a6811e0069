"""Batching by count and by bytes, and oversized activities, against moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from activity_relay.adapters.publishers.batching import MAX_BATCH_BYTES
from activity_relay.adapters.publishers.eventbridge import EventBridgePublisher
from activity_relay.adapters.publishers.sns import SnsPublisher
from activity_relay.core.contracts.event_document import event_document
from tests.support.aws import drain, record_calls, sns_entry_size, subscribe_queue
from tests.support.events import MakeEvent

pytestmark = pytest.mark.integration

SOURCE = "leadlex.activities"


def issued(calls: list[dict[str, Any]], published: list[Any]) -> list[dict[str, Any]]:
    """The calls in the order the publisher issued them. It sends up to five at once, so
    they reach the client (and the recording hook) in whatever order the threads run."""
    position = {event.event_id: index for index, event in enumerate(published)}

    def first(call: dict[str, Any]) -> int:
        entries = call.get("PublishBatchRequestEntries") or call["Entries"]
        document = entries[0].get("Message") or entries[0]["Detail"]
        return position[json.loads(document)["event_id"]]

    return sorted(calls, key=first)


@pytest.fixture
def topic(sns: Any, sqs: Any) -> tuple[str, str]:
    """A topic and the URL of a raw-delivery queue subscribed to it."""
    topic_arn = sns.create_topic(Name="activities")["TopicArn"]
    return topic_arn, subscribe_queue(sns, sqs, topic_arn, "raw", RawMessageDelivery="true")


def test_25_events_go_out_in_3_publish_batch_calls_in_order(
    sns: Any, sqs: Any, topic: tuple[str, str], make_event: MakeEvent
) -> None:
    topic_arn, queue_url = topic
    events = [make_event() for _ in range(25)]
    calls = record_calls(sns, "PublishBatch")

    SnsPublisher(sns, topic_arn).publish(events)
    calls = issued(calls, events)

    sent = [
        json.loads(e["Message"])["event_id"] for c in calls for e in c["PublishBatchRequestEntries"]
    ]
    assert [len(c["PublishBatchRequestEntries"]) for c in calls] == [10, 10, 5]
    assert sent == [event.event_id for event in events]
    assert sorted(json.loads(m["Body"])["event_id"] for m in drain(sqs, queue_url)) == sent


def test_25_events_go_out_in_3_put_events_calls(events: Any, make_event: MakeEvent) -> None:
    events.create_event_bus(Name="activities")
    published = [make_event() for _ in range(25)]
    calls = record_calls(events, "PutEvents")

    EventBridgePublisher(events, "activities", SOURCE).publish(published)
    calls = issued(calls, published)

    assert [len(c["Entries"]) for c in calls] == [10, 10, 5]
    assert [json.loads(e["Detail"])["event_id"] for c in calls for e in c["Entries"]] == [
        event.event_id for event in published
    ]


def test_a_batch_is_split_before_it_exceeds_256_kb(
    sns: Any, sqs: Any, topic: tuple[str, str], make_event: MakeEvent
) -> None:
    # Given five activities of about 100 KB each: two fit in a call, three do not
    topic_arn, queue_url = topic
    events = [make_event(description="x" * 100_000) for _ in range(5)]
    calls = record_calls(sns, "PublishBatch")

    SnsPublisher(sns, topic_arn).publish(events)
    calls = issued(calls, events)

    assert [len(c["PublishBatchRequestEntries"]) for c in calls] == [2, 2, 1]
    for call in calls:
        assert sum(map(sns_entry_size, call["PublishBatchRequestEntries"])) <= MAX_BATCH_BYTES
    bodies = [json.loads(m["Body"]) for m in drain(sqs, queue_url)]
    assert sorted(b["event_id"] for b in bodies) == [event.event_id for event in events]
    assert not any(body.get("truncated") for body in bodies)


def test_a_put_events_batch_is_split_by_the_documented_entry_size(
    events: Any, make_event: MakeEvent
) -> None:
    events.create_event_bus(Name="activities")
    published = [make_event(description="x" * 80_000) for _ in range(7)]
    calls = record_calls(events, "PutEvents")

    EventBridgePublisher(events, "activities", SOURCE).publish(published)
    calls = issued(calls, published)

    # Three entries of about 80 KB fit in 256 KB, four do not
    assert [len(c["Entries"]) for c in calls] == [3, 3, 1]
    for call in calls:
        size = sum(
            len(e["Source"]) + len(e["DetailType"]) + len(e["Detail"]) for e in call["Entries"]
        )
        assert size <= MAX_BATCH_BYTES


def test_an_oversized_activity_is_trimmed_marked_and_delivered_by_sns(
    sns: Any, sqs: Any, topic: tuple[str, str], make_event: MakeEvent
) -> None:
    # Given an activity whose description alone is 400 KB, between two ordinary ones
    topic_arn, queue_url = topic
    description = "Long call notes. " * 24_000
    events = [make_event(), make_event(description=description), make_event()]
    calls = record_calls(sns, "PublishBatch")

    # When they are published
    SnsPublisher(sns, topic_arn).publish(events)

    # Then all three arrive; the big one cut to the limit and saying so
    bodies = {
        json.loads(m["Body"])["event_id"]: json.loads(m["Body"]) for m in drain(sqs, queue_url)
    }
    assert set(bodies) == {event.event_id for event in events}
    big = bodies[events[1].event_id]
    assert big["truncated"] is True
    assert big["truncated_fields"] == ["activity.description"]
    assert description.startswith(big["activity"]["description"])
    assert len(big["activity"]["description"]) > 200_000
    assert {k: v for k, v in big["activity"].items() if k != "description"} == {
        k: v for k, v in event_document(events[1])["activity"].items() if k != "description"
    }
    entries = [e for c in calls for e in c["PublishBatchRequestEntries"]]
    assert all(sns_entry_size(entry) <= MAX_BATCH_BYTES for entry in entries)
    assert "truncated" not in bodies[events[0].event_id]


def test_an_oversized_activity_is_trimmed_marked_and_put_on_the_bus(
    events: Any, make_event: MakeEvent
) -> None:
    events.create_event_bus(Name="activities")
    event = make_event(description="é" * 300_000, metadata={"k": "v"})
    calls = record_calls(events, "PutEvents")

    EventBridgePublisher(events, "activities", SOURCE).publish([event])

    ((entry,),) = (c["Entries"] for c in calls)
    assert len(entry["Source"]) + len(entry["DetailType"]) + len(entry["Detail"].encode()) <= (
        MAX_BATCH_BYTES
    )
    detail = json.loads(entry["Detail"])
    assert detail["truncated_fields"] == ["activity.description"]
    assert detail["activity"]["metadata"] == {"k": "v"}
