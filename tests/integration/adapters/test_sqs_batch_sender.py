"""SqsBatchSender, the one SendMessageBatch sender of the relay and its CLI: what it reports
per message, on moto and with botocore's Stubber for the failures moto never produces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from activity_relay.adapters.sqs.batch import SqsBatchSender, SqsEntry
from relay_local.template import LocalStack
from tests.support.aws import drain, record_calls

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/contacts"


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "sqs", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def entries(*bodies: tuple[int, str]) -> dict[str, Any]:
    return {
        "QueueUrl": QUEUE_URL,
        "Entries": [{"Id": str(position), "MessageBody": body} for position, body in bodies],
    }


def entries_of(*bodies: str) -> list[SqsEntry]:
    return [SqsEntry(body) for body in bodies]


def ok(position: int) -> dict[str, str]:
    return {"Id": str(position), "MessageId": f"m{position}", "MD5OfMessageBody": "0" * 32}


def test_any_bodies_in_batches_of_ten_reported_by_index(sqs: Any, aws_stack: LocalStack) -> None:
    # Given bodies that are no contact ids (a redrive sends whatever the dead letters held)
    bodies = [f'{{"message": {n}}}' for n in range(12)]
    calls = record_calls(sqs, "SendMessageBatch")

    outcome = SqsBatchSender(sqs, aws_stack.contact_queue_url).send(
        [SqsEntry(body, delay_seconds=0) for body in bodies]
    )

    assert [len(call["Entries"]) for call in calls] == [10, 2]
    assert sorted(outcome.sent) == list(range(12))
    assert outcome.failed == []
    assert sorted(m["Body"] for m in drain(sqs, aws_stack.contact_queue_url)) == sorted(bodies)


def test_sender_faults_come_back_at_once_with_sqs_s_reason(stubbed: Any) -> None:
    client, stubber = stubbed
    pauses: list[float] = []
    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [ok(0)],
            "Failed": [
                {"Id": "1", "SenderFault": True, "Code": "InvalidMessageContents", "Message": "no"},
                {"Id": "2", "SenderFault": False, "Code": "InternalError"},
            ],
        },
        entries((0, "a"), (1, "b"), (2, "c")),
    )
    stubber.add_response(
        "send_message_batch", {"Successful": [ok(2)], "Failed": []}, entries((2, "c"))
    )

    outcome = SqsBatchSender(client, QUEUE_URL, sleep=pauses.append).send(entries_of("a", "b", "c"))

    # The retried one is confirmed last; the refused one is reported, never resent
    assert outcome.sent == [0, 2]
    assert outcome.failed == [(1, "InvalidMessageContents: no")]
    assert pauses == [0.2]


def test_an_entry_sqs_does_not_report_is_not_taken_as_sent(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_message_batch", {"Successful": [ok(0)], "Failed": []}, entries((0, "a"), (1, "b"))
    )
    stubber.add_response("send_message_batch", {"Successful": [], "Failed": []}, entries((1, "b")))

    outcome = SqsBatchSender(client, QUEUE_URL, attempts=2, sleep=lambda _: None).send(
        entries_of("a", "b")
    )

    assert outcome.sent == [0]
    assert outcome.failed == [(1, "NotReported")]


def test_a_call_that_keeps_failing_fails_its_messages_with_the_call_s_error(stubbed: Any) -> None:
    client, stubber = stubbed
    for _ in range(2):
        stubber.add_client_error(
            "send_message_batch",
            service_error_code="AccessDenied",
            service_message="not allowed",
            http_status_code=403,
            expected_params=entries((0, "a"), (1, "b")),
        )

    outcome = SqsBatchSender(client, QUEUE_URL, attempts=2, sleep=lambda _: None).send(
        entries_of("a", "b")
    )

    assert outcome.sent == []
    assert outcome.failed == [(0, "AccessDenied: not allowed"), (1, "AccessDenied: not allowed")]


def test_an_entry_s_delay_and_attributes_go_with_it(sqs: Any, aws_stack: LocalStack) -> None:
    # Given an entry with a delay of 0 (which must be said, or the queue's own delay applies)
    # and string attributes, beside one with neither
    calls = record_calls(sqs, "SendMessageBatch")
    given = [SqsEntry("a", delay_seconds=0, attributes={"origin": "test"}), SqsEntry("b")]

    outcome = SqsBatchSender(sqs, aws_stack.contact_queue_url).send(given)

    assert outcome.failed == []
    sent = calls[0]["Entries"]
    assert sent[0]["DelaySeconds"] == 0
    assert sent[0]["MessageAttributes"] == {"origin": {"DataType": "String", "StringValue": "test"}}
    assert "DelaySeconds" not in sent[1]
    assert "MessageAttributes" not in sent[1]
    (message,) = drain(sqs, aws_stack.contact_queue_url)  # "b" waits the queue's delay
    assert message["Body"] == "a"
    assert message["MessageAttributes"]["origin"]["StringValue"] == "test"
