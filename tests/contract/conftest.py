"""Each port once per implementation: the in-memory fake of relay_local.fakes and the real
adapter (moto provisioned from template.yaml, the LeadLex sandbox over HTTP).

A fixture here yields the port under test together with what the test needs to observe it from
outside (a queue's visible messages, a subscriber's deliveries), the same for both sides. The
real side is the reference: when a case fails on the fake only, the fake is wrong.
Real parameters also carry the `integration` marker, so `-m "not integration"` (make unit) runs
the fakes alone.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import pytest

from activity_relay.adapters.leadlex import LeadLexClient
from activity_relay.adapters.publishers.batching import RetryPolicy
from activity_relay.adapters.publishers.eventbridge import EventBridgePublisher
from activity_relay.adapters.publishers.sns import SnsPublisher
from activity_relay.adapters.sqs.batch import SqsBatchSender
from activity_relay.adapters.sqs.contact_queue import SqsContactQueue
from activity_relay.adapters.sqs.dead_letters import SqsDeadLetters
from activity_relay.core.contracts.contact_queue import ContactQueue
from activity_relay.core.contracts.event_document import event_document
from activity_relay.core.model import ActivityEvent
from activity_relay.core.sync.ports import ActivitySource, Publisher, RejectedMessages
from leadlex_sandbox import SandboxServer
from relay_local.fakes.contact_queue import MemoryContactQueue
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import EPOCH, FakeLeadLex, RecordingPublisher, RejectionLog
from relay_local.template import LocalStack, load_template
from tests.support.aws import create_queue, drain, fail_calls
from tests.support.clock import Clock
from tests.support.state_table import NOW, DynamoDbStateTable

REGION = "us-east-1"

FAKE = pytest.param("fake", id="fake")
REAL = pytest.param("real", id="real", marks=pytest.mark.integration)


def no_pause(_: float) -> None:
    """Adapters' retry sleeps: nothing to wait for in a test."""


def fake_or_real[F, R](
    request: pytest.FixtureRequest,
    fake: Callable[[], F],
    real: Callable[[Any, str], R],
    service: str,
    output: str,
) -> F | R:
    """For a `params=[FAKE, REAL]` fixture: `fake()` on the fake side; on the real side the
    reference, `real(client, resource)` with a boto3 `service` client and the stack output
    `output` naming its resource."""
    if request.param == "fake":
        return fake()
    stack: LocalStack = request.getfixturevalue("aws_stack")
    return real(boto3.client(service, region_name=REGION), stack.outputs[output])


# --- StateStore + Deferrals ----------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock[datetime]:
    """The store's own now (postpone reads it), moved by the test."""
    return Clock(NOW)


@pytest.fixture(params=[FAKE, REAL])
def store(
    request: pytest.FixtureRequest, clock: Clock[datetime]
) -> MemoryStateTable | DynamoDbStateTable:
    """A StateStore and Deferrals: DynamoDbStateTable on the template's table, or its fake."""
    if request.param == "fake":
        return MemoryStateTable(clock=clock)
    stack: LocalStack = request.getfixturevalue("aws_stack")
    return DynamoDbStateTable(
        boto3.client("dynamodb", region_name=REGION), stack.table_name, clock=clock
    )


# --- ContactQueue --------------------------------------------------------------------------------

QUEUE_DELAY = int(load_template()["Parameters"]["DeliveryDelaySeconds"]["Default"])
"""The contact queue's own delay, as the template declares it."""


@dataclass
class QueueUnderTest:
    queue: ContactQueue
    received: Callable[[], list[tuple[str, dict[str, str]]]]
    """What a receive hands out now (messages whose delay has passed), in order: each body
    with its string message attributes."""
    go_down: Callable[[], None]
    """Make the queue refuse every further message, as SQS out of reach would."""

    def visible(self) -> list[str]:
        """The bodies a receive hands out now, in order."""
        return [body for body, _ in self.received()]


def _received(sqs: Any, queue_url: str) -> list[tuple[str, dict[str, str]]]:
    return [
        (
            m["Body"],
            {n: a["StringValue"] for n, a in (m.get("MessageAttributes") or {}).items()},
        )
        for m in drain(sqs, queue_url)
    ]


def _queue_under_test(request: pytest.FixtureRequest, queue_delay: int) -> QueueUnderTest:
    if request.param == "fake":
        fake = MemoryContactQueue(queue_delay=queue_delay)
        return QueueUnderTest(
            fake,
            lambda: [
                (m.body, dict(m.attributes))
                for m, delay in zip(fake.messages, fake.delays, strict=True)
                if delay == 0
            ],
            fake.go_down,
        )
    stack: LocalStack = request.getfixturevalue("stack_factory")(
        parameter_overrides={"DeliveryDelaySeconds": queue_delay}
    )
    sqs = boto3.client("sqs", region_name=REGION)
    real = SqsContactQueue(SqsBatchSender(sqs, stack.contact_queue_url, sleep=no_pause))
    return QueueUnderTest(
        real,
        lambda: _received(sqs, stack.contact_queue_url),
        lambda: fail_calls(sqs, "SendMessageBatch", lambda _: True),
    )


@pytest.fixture(params=[FAKE, REAL])
def contact_queue(request: pytest.FixtureRequest) -> QueueUnderTest:
    """The contact queue with the template's own delivery delay."""
    return _queue_under_test(request, QUEUE_DELAY)


@pytest.fixture(params=[FAKE, REAL])
def undelayed_contact_queue(request: pytest.FixtureRequest) -> QueueUnderTest:
    """The contact queue without a delivery delay, so that what was sent without a delay of its
    own (a webhook's message) is visible at once."""
    return _queue_under_test(request, 0)


# --- RejectedMessages ----------------------------------------------------------------------------


