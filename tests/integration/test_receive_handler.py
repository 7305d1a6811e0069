"""The webhook receiver's handler on moto: a Function URL event in, the contact queue and the
HTTP answer out; its queue and secret provisioned from template.yaml."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import boto3
import pytest

from activity_relay.runtime import registry
from relay_local.function_url import UrlContext, function_url_event
from relay_local.template import LocalStack
from tests.support.aws import StackFactory
from tests.support.receiver import (
    CONTACT,
    SECRET,
    delivery,
    deploy,
    post,
    queued,
    receive_app,
    signed,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    """Without the queue's delivery delay, so that what was enqueued can be read at once."""
    return deploy(stack_factory(parameter_overrides={"DeliveryDelaySeconds": 0}), monkeypatch)


def test_the_queues_delivery_delay_applies_to_what_the_receiver_sends(
    aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the template's default delay (300 s) on the contact queue
    deploy(aws_stack, monkeypatch)
    body, signature = delivery()
    # When a webhook is received
    assert post(body, signature)["statusCode"] == 202
    # Then its message waits on the queue: not visible yet, but there
    assert queued(aws_stack) == []
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws_stack.contact_queue_url, AttributeNames=["All"]
    )["Attributes"]
    assert attributes["DelaySeconds"] == "300"
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_the_template_gives_the_receiver_its_queue_and_its_secret_id(
    aws_stack: LocalStack,
) -> None:
    environment = aws_stack.function_environment("ReceiveWebhooksFunction")
    assert environment["CONTACT_QUEUE_URL"] == aws_stack.contact_queue_url
    assert environment["LEADLEX_WEBHOOK_SECRET_ID"] == aws_stack.outputs["WebhookSecretArn"]
    assert "LEADLEX_WEBHOOK_SECRET" not in environment


def test_a_signed_activity_puts_its_contact_on_the_queue(stack: LocalStack) -> None:
    body, signature = delivery()

    response = post(body, signature)

    assert response["statusCode"] == 202
    assert json.loads(response["body"]) == {"enqueued": CONTACT}
    (message,) = queued(stack)
    assert message["Body"] == CONTACT  # what the sync function reads
    assert message["MessageAttributes"]["activity_id"]["StringValue"] == "act_9"


def test_a_base64_encoded_body_is_verified_over_its_decoded_bytes(stack: LocalStack) -> None:
    body, signature = delivery()

    response = post(body, signature, base64_encoded=True)

    assert response["statusCode"] == 202
    assert [m["Body"] for m in queued(stack)] == [CONTACT]


def test_a_body_that_is_not_base64_is_refused(stack: LocalStack) -> None:
    event = function_url_event("POST", "/", {"Content-Type": "application/octet-stream"}, b"x")
    event["body"] = "not base64!"
    response = receive_app.lambda_handler(event, UrlContext("receive-webhooks", 8, 256))
    assert response["statusCode"] == 400


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, "sha1=abc", signed(b"another body")],
    ids=["missing", "invalid", "wrong scheme", "another body's"],
)
def test_an_unverified_delivery_is_401_and_logs_no_secret(
    stack: LocalStack,
    signature: str | None,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body, good = delivery()

    response = post(body, signature)

    assert response["statusCode"] == 401
    assert queued(stack) == []
    (refused,) = [r for r in caplog.records if r.getMessage().startswith("webhook refused")]
    assert refused.levelno == logging.WARNING
    everything = capsys.readouterr().out + "".join(str(vars(r)) for r in caplog.records)
    assert SECRET not in everything
    assert good.removeprefix("sha256=") not in everything  # the expected digest


def test_a_body_changed_by_one_byte_is_401(stack: LocalStack) -> None:
    body, signature = delivery()
    changed = body.replace(b"call", b"cald")

    assert post(changed, signature)["statusCode"] == 401
    assert queued(stack) == []


def test_a_rotated_secret_is_used_without_a_redeploy(stack: LocalStack) -> None:
    # Given a warm receiver that has read the registered secret
    body, signature = delivery()
    assert post(body, signature)["statusCode"] == 202
    # When the secret is rotated in Secrets Manager and LeadLex signs with the new one
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.outputs["WebhookSecretArn"], SecretString="whsec_rotated"
    )
    response = post(body, signed(body, "whsec_rotated"))
    # Then the same container verifies it; the old secret no longer does
    assert response["statusCode"] == 202
    assert post(body, signature)["statusCode"] == 401
    assert len(queued(stack)) == 2


