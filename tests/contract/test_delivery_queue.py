"""DeliveryQueue and WebhookDeadLetters: the in-memory fakes agree with SqsDeliveryQueue and
SqsWebhookDeadLetters on moto (the reference) on what fan-out and delivery rely on: a delivery
queued byte for byte with its endpoint, one too large refused alone with its reason, a
postponed one hidden until its time, and a dead letter keeping endpoint, event, status, reason
and the POSTs it sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from activity_relay.adapters.sqs.dead_letters import SqsWebhookDeadLetters
from activity_relay.adapters.sqs.deliveries import SqsDeliveryQueue
from activity_relay.core.webhooks_out.endpoints import new_endpoint_id
from activity_relay.core.webhooks_out.ports import Delivery, DeliveryQueue, WebhookDeadLetters
from relay_local.fakes.webhooks_out import MemoryDeliveryQueue, RecordedWebhookDeadLetters
from relay_local.template import LocalStack
from tests.contract.conftest import FAKE, REAL, REGION, drain

BODY = '{"event_id":"act_1","activity":{"title":"\\u00dcn\\u00efcode"}}'


@dataclass
class QueueUnderTest:
    queue: DeliveryQueue
    received: Callable[[], list[Delivery]]
    """What a receive hands out now, consumed."""
    receive: Callable[[], list[Delivery]]
    """What a receive hands out now, with receipts, left on the queue (hidden for a while)."""


@pytest.fixture(params=[FAKE, REAL])
def deliveries(request: pytest.FixtureRequest) -> QueueUnderTest:
    if request.param == "fake":
        fake = MemoryDeliveryQueue(lambda: datetime.now(UTC))

        def received_fake() -> list[Delivery]:
            got = fake.receive()
            for delivery in got:
                fake.acknowledge(delivery.message_id)
            return got

        return QueueUnderTest(fake, received_fake, fake.receive)
    stack: LocalStack = request.getfixturevalue("aws_stack")
    sqs = boto3.client("sqs", region_name=REGION)
    url = stack.outputs["WebhookDeliveryQueueUrl"]

    def delivery(message: Any) -> Delivery:
        return Delivery(
            message["MessageAttributes"]["webhook_endpoint_id"]["StringValue"],
            message["Body"],
            message["MessageId"],
            message["ReceiptHandle"],
        )

    def received_real() -> list[Delivery]:
        return [delivery(m) for m in drain(sqs, url)]

    def receive_real() -> list[Delivery]:
        answer = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])
        return [delivery(m) for m in answer.get("Messages", [])]

    return QueueUnderTest(SqsDeliveryQueue(sqs, url), received_real, receive_real)


def test_a_delivery_is_queued_byte_for_byte_with_its_endpoint(deliveries: QueueUnderTest) -> None:
    endpoint = new_endpoint_id()

    assert deliveries.queue.enqueue([Delivery(endpoint, BODY)]) == []

    ((got),) = deliveries.received()
    assert (got.endpoint_id, got.body) == (endpoint, BODY)


def test_a_delivery_too_large_is_refused_alone_with_its_reason(deliveries: QueueUnderTest) -> None:
    endpoint = new_endpoint_id()
    large = Delivery(endpoint, "x" * 262_130)  # with its endpoint attribute: over 256 KiB
    small = Delivery(endpoint, BODY)

    failed = deliveries.queue.enqueue([large, small])

    assert [(d.body[:1], why.split(":")[0]) for d, why in failed] == [("x", "MessageTooLong")]
    assert [d.body for d in deliveries.received()] == [BODY]


class Observed:
    """A dead-letter place as both sides show it: the attributes each letter carries."""

    def __init__(self, letters: WebhookDeadLetters, kept: Callable[[], list[dict[str, str]]]):
        self.letters = letters
        self.kept = kept


@pytest.fixture(params=[FAKE, REAL])
def dead_letters(request: pytest.FixtureRequest) -> Observed:
    if request.param == "fake":
        fake = RecordedWebhookDeadLetters()

        def kept_fake() -> list[dict[str, str]]:
            return [{k: v for k, v in letter.items() if v} for letter in fake.letters]

        return Observed(fake, kept_fake)
    stack: LocalStack = request.getfixturevalue("aws_stack")
    sqs = boto3.client("sqs", region_name=REGION)
    url = stack.outputs["WebhookDeadLetterQueueUrl"]

    def kept_real() -> list[dict[str, str]]:
        names = {"webhook_endpoint_id": "endpoint_id"}
        letters: list[dict[str, Any]] = []
        for message in drain(sqs, url):
            attributes = {
                names.get(name, name): value["StringValue"]
                for name, value in message["MessageAttributes"].items()
            }
            letters.append({**attributes, "body": message["Body"]})
        return letters

    return Observed(SqsWebhookDeadLetters(sqs, url), kept_real)


def test_a_dead_letter_keeps_endpoint_event_status_reason_and_posts(dead_letters: Observed) -> None:
    endpoint = new_endpoint_id()

    dead_letters.letters.dead_letter(
        Delivery(endpoint, BODY),
        event_id="act_1",
        last_status="503",
        reason="503 after 8 attempt(s)",
        attempts=8,
    )
    dead_letters.letters.dead_letter(
        Delivery("", BODY), event_id="", last_status="", reason="names no endpoint", attempts=0
    )

    assert dead_letters.kept() == [
        {
            "endpoint_id": endpoint,
            "event_id": "act_1",
            "last_status": "503",
            "reason": "503 after 8 attempt(s)",
            "attempts": "8",
            "body": BODY,
        },
        {"reason": "names no endpoint", "attempts": "0", "body": BODY},
    ]


def test_a_postponed_delivery_comes_back_at_its_time_not_before(
    deliveries: QueueUnderTest,
) -> None:
    endpoint = new_endpoint_id()
    deliveries.queue.enqueue([Delivery(endpoint, BODY)])
    (now,) = deliveries.receive()  # hidden for the queue's visibility timeout (minutes)

    deliveries.queue.postpone(now, 0)  # a retry step of 0 s: visible again at once
    (again,) = deliveries.receive()
    deliveries.queue.postpone(again, int(timedelta(hours=1).total_seconds()))

    assert (again.endpoint_id, again.body) == (endpoint, BODY)
    assert deliveries.received() == []
