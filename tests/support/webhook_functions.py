"""The two webhook functions on the template's stack (moto) as the integration tests drive them:
deployed as the template declares them, endpoints registered, events published to the topic,
both queues' triggers drained until a condition holds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from activity_relay.adapters.dynamodb.attempts import DynamoDbDeliveryLedger
from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.adapters.dynamodb.events import DynamoDbEventStore
from activity_relay.adapters.kms_secrets import KmsSecretSealer
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.runtime import registry
from relay_local.embedded import WEBHOOK_FUNCTIONS, function_handler
from relay_local.template import LocalStack
from relay_local.trigger import EventSourceMapping, SqsTrigger
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.aws import drain, string_attributes
from tests.support.webhooks_out import CONTACT, sealed_endpoint


class Webhooks:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.sqs = boto3.client("sqs")
        dynamodb = boto3.client("dynamodb")
        self.store = DynamoDbEndpointStore(dynamodb, stack.outputs["WebhookEndpointTableName"])
        self.ledger = DynamoDbDeliveryLedger(dynamodb, stack.outputs["WebhookAttemptTableName"])
        self.events_table = DynamoDbEventStore(dynamodb, stack.outputs["WebhookEventTableName"])
        self.sealer = KmsSecretSealer(boto3.client("kms"), stack.outputs["WebhookSecretKeyArn"])
        self.fan_out, self.deliveries = (
            SqsTrigger(
                self.sqs,
                EventSourceMapping.from_stack(stack, function_id, event_name),
                function_handler(folder),
            )
            for function_id, event_name, folder in WEBHOOK_FUNCTIONS
        )

    def register(self, receiver: WebhookReceiver, **fields: Any) -> Endpoint:
        endpoint, secret = sealed_endpoint(self.sealer, receiver.url, **fields)  # type: ignore[arg-type]
        receiver.secret = secret
        self.store.add(endpoint)
        return endpoint

    def publish(self, event_id: str, activity_type: str, **extra: str) -> str:
        document = {
            "schema_version": "1.0",
            "event_id": event_id,
            "event_type": "activity.created",
            "contact_id": CONTACT,
            "activity_type": activity_type,
            "occurred_at": "2026-03-01T10:00:00Z",
            "activity": {
                "id": event_id,
                "activity_type": activity_type,
                "title": "Ünïcode",
                **extra,
            },
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
            self.fan_out.drain()
            self.deliveries.drain()
            time.sleep(0.05)

    def dead_letters(self) -> list[dict[str, Any]]:
        return [
            {"body": m["Body"], **string_attributes(m)}
            for m in drain(self.sqs, self.stack.outputs["WebhookDeadLetterQueueUrl"])
        ]


def deploy_webhook_functions(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, **variables: str
) -> Webhooks:
    """The fan-out's and the delivery function's environment as the template sets them (and
    `variables`), local targets allowed (the receivers listen on 127.0.0.1), no runtime left
    from an earlier stack."""
    for function_id, _, _ in WEBHOOK_FUNCTIONS:
        for name, value in stack.function_environment(function_id).items():
            monkeypatch.setenv(name, value)
    for name, value in {"WEBHOOK_ALLOW_LOCAL_TARGETS": "true", **variables}.items():
        monkeypatch.setenv(name, value)
    registry.reset()
    return Webhooks(stack)
