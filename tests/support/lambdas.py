"""What the integration tests of the Lambda functions share: Lambda's context and SQS event
shapes, loading a function's handler, and subscribers that receive what the relay publishes."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

import app
from activity_relay.runtime import registry
from leadlex_sandbox import SandboxServer
from relay_local.template import LocalStack
from tests.support.aws import create_queue, drain, subscribe_queue

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def deploy_sync_function(
    stack: LocalStack, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Subscribers:
    """The sync function's environment as template.yaml declares it, pointed at the sandbox,
    on a cold start; and subscribers on its topic and bus."""
    for name, value in stack.function_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEADLEX_API_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("LEADLEX_API_KEY", sandbox.create_key())
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    registry.reset()
    return Subscribers(stack)


def load_function(name: str) -> ModuleType:
    """A function's handler module. Every function's is named `app` and the sync function's is
    on sys.path (pyproject.toml's pythonpath, as `import app`): load others under a name of
    their own."""
    spec = importlib.util.spec_from_file_location(f"{name}_app", FUNCTIONS / name / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class LambdaContext:
    function_name: str = "SyncActivitiesFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sync"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


SQS_RECORD_KEYS = frozenset(
    {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
)
"""The fields of an SQS record as Lambda hands it to a handler (and md5OfMessageAttributes
besides, when the message has attributes)."""


def sqs_event(*bodies: str) -> dict[str, Any]:
    """Records as Lambda delivers them, sent just now."""
    sent = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:contacts",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def sent_seconds_ago(event: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The event, its records sent `seconds` before now."""
    for record in event["Records"]:
        record["attributes"]["SentTimestamp"] = str(int((time.time() - seconds) * 1000))
    return event


def invoke(event: dict[str, Any]) -> list[str]:
    """Run the handler; return the message ids it asks SQS to deliver again."""
    response = app.lambda_handler(event, LambdaContext())
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def message_ids(event: dict[str, Any]) -> list[str]:
    return [record["messageId"] for record in event["Records"]]


class Subscribers:
    """A queue on the topic and a queue behind an EventBridge rule, as consumers would have."""

    def __init__(self, stack: LocalStack) -> None:
        self.sqs = boto3.client("sqs")
        self.topic_queue = subscribe_queue(
            boto3.client("sns"),
            self.sqs,
            stack.topic_arn,
            "topic-subscriber",
            RawMessageDelivery="true",
        )
        self.bus_queue, bus_queue_arn = create_queue(self.sqs, "bus-subscriber")
        events = boto3.client("events")
        events.put_rule(
            Name="all-activities",
            EventBusName=stack.bus_name,
            EventPattern=json.dumps(
                {"source": ["leadlex.activities"], "detail-type": ["activity.created"]}
            ),
        )
        events.put_targets(
            Rule="all-activities",
            EventBusName=stack.bus_name,
            Targets=[{"Id": "queue", "Arn": bus_queue_arn}],
        )

    def from_topic(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in drain(self.sqs, self.topic_queue)]

    def from_bus(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in drain(self.sqs, self.bus_queue)]
