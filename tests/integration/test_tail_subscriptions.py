"""relay tail's temporary subscribers (relay_cli/subscriptions.py) under moto: a FIFO queue for a
FIFO topic, queue policies admitting only the stack's topic or rule, and what could not be
removed named and counted."""

from __future__ import annotations

import io
import json

from relay_cli.subscriptions import Channel, TemporarySubscribers
from relay_local.template import StackClients
from tests.support.aws import StackFactory, fail_calls


def temporary(
    clients: StackClients, *channels: Channel, err: io.StringIO | None = None
) -> TemporarySubscribers:
    return TemporarySubscribers(
        clients.sqs,
        lambda: clients.sns,
        lambda: clients.events,
        list(channels),
        err or io.StringIO(),
    )


def temporary_endpoints(clients: StackClients, topic_arn: str) -> list[str]:
    """The temporary queues subscribed to the topic."""
    subscriptions = clients.sns.list_subscriptions_by_topic(TopicArn=topic_arn)
    return [s["Endpoint"] for s in subscriptions["Subscriptions"] if "-tail-" in s["Endpoint"]]


def policy_source(clients: StackClients, queue_url: str) -> tuple[str, str]:
    """The one sender a queue's policy admits: (service, source ARN)."""
    attributes = clients.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])
    (statement,) = json.loads(attributes["Attributes"]["Policy"])["Statement"]
    return statement["Principal"]["Service"], statement["Condition"]["ArnEquals"]["aws:SourceArn"]


def test_a_fifo_topic_gets_a_fifo_queue_and_both_channels_deliver(
    stack_clients: StackClients, stack_factory: StackFactory
) -> None:
    # Given a stack whose topic is FIFO
    stack = stack_factory(fifo_topic=True)
    subscribers = temporary(
        stack_clients, Channel("topic", stack.topic_arn), Channel("bus", stack.bus_name)
    )

    with subscribers as queues:
        # Then the topic's queue is FIFO, each queue admits only its source
        assert queues["topic"].endswith(".fifo")
        assert policy_source(stack_clients, queues["topic"]) == (
            "sns.amazonaws.com",
            stack.topic_arn,
        )
        rule = queues["bus"].rsplit("/", 1)[-1]
        rule_arn = stack_clients.events.describe_rule(Name=rule, EventBusName=stack.bus_name)["Arn"]
        assert policy_source(stack_clients, queues["bus"]) == ("events.amazonaws.com", rule_arn)
        # And what is published on either channel arrives
        stack_clients.sns.publish(
            TopicArn=stack.topic_arn,
            Message='{"event_id": "act_1"}',
            MessageGroupId="contact",
            MessageDeduplicationId="act_1",
        )
        stack_clients.events.put_events(
            Entries=[
                {
                    "EventBusName": stack.bus_name,
                    "Source": "leadlex.activities",
                    "DetailType": "activity.created",
                    "Detail": '{"event_id": "act_2"}',
                }
            ]
        )
        for queue_url, wanted in ((queues["topic"], "act_1"), (queues["bus"], "act_2")):
            (message,) = stack_clients.sqs.receive_message(QueueUrl=queue_url)["Messages"]
            assert wanted in message["Body"]

    # And on exit nothing of it is left
    names = stack_clients.sqs.list_queues().get("QueueUrls", [])
    assert [url for url in names if "-tail-" in url] == []
    assert temporary_endpoints(stack_clients, stack.topic_arn) == []
    rules = stack_clients.events.list_rules(EventBusName=stack.bus_name)["Rules"]
    assert [r["Name"] for r in rules if "-tail-" in r["Name"]] == []
    assert subscribers.left_behind == 0


def test_what_could_not_be_removed_is_named_and_counted(
    stack_clients: StackClients, stack_factory: StackFactory
) -> None:
    # Given SQS refusing to delete queues
    stack = stack_factory()
    fail_calls(stack_clients.sqs, "DeleteQueue")
    err = io.StringIO()
    subscribers = temporary(stack_clients, Channel("topic", stack.topic_arn), err=err)

    with subscribers as queues:
        pass

    # Then the subscription is still removed, and the queue is named for removal by hand
    assert subscribers.left_behind == 1
    assert f"could not delete queue {queues['topic']}" in err.getvalue()
    assert "do it by hand" in err.getvalue()
    assert temporary_endpoints(stack_clients, stack.topic_arn) == []
