"""SqsBatchSender sizes its calls by bytes as SQS counts them (10 entries, 1 MiB a call, body
plus every attribute's name, type and value), and an entry over 256 KiB fails alone."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from activity_relay.adapters.sqs.batch import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    SqsBatchSender,
    SqsEntry,
)
from relay_local.template import LocalStack
from tests.support.aws import drain, record_calls, string_attributes

ENDPOINT = "webhook_endpoint_id"


@pytest.fixture
def sqs(aws_stack: LocalStack) -> Any:
    return boto3.client("sqs", region_name="us-east-1")


def queue_of(stack: LocalStack) -> str:
    return stack.outputs["WebhookDeliveryQueueUrl"]


def call_bytes(call: dict[str, Any]) -> int:
    return sum(
        len(entry["MessageBody"].encode())
        + sum(
            len(name) + len(value["DataType"]) + len(value["StringValue"].encode())
            for name, value in entry.get("MessageAttributes", {}).items()
        )
        for entry in call["Entries"]
    )


def test_a_224_kb_event_for_five_endpoints_goes_out_in_calls_under_1_mib(
    sqs: Any, aws_stack: LocalStack
) -> None:
    body = "x" * 224 * 1024
    calls = record_calls(sqs, "SendMessageBatch")
    entries = [SqsEntry(body, attributes={ENDPOINT: f"ep_{n:032x}"}) for n in range(5)]

    outcome = SqsBatchSender(sqs, queue_of(aws_stack)).send(entries)

    assert sorted(outcome.sent) == [0, 1, 2, 3, 4]
    assert outcome.failed == []
    assert [len(call["Entries"]) for call in calls] == [4, 1]
    assert all(call_bytes(call) <= MAX_BATCH_BYTES for call in calls)
    received = drain(sqs, queue_of(aws_stack))
    assert sorted(string_attributes(m)[ENDPOINT] for m in received) == [
        f"ep_{n:032x}" for n in range(5)
    ]


def test_attributes_count_toward_the_call_size(sqs: Any, aws_stack: LocalStack) -> None:
    # Five bodies that fit one call (1,048,500 bytes); with 97 bytes of attribute each they do not
    body = "y" * 209_700
    calls = record_calls(sqs, "SendMessageBatch")

    SqsBatchSender(sqs, queue_of(aws_stack)).send([SqsEntry(body, attributes={"a": "b" * 90})] * 5)

    assert [len(call["Entries"]) for call in calls] == [4, 1]
    assert all(call_bytes(call) <= MAX_BATCH_BYTES for call in calls)


def test_an_entry_over_256_kib_fails_alone_and_the_rest_go_out(
    sqs: Any, aws_stack: LocalStack
) -> None:
    # Just over the limit once its attribute is counted
    too_large = SqsEntry("z" * (MAX_MESSAGE_BYTES - 10), attributes={ENDPOINT: "ep_1"})
    fine = [SqsEntry(f"small {n}", attributes={ENDPOINT: f"ep_{n}"}) for n in range(3)]

    outcome = SqsBatchSender(sqs, queue_of(aws_stack)).send([fine[0], too_large, *fine[1:]])

    assert sorted(outcome.sent) == [0, 2, 3]
    ((index, why),) = outcome.failed
    assert index == 1
    assert why.startswith("MessageTooLong")
    assert sorted(m["Body"] for m in drain(sqs, queue_of(aws_stack))) == [
        "small 0",
        "small 1",
        "small 2",
    ]


def test_multibyte_bodies_are_counted_in_bytes_not_characters(
    sqs: Any, aws_stack: LocalStack
) -> None:
    # 100,000 characters of 3 bytes each: 300,000 bytes, over the limit
    outcome = SqsBatchSender(sqs, queue_of(aws_stack)).send([SqsEntry("€" * 100_000)])

    assert outcome.sent == []
    assert [index for index, _ in outcome.failed] == [0]
