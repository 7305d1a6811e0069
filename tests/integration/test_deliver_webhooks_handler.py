"""The deliver_webhooks function on the template's stack (moto) with real HTTP receivers:
topic → event queue (raw) → fan-out → delivery queue → signed POSTs, retries, dead letters."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.runtime import registry
from relay_local.template import LocalStack
from relay_local.trigger import EventSourceMapping, SqsTrigger
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.lambdas import load_function
from tests.support.webhooks_out import make_endpoint

pytestmark = pytest.mark.integration

FUNCTION_ID = "DeliverWebhooksFunction"
CONTACT = "123e4567-e89b-12d3-a456-426614174000"


class Webhooks:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.sqs = boto3.client("sqs")
        self.store = DynamoDbEndpointStore(
            boto3.client("dynamodb"), stack.outputs["WebhookEndpointTableName"]
        )
        handler = load_function("deliver_webhooks").lambda_handler
        self.events = SqsTrigger(
            self.sqs, EventSourceMapping.from_stack(stack, FUNCTION_ID, "ActivityEvents"), handler
        )
        self.deliveries = SqsTrigger(
            self.sqs, EventSourceMapping.from_stack(stack, FUNCTION_ID, "Deliveries"), handler
        )

    def register(self, receiver: WebhookReceiver, **fields: Any) -> Endpoint:
        endpoint = make_endpoint(receiver.url, **fields)
        receiver.secret = endpoint.secrets[0].value
        self.store.add(endpoint)
        return endpoint

    def publish(self, event_id: str, activity_type: str) -> str:
        document = {
            "schema_version": "1.0",
            "event_id": event_id,
            "event_type": "activity.created",
            "contact_id": CONTACT,
            "activity_type": activity_type,
            "occurred_at": "2026-03-01T10:00:00Z",
            "activity": {"id": event_id, "activity_type": activity_type, "title": "Ünïcode"},
        }
        body = json.dumps(document, ensure_ascii=False)
        boto3.client("sns").publish(
            TopicArn=self.stack.topic_arn,
            Message=body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in {
                    "event_type": "activity.created",
                    "activity_type": activity_type,
                    "entity_type": "contact",
                    "contact_id": CONTACT,
                }.items()
            },
        )
        return body

    def until(self, done: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "timed out"
            self.events.drain()
            self.deliveries.drain()
            time.sleep(0.05)

    def dead_letters(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.stack.outputs["WebhookDeadLetterQueueUrl"],
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return [
            {
                "body": m["Body"],
                **{k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()},
            }
            for m in messages
        ]


@pytest.fixture
def webhooks(stack_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhooks]:
    stack = stack_factory(parameter_overrides={"WebhookRetrySchedule": "1s,1s"})
    for name, value in stack.function_environment(FUNCTION_ID).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEBHOOK_ALLOW_LOCAL_TARGETS", "true")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    registry.reset()
    yield Webhooks(stack)
    registry.reset()


def test_an_event_reaches_every_matching_endpoint_signed_and_byte_for_byte(
    webhooks: Webhooks, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver() as everything, WebhookReceiver() as calls_only:
        webhooks.register(everything)
        webhooks.register(calls_only, filter_policy={"activity_type": ["call", "meeting"]})

        note = webhooks.publish("act_note", "note")
        call = webhooks.publish("act_call", "call")
        webhooks.until(lambda: len(everything.deliveries) == 2 and len(calls_only.deliveries) == 1)

        assert all(d.verified for d in everything.deliveries + calls_only.deliveries)
        assert sorted(d.body for d in everything.deliveries) == sorted([note, call])
        assert [(d.webhook_id, d.body) for d in calls_only.deliveries] == [("act_call", call)]
    assert '"WebhookDelivered"' in capsys.readouterr().out


def test_500_twice_then_200_is_retried_and_delivered_once(
    webhooks: Webhooks, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver(answers=[500, 500, 200]) as flaky:
        endpoint = webhooks.register(flaky)

        webhooks.publish("act_1", "call")
        webhooks.until(lambda: len(flaky.deliveries) == 3)

        assert [d.answered for d in flaky.deliveries] == [500, 500, 200]
        assert all(d.verified for d in flaky.deliveries)
        assert {d.webhook_id for d in flaky.deliveries} == {"act_1"}
        gaps = [
            b.received_at - a.received_at
            for a, b in zip(flaky.deliveries, flaky.deliveries[1:], strict=False)
        ]
        assert all(gap >= 0.85 for gap in gaps), gaps  # the 1 s steps, less 10 % jitter
        attempts = webhooks.store.attempts(endpoint.endpoint_id)
        assert [(a.attempt, a.status, a.action) for a in reversed(attempts)] == [
            (1, 500, "retry"),
            (2, 500, "retry"),
            (3, 200, "delivered"),
        ]
        assert webhooks.dead_letters() == []
    output = capsys.readouterr().out
    assert '"WebhookRetried"' in output
    assert '"WebhookFailureStreak"' in output


def test_after_the_last_attempt_the_delivery_is_dead_lettered_with_its_status(
    webhooks: Webhooks,
) -> None:
    with WebhookReceiver(answers=[503]) as down:
        endpoint = webhooks.register(down)

        body = webhooks.publish("act_1", "call")
        letters: list[dict[str, Any]] = []
        webhooks.until(lambda: bool(letters.extend(webhooks.dead_letters()) or letters))

        assert len(down.deliveries) == 3  # 1 s, 1 s: three attempts
        assert letters == [
            {
                "body": body,
                "webhook_endpoint_id": endpoint.endpoint_id,
                "event_id": "act_1",
                "last_status": "503",
                "reason": "503 after 3 attempt(s)",
                "attempts": "3",
            }
        ]


def test_410_disables_the_endpoint(webhooks: Webhooks, capsys: pytest.CaptureFixture[str]) -> None:
    with WebhookReceiver(answers=[410]) as gone:
        endpoint = webhooks.register(gone)

        webhooks.publish("act_1", "call")
        webhooks.until(lambda: bool(webhooks.dead_letters()))

        stored = webhooks.store.get(endpoint.endpoint_id)
        assert stored is not None
        assert not stored.enabled
        assert len(gone.deliveries) == 1
    assert '"WebhookEndpointDisabled"' in capsys.readouterr().out
