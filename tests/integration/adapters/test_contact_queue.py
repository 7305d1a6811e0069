"""SqsContactQueue: against moto's contact queue (from template.yaml), and with botocore's
Stubber for the per-entry failures moto never produces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from activity_relay.adapters.sqs.batch import SqsBatchSender
from activity_relay.adapters.sqs.contact_queue import SqsContactQueue
from activity_relay.core.contracts.contact_queue import QueuedContact
from relay_local.template import LocalStack
from tests.support.aws import drain, record_calls

pytestmark = pytest.mark.integration

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/contacts"


def contact(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def requests(contacts: list[str], delays: list[int] | None = None) -> list[QueuedContact]:
    given: list[int | None] = list(delays) if delays is not None else [None] * len(contacts)
    return [QueuedContact(c, delay_seconds=d) for c, d in zip(contacts, given, strict=True)]


def test_one_message_per_contact_in_batches_of_ten(sqs: Any, aws_stack: LocalStack) -> None:
    queue = SqsContactQueue(SqsBatchSender(sqs, aws_stack.contact_queue_url))
    calls = record_calls(sqs, "SendMessageBatch")
    contacts = [contact(n) for n in range(23)]

    assert queue.send(requests(contacts, [0] * len(contacts))) == []

    assert [len(call["Entries"]) for call in calls] == [10, 10, 3]
    # The body is the bare id: what the sync function reads as a contact
    assert sorted(m["Body"] for m in drain(sqs, aws_stack.contact_queue_url)) == contacts


def test_each_message_carries_its_delivery_delay(sqs: Any, aws_stack: LocalStack) -> None:
    queue = SqsContactQueue(SqsBatchSender(sqs, aws_stack.contact_queue_url))
    calls = record_calls(sqs, "SendMessageBatch")

    assert queue.send(requests([contact(1), contact(2)], [0, 60])) == []

    # 0 too: SQS would otherwise apply the queue's own delay
    assert [e["DelaySeconds"] for e in calls[0]["Entries"]] == [0, 60]
    # Only the undelayed one is visible at once
    assert [m["Body"] for m in drain(sqs, aws_stack.contact_queue_url)] == [contact(1)]


def test_without_delays_the_queue_s_own_applies(sqs: Any, aws_stack: LocalStack) -> None:
    # The template's DeliveryDelaySeconds holds a message back unless it names its own delay
    queue = SqsContactQueue(SqsBatchSender(sqs, aws_stack.contact_queue_url))
    calls = record_calls(sqs, "SendMessageBatch")

    assert queue.send(requests([contact(1)])) == []

    assert "DelaySeconds" not in calls[0]["Entries"][0]
    assert drain(sqs, aws_stack.contact_queue_url) == []


def test_nothing_to_enqueue_sends_nothing(sqs: Any, aws_stack: LocalStack) -> None:
    calls = record_calls(sqs, "SendMessageBatch")

    assert SqsContactQueue(SqsBatchSender(sqs, aws_stack.contact_queue_url)).send([]) == []
    assert calls == []


def entries(*positions_and_contacts: tuple[int, str]) -> dict[str, Any]:
    return {
        "QueueUrl": QUEUE_URL,
        "Entries": [{"Id": str(p), "MessageBody": c} for p, c in positions_and_contacts],
    }


def answer(
    successful: list[int], failed: list[int], *, sender_fault: bool = False
) -> dict[str, Any]:
    return {
        "Successful": [
            {"Id": str(p), "MessageId": f"m{p}", "MD5OfMessageBody": "0" * 32} for p in successful
        ],
        "Failed": [
            {"Id": str(p), "SenderFault": sender_fault, "Code": "InternalError"} for p in failed
        ],
    }


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "sqs",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_only_the_failed_entries_are_resent(stubbed: Any) -> None:
    client, stubber = stubbed
    pauses: list[float] = []
    queue = SqsContactQueue(SqsBatchSender(client, QUEUE_URL, sleep=pauses.append))
    contacts = [contact(n) for n in range(12)]
    # Batch 1: entries 2 and 7 fail, then succeed alone
    stubber.add_response(
        "send_message_batch",
        answer([0, 1, 3, 4, 5, 6, 8, 9], [2, 7]),
        entries(*enumerate(contacts[:10])),
    )
    stubber.add_response(
        "send_message_batch", answer([2, 7], []), entries((2, contacts[2]), (7, contacts[7]))
    )
    # Batch 2: fine at once
    stubber.add_response(
        "send_message_batch", answer([0, 1], []), entries(*enumerate(contacts[10:]))
    )

    assert queue.send(requests(contacts)) == []
    assert pauses == [0.2]


def test_a_persistent_failure_is_returned_after_the_last_attempt(stubbed: Any) -> None:
    client, stubber = stubbed
    pauses: list[float] = []
    queue = SqsContactQueue(SqsBatchSender(client, QUEUE_URL, attempts=3, sleep=pauses.append))
    contacts = [contact(n) for n in range(3)]
    stubber.add_response("send_message_batch", answer([0, 2], [1]), entries(*enumerate(contacts)))
    stubber.add_response("send_message_batch", answer([], [1]), entries((1, contacts[1])))
    stubber.add_response("send_message_batch", answer([], [1]), entries((1, contacts[1])))

    assert [m.contact_id for m in queue.send(requests(contacts))] == [contacts[1]]
    assert pauses == [0.2, 0.4]


def test_a_sender_fault_is_not_retried(stubbed: Any) -> None:
    client, stubber = stubbed
    queue = SqsContactQueue(SqsBatchSender(client, QUEUE_URL, sleep=lambda _: None))
    contacts = [contact(n) for n in range(2)]
    stubber.add_response(
        "send_message_batch", answer([0], [1], sender_fault=True), entries(*enumerate(contacts))
    )

    assert [m.contact_id for m in queue.send(requests(contacts))] == [contacts[1]]


def test_a_failed_call_fails_its_batch_only(stubbed: Any) -> None:
    client, stubber = stubbed
    queue = SqsContactQueue(SqsBatchSender(client, QUEUE_URL, attempts=2, sleep=lambda _: None))
    contacts = [contact(n) for n in range(11)]
    for _ in range(2):
        stubber.add_client_error(
            "send_message_batch",
            service_error_code="AccessDenied",
            http_status_code=403,
            expected_params=entries(*enumerate(contacts[:10])),
        )
    stubber.add_response("send_message_batch", answer([0], []), entries((0, contacts[10])))

    assert [m.contact_id for m in queue.send(requests(contacts))] == contacts[:10]