@dataclass
class RejectionsUnderTest:
    rejected: RejectedMessages
    kept: Callable[[], list[tuple[str, str, str]]]
    """What the dead-letter place holds: (original message id, body, reason), in order."""


def _dead_letters(sqs: Any, queue_url: str) -> list[tuple[str, str, str]]:
    return [
        (
            m["MessageAttributes"]["original_message_id"]["StringValue"],
            m["Body"],
            m["MessageAttributes"]["rejection_reason"]["StringValue"],
        )
        for m in drain(sqs, queue_url)
    ]


@pytest.fixture(params=[FAKE, REAL])
def rejections(request: pytest.FixtureRequest) -> RejectionsUnderTest:
    if request.param == "fake":
        fake = RejectionLog()
        return RejectionsUnderTest(fake, lambda: list(fake.rejected))
    stack: LocalStack = request.getfixturevalue("aws_stack")
    sqs = boto3.client("sqs", region_name=REGION)
    real = SqsDeadLetters(sqs, stack.dead_letter_queue_url)
    return RejectionsUnderTest(real, lambda: _dead_letters(sqs, stack.dead_letter_queue_url))


# --- Publisher -----------------------------------------------------------------------------------


@dataclass
class PublisherUnderTest:
    publisher: Publisher
    delivered: Callable[[], list[dict[str, Any]]]
    """The documents subscribers received, in order."""
    fail_from: Callable[[Sequence[ActivityEvent], int], None]
    """Make the service refuse every event of the list from this position on."""


def _refusing(
    client: Any, operation: str, entries: str, document: str
) -> Callable[[Sequence[ActivityEvent], int], None]:
    """`fail_from` for a real publisher: the service refuses each `operation` call that carries
    one of the events from the position on (the call's `entries` each hold an event document,
    in JSON, under `document`)."""

    def fail_from(events: Sequence[ActivityEvent], position: int) -> None:
        refused = {event.event_id for event in events[position:]}
        fail_calls(
            client,
            operation,
            lambda params: any(
                json.loads(e[document])["event_id"] in refused for e in params[entries]
            ),
        )

    return fail_from


def _sns(stack: LocalStack) -> PublisherUnderTest:
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url, queue_arn = create_queue(sqs, "subscriber")
    sns.subscribe(
        TopicArn=stack.topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    publisher = SnsPublisher(sns, stack.topic_arn, retry=RetryPolicy(sleep=no_pause))
    return PublisherUnderTest(
        publisher,
        lambda: [json.loads(m["Body"]) for m in drain(sqs, queue_url)],
        _refusing(sns, "PublishBatch", "PublishBatchRequestEntries", "Message"),
    )


def _eventbridge(stack: LocalStack) -> PublisherUnderTest:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url, queue_arn = create_queue(sqs, "subscriber")
    source = stack.function_environment()["EVENT_SOURCE"]
    events.put_rule(
        Name="all", EventBusName=stack.bus_name, EventPattern=json.dumps({"source": [source]})
    )
    events.put_targets(
        Rule="all", EventBusName=stack.bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    publisher = EventBridgePublisher(
        events, stack.bus_name, source, retry=RetryPolicy(sleep=no_pause)
    )
    return PublisherUnderTest(
        publisher,
        lambda: [json.loads(m["Body"])["detail"] for m in drain(sqs, queue_url)],
        _refusing(events, "PutEvents", "Entries", "Detail"),
    )


def _recording() -> PublisherUnderTest:
    fake = RecordingPublisher()

    def fail_from(_: Sequence[ActivityEvent], position: int) -> None:
        fake.fail_after = position

    return PublisherUnderTest(fake, lambda: [event_document(e) for e in fake.delivered], fail_from)


@pytest.fixture(
    params=[
        FAKE,
        pytest.param("sns", id="sns", marks=pytest.mark.integration),
        pytest.param("eventbridge", id="eventbridge", marks=pytest.mark.integration),
    ]
)
def publisher(request: pytest.FixtureRequest) -> PublisherUnderTest:
    if request.param == "fake":
        return _recording()
    stack: LocalStack = request.getfixturevalue("aws_stack")
    return _sns(stack) if request.param == "sns" else _eventbridge(stack)


# --- ActivitySource ------------------------------------------------------------------------------

PAGE_SIZE = 3


@dataclass
class SourceUnderTest:
    source: ActivitySource
    new_contact: Callable[[], str]
    log: Callable[..., str]
    """log(contact_id, created: datetime, activity_type="call") -> the new activity's id."""
    unknown: str = field(default_factory=lambda: str(uuid.uuid4()))


def _fake_source() -> SourceUnderTest:
    fake = FakeLeadLex(page_size=PAGE_SIZE)

    def new_contact() -> str:
        contact_id = str(uuid.uuid4())
        fake.contacts[contact_id] = []
        return contact_id

    def log(contact_id: str, created: datetime, activity_type: str = "call") -> str:
        seconds = int((created - EPOCH).total_seconds())
        return str(fake.add(contact_id, seconds, activity_type)["id"])

    return SourceUnderTest(fake, new_contact, log)


@pytest.fixture(params=[FAKE, REAL])
def activity_source(request: pytest.FixtureRequest) -> Iterator[SourceUnderTest]:
    if request.param == "fake":
        yield _fake_source()
        return
    server: SandboxServer = request.getfixturevalue("sandbox")

    def log(contact_id: str, created: datetime, activity_type: str = "call") -> str:
        return str(
            server.add_activity(contact_id, created_date=created, activity_type=activity_type)["id"]
        )

    with LeadLexClient(
        server.create_key(), server.base_url, per_page=PAGE_SIZE, retries=0
    ) as client:
        yield SourceUnderTest(client, lambda: server.create_contact(), log)