@pytest.mark.parametrize(
    ("data", "event", "reason"),
    [
        (
            {"activity": {"id": "a", "entity_type": "deal", "entity_id": CONTACT}},
            None,
            "no_contact",
        ),
        ({"contact": {"id": CONTACT}}, "contact.created", "other_event"),
        ({"activity": {"id": "a", "contact_id": "c-42"}}, None, "invalid_contact_id"),
    ],
    ids=["deal activity", "another event type", "non-uuid contact id"],
)
def test_verified_but_unusable_is_202_counted_and_logged(
    stack: LocalStack,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    data: dict[str, Any],
    event: str | None,
    reason: str,
) -> None:
    body, signature = delivery(data, event or "activity.created")

    response = post(body, signature)

    assert response["statusCode"] == 202
    assert json.loads(response["body"]) == {"ignored": reason}
    assert queued(stack) == []
    (logged,) = [r for r in caplog.records if getattr(r, "outcome", None) == "ignored"]
    assert getattr(logged, "reason", None) == reason
    assert reason in logged.getMessage()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    (emf,) = [line for line in lines if "_aws" in line]
    assert emf["WebhooksIgnored"] == [1.0]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "WebhooksIgnored", "Unit": "Count"}
    ]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"event": "activity.created", "data": "' + b"x" * 262_144 + b'"}'],
    ids=["malformed json", "not an object", "over 256 KB"],
)
def test_not_json_or_oversize_is_400(stack: LocalStack, body: bytes) -> None:
    response = post(body, signed(body))

    assert response["statusCode"] == 400
    assert queued(stack) == []


def test_only_post_is_served(stack: LocalStack) -> None:
    body, signature = delivery()
    assert post(body, signature, method="GET")["statusCode"] == 405
    assert queued(stack) == []


def test_the_secret_can_come_from_the_environment_locally(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADLEX_WEBHOOK_SECRET_ID", raising=False)
    monkeypatch.setenv("LEADLEX_WEBHOOK_SECRET", "whsec_local")
    registry.reset()
    body, _ = delivery()

    assert post(body, signed(body, "whsec_local"))["statusCode"] == 202
    assert [m["Body"] for m in queued(stack)] == [CONTACT]


def test_a_missing_setting_is_one_log_line_and_a_500(
    aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CONTACT_QUEUE_URL", aws_stack.contact_queue_url)
    monkeypatch.delenv("LEADLEX_WEBHOOK_SECRET_ID", raising=False)
    monkeypatch.delenv("LEADLEX_WEBHOOK_SECRET", raising=False)
    registry.reset()
    body, signature = delivery()

    assert post(body, signature)["statusCode"] == 500
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "configuration error: LEADLEX_WEBHOOK_SECRET_ID is required "
        "(or LEADLEX_WEBHOOK_SECRET for local use)"
    ]


def test_a_queue_that_refuses_is_503_so_that_leadlex_retries(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACT_QUEUE_URL", stack.contact_queue_url + "-gone")
    registry.reset()
    body, signature = delivery()

    assert post(body, signature)["statusCode"] == 503


def test_base64_is_what_a_function_url_sends_for_binary_content() -> None:
    event = function_url_event("POST", "/x?y=1", {"Content-Type": "image/png"}, b"\x89PNG")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG"
    assert (event["rawPath"], event["rawQueryString"]) == ("/x", "y=1")
    assert event["requestContext"]["http"]["method"] == "POST"
