"""The webhook receiver's handler as the integration tests drive it: deployed as the template
declares it, a signed LeadLex delivery posted to it as its Function URL would, and what it put
on the contact queue."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from activity_relay.runtime import registry
from relay_local.function_url import UrlContext, function_url_event
from relay_local.template import LocalStack
from tests.support.aws import drain
from tests.support.lambdas import load_function

receive_app = load_function("receive_webhooks")

SECRET = "whsec_registered"
CONTACT = "123e4567-e89b-12d3-a456-426614174000"


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(
    data: dict[str, Any] | None = None, event: str = "activity.created"
) -> tuple[bytes, str]:
    body = json.dumps(
        {
            "event": event,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "workspace_id": "7c2d9c4e-0000-4000-8000-000000000001",
            "data": data
            if data is not None
            else {"activity": {"id": "act_9", "contact_id": CONTACT, "activity_type": "call"}},
        },
        separators=(",", ":"),
    ).encode()
    return body, signed(body)


def post(
    body: bytes,
    signature: str | None,
    *,
    base64_encoded: bool = False,
    method: str = "POST",
) -> dict[str, Any]:
    headers = {
        "Content-Type": "application/json" if not base64_encoded else "application/octet-stream",
        "User-Agent": "LeadLex-Webhook/1.0",
        "X-LeadLex-Delivery-ID": "2f1c0b8e-1111-4000-8000-000000000001",
        "X-LeadLex-Timestamp": "2026-12-01T10:00:00Z",
    }
    if signature is not None:
        headers["X-LeadLex-Signature"] = signature
    event = function_url_event(method, "/", headers, body)
    assert event["isBase64Encoded"] is base64_encoded
    response: dict[str, Any] = receive_app.lambda_handler(
        event, UrlContext("receive-webhooks", 8, 256)
    )
    return response


def queued(stack: LocalStack) -> list[dict[str, Any]]:
    return drain(boto3.client("sqs"), stack.contact_queue_url)


def deploy(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    """The receiver deployed as the template declares it, its secret registered."""
    for name, value in stack.function_environment("ReceiveWebhooksFunction").items():
        monkeypatch.setenv(name, value)
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.outputs["WebhookSecretArn"], SecretString=SECRET
    )
    registry.reset()
    return stack
