"""SnsPublisher against moto: what SQS subscribers of the topic receive."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from activity_relay.adapters.publishers.sns import SnsPublisher, deduplication_id
from activity_relay.core.contracts.event_document import event_document, serialize
from tests.support.aws import drain, subscribe_queue
from tests.support.events import CONTACT_ID, MakeEvent

pytestmark = pytest.mark.integration


@pytest.fixture
def topic_arn(sns: Any) -> str:
    return sns.create_topic(Name="activities")["TopicArn"]


def attributes_of(activity_type: str) -> dict[str, str]:
    """The four attributes of an event of the maker's contact."""
    return {
        "event_type": "activity.created",
        "activity_type": activity_type,
        "entity_type": "contact",
        "contact_id": CONTACT_ID,
    }


def string_attributes(message: dict[str, Any]) -> dict[str, str]:
    return {
        name: value["StringValue"]
        for name, value in message.get("MessageAttributes", {}).items()
        if value["DataType"] == "String"
    }


def test_raw_delivery_carries_the_document_and_its_attributes(
    sns: Any, sqs: Any, topic_arn: str, make_event: MakeEvent
) -> None:
    # Given a queue subscribed with raw message delivery
    queue_url = subscribe_queue(sns, sqs, topic_arn, "raw", RawMessageDelivery="true")
    events = [make_event(activity_type="email"), make_event(activity_type="call")]

    # When both events are published
    SnsPublisher(sns, topic_arn).publish(events)

    # Then the queue holds exactly their documents, each with its four attributes
    received = {json.loads(m["Body"])["event_id"]: m for m in drain(sqs, queue_url)}
    assert set(received) == {event.event_id for event in events}
    for event in events:
        message = received[event.event_id]
        assert json.loads(message["Body"]) == event_document(event)
        assert message["Body"] == serialize(event_document(event))
        assert string_attributes(message) == attributes_of(event.activity.activity_type)


def test_envelope_delivery_carries_the_document_as_message(
    sns: Any, sqs: Any, topic_arn: str, make_event: MakeEvent
) -> None:
    queue_url = subscribe_queue(sns, sqs, topic_arn, "enveloped", RawMessageDelivery="false")
    event = make_event()

    SnsPublisher(sns, topic_arn).publish([event])

    (message,) = drain(sqs, queue_url)
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification"
    assert json.loads(envelope["Message"]) == event_document(event)
    attributes = {name: value["Value"] for name, value in envelope["MessageAttributes"].items()}
    assert attributes == attributes_of("email")


def test_missing_or_empty_attribute_values_are_left_out(
    sns: Any, sqs: Any, topic_arn: str, make_event: MakeEvent
) -> None:
    # SNS rejects an empty String attribute: such values must not cost the event.
    queue_url = subscribe_queue(sns, sqs, topic_arn, "raw", RawMessageDelivery="true")
    event = make_event(activity_type="", entity_type=None)

    SnsPublisher(sns, topic_arn).publish([event])

    (message,) = drain(sqs, queue_url)
    assert string_attributes(message) == {
        "event_type": "activity.created",
        "contact_id": CONTACT_ID,
    }


def test_a_filter_policy_on_activity_type_selects_those_activities(
    sns: Any, sqs: Any, topic_arn: str, make_event: MakeEvent
) -> None:
    # Given a subscriber that wants meetings only
    queue_url = subscribe_queue(
        sns,
        sqs,
        topic_arn,
        "meetings",
        RawMessageDelivery="true",
        FilterPolicyScope="MessageAttributes",
        FilterPolicy=json.dumps({"activity_type": ["meeting"]}),
    )
    meeting = make_event(activity_type="meeting")
    others = [make_event(activity_type="email"), make_event(activity_type=None)]

    # When meetings and other activities are published
    SnsPublisher(sns, topic_arn).publish([others[0], meeting, others[1]])

    # Then it receives the meeting alone
    assert [json.loads(m["Body"])["event_id"] for m in drain(sqs, queue_url)] == [meeting.event_id]


def test_a_fifo_topic_groups_by_contact_and_deduplicates_by_event_id(
    sns: Any, sqs: Any, stack_factory: Any, make_event: MakeEvent
) -> None:
    # Given the template's topic, created FIFO, with a FIFO queue subscribed
    topic_arn = stack_factory(fifo_topic=True).topic_arn
    assert topic_arn.endswith(".fifo")
    queue_url = subscribe_queue(sns, sqs, topic_arn, "activities.fifo", RawMessageDelivery="true")
    events = [make_event() for _ in range(12)]
    publisher = SnsPublisher(sns, topic_arn)

    # When the events are published, then published again (a retry after a crash)
    publisher.publish(events)
    publisher.publish(events)

    # Then the queue holds each once, in order, grouped by contact, deduplicated by event id
    messages = drain(sqs, queue_url)
    assert [json.loads(m["Body"])["event_id"] for m in messages] == [e.event_id for e in events]
    for message, event in zip(messages, events, strict=True):
        assert message["Attributes"]["MessageGroupId"] == CONTACT_ID
        assert message["Attributes"]["MessageDeduplicationId"] == event.event_id


def test_a_standard_topic_gets_no_fifo_parameters(
    sns: Any, sqs: Any, topic_arn: str, make_event: MakeEvent
) -> None:
    # moto, like SNS, rejects a MessageDeduplicationId on a standard topic
    queue_url = subscribe_queue(sns, sqs, topic_arn, "raw", RawMessageDelivery="true")

    SnsPublisher(sns, topic_arn).publish([make_event()])

    (message,) = drain(sqs, queue_url)
    assert "MessageGroupId" not in message["Attributes"]


@pytest.mark.parametrize(
    "event_id",
    ["a" * 129, "id with spaces", "ünïcode", "tab\there"],
    ids=["too-long", "space", "non-ascii", "control"],
)
def test_an_id_sns_would_refuse_is_deduplicated_by_its_sha256(event_id: str) -> None:
    assert deduplication_id(event_id) == hashlib.sha256(event_id.encode()).hexdigest()


@pytest.mark.parametrize("event_id", ["3f2a9c1e-0000-4000-8000-000000000001", "a" * 128, "!~{}[]"])
def test_an_id_sns_accepts_is_its_own_deduplication_id(event_id: str) -> None:
    assert deduplication_id(event_id) == event_id
