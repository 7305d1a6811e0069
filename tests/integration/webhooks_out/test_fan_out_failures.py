"""Nothing lost at the fan-out (point 1) on moto: with SQS refusing every SendMessageBatch to
the delivery queue, each (event, endpoint) is dead-lettered alone with its endpoint, the events
are acknowledged (not fanned out again), the dead letters are counted, and `relay webhooks
redrive ID` sends one endpoint's back to the delivery queue."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.adapters.dynamodb.events import DynamoDbEventStore
from activity_relay.adapters.sqs.batch import SqsBatchSender
from activity_relay.adapters.sqs.dead_letters import SqsWebhookDeadLetters
from activity_relay.adapters.sqs.deliveries import SqsDeliveryQueue
from activity_relay.runtime import fan_out
from activity_relay.runtime.fan_out import FanOutPorts, FanOutRuntime, FanOutSettings
from relay_cli import main as cli
from relay_local.embedded import function_handler
from relay_local.template import LocalStack
from tests.support.aws import drain, fail_calls, string_attributes
from tests.support.webhooks_out import document, make_endpoint


@pytest.fixture
def stack(aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    for name, value in aws_stack.function_environment("FanOutWebhooksFunction").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    return aws_stack


def runtime_with_sqs_down(stack: LocalStack) -> FanOutRuntime:
    sqs, dynamodb = boto3.client("sqs"), boto3.client("dynamodb")
    queue_url = stack.outputs["WebhookDeliveryQueueUrl"]
    fail_calls(sqs, "SendMessageBatch", lambda params: params["QueueUrl"] == queue_url)
    settings = FanOutSettings.from_env(dict(stack.function_environment("FanOutWebhooksFunction")))
    return FanOutRuntime(
        settings,
        FanOutPorts(
            endpoints=DynamoDbEndpointStore(dynamodb, settings.routes.endpoint_table_name),
            events=DynamoDbEventStore(dynamodb, settings.event_table_name),
            queue=SqsDeliveryQueue(
                sqs, queue_url, SqsBatchSender(sqs, queue_url, sleep=lambda _: None)
            ),
            dead_letters=SqsWebhookDeadLetters(sqs, settings.routes.dead_letter_queue_url),
        ),
    )


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{n}",
                "receiptHandle": f"r{n}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764583200000"},
                "messageAttributes": {
                    "activity_type": {"stringValue": "call", "dataType": "String"}
                },
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


class Context:
    function_name = "FanOutWebhooksFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fan-out"
    aws_request_id = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def test_deliveries_that_cannot_be_queued_are_dead_lettered_per_endpoint_and_redrivable(
    stack: LocalStack,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = DynamoDbEndpointStore(
        boto3.client("dynamodb"), stack.outputs["WebhookEndpointTableName"]
    )
    first, second = make_endpoint(), make_endpoint()
    store.add(first)
    store.add(second)
    runtime = runtime_with_sqs_down(stack)
    monkeypatch.setattr(fan_out, "runtime", lambda: runtime)
    handler = function_handler("fan_out_webhooks")

    answer = handler(sqs_event(document("act_1"), document("act_2")), Context())

    # Then both events are acknowledged, and each of the four pairs is its own dead letter
    assert answer == {"batchItemFailures": []}
    assert '"WebhookDeadLettered"' in capsys.readouterr().out
    sqs = boto3.client("sqs")
    letters = [string_attributes(m) for m in drain(sqs, stack.outputs["WebhookDeadLetterQueueUrl"])]
    assert sorted((a["webhook_endpoint_id"], a["event_id"]) for a in letters) == sorted(
        (endpoint.endpoint_id, event_id)
        for endpoint in (first, second)
        for event_id in ("act_1", "act_2")
    )
    assert all(a["reason"].startswith("not queued: InternalError") for a in letters)
    # Both events were kept for replays all the same
    kept = DynamoDbEventStore(boto3.client("dynamodb"), stack.outputs["WebhookEventTableName"])
    at = datetime.fromtimestamp(1764583200, UTC)
    assert sorted(e.event_id for e in kept.between(at, at.replace(hour=at.hour + 1))) == [
        "act_1",
        "act_2",
    ]

    # And `relay webhooks redrive` moves one endpoint's dead letters to the delivery queue (the
    # dead letters read above put back as they were; the CLI's own SQS client is up)
    for entry in letters:
        sqs.send_message(
            QueueUrl=stack.outputs["WebhookDeadLetterQueueUrl"],
            MessageBody=document(entry["event_id"]),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in entry.items()
            },
        )
    state_file = tmp_path / "relay.json"
    state_file.write_text(
        json.dumps({"endpoint_url": None, "region": "us-east-1", "outputs": dict(stack.outputs)})
    )
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(
        ["--state-file", str(state_file), "webhooks", "redrive", first.endpoint_id],
        env={},
        out=out,
        err=err,
    )
    assert status == 0, err.getvalue()
    assert f"redrove 2 delivery(ies) to {first.endpoint_id}" in out.getvalue()
    queued = drain(sqs, stack.outputs["WebhookDeliveryQueueUrl"])
    assert sorted(json.loads(m["Body"])["event_id"] for m in queued) == ["act_1", "act_2"]
    assert {string_attributes(m)["webhook_endpoint_id"] for m in queued} == {first.endpoint_id}
