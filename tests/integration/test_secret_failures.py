"""Secrets Manager failing the functions that read a secret at their first invocation: the sync
function (the LeadLex key, LEADLEX_API_KEY_SECRET_ID) and the receiver (the signing secret,
LEADLEX_WEBHOOK_SECRET_ID).

Refused for good (no such secret: moto's own answer; access denied, a KMS key it cannot use:
injected) is a configuration error: one line naming the setting, no stack trace. Unreadable for
now (throttled, failing, unreachable: injected with a botocore `before-send` hook, ahead of
moto's, since moto produces none of them) is one warning, no stack trace: the sync batch returns
to the queue, the receiver answers 503 so that LeadLex delivers again. Through the contact
queue's own redrive policy, an outage shorter than its retry horizon moves no contact to the
dead-letter queue.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.exceptions import EndpointConnectionError
from moto.core.botocore_stubber import MockRawResponse

import app
from activity_relay.runtime import aws, registry
from leadlex_sandbox import SandboxServer
from relay_local.template import LocalStack, load_template
from relay_local.trigger import EventSourceMapping, SqsTrigger
from tests.support.lambdas import deploy_sync_function, invoke, sqs_event
from tests.support.receiver import delivery, post, queued
from tests.support.receiver import deploy as deploy_receiver

pytestmark = pytest.mark.integration

GUARANTEES = Path(__file__).resolve().parents[2] / "docs" / "design.md"
KEY_SECRET = "leadlex/test/api-key"


@dataclass
class Outage:
    """GetSecretValue answered by `answer` (a status and an error code, or an exception) while
    `on`; every call counted."""

    answer: tuple[int, str] | Exception | None = None
    calls: int = 0
    on: bool = True
    requests: list[str] = field(default_factory=list)

    def __call__(self, request: AWSRequest, **kwargs: Any) -> AWSResponse | None:
        self.calls += 1
        if not self.on or self.answer is None:
            return None  # moto answers
        if isinstance(self.answer, Exception):
            raise self.answer
        status, code = self.answer
        body = json.dumps({"__type": code, "message": f"injected {code}"})
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "test"}
        return AWSResponse(request.url, status, headers, MockRawResponse(body))

    def install(self) -> None:
        """On the session every runtime's clients come from (made afterwards, at the first
        invocation), ahead of moto's own handler. registry.reset() forgets that session."""
        aws._session().events.register_first(
            "before-send.secrets-manager.GetSecretValue", self, unique_id="secret-outage"
        )


@pytest.fixture
def outage() -> Iterator[Outage]:
    yield Outage()
    registry.reset()


PERMANENT = {
    "access denied": (400, "AccessDeniedException"),
    "KMS key unusable": (400, "DecryptionFailure"),
}
TRANSIENT: dict[str, tuple[int, str] | Exception] = {
    "throttled": (400, "ThrottlingException"),
    "failing": (500, "InternalServiceError"),
    "unreachable": EndpointConnectionError(
        endpoint_url="https://secretsmanager.us-east-1.amazonaws.com/"
    ),
}


@pytest.fixture(params=list(PERMANENT.values()), ids=list(PERMANENT))
def refusal(outage: Outage, request: pytest.FixtureRequest) -> Outage:
    """An outage refusing the secret for good, once for each PERMANENT answer."""
    outage.answer = request.param
    return outage


@pytest.fixture(params=list(TRANSIENT.values()), ids=list(TRANSIENT))
def unreadable(outage: Outage, request: pytest.FixtureRequest) -> Outage:
    """An outage leaving the secret unreadable for now, once for each TRANSIENT answer."""
    outage.answer = request.param
    return outage


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the relay logged at WARNING or above (the trigger's own lines left out)."""
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and not r.name.startswith("relay_local")
    ]


def the_problem(caplog: pytest.LogCaptureFixture, level: int) -> str:
    """The message of the one problem logged, at `level` and without a traceback."""
    (line,) = problems(caplog)
    assert line.levelno == level
    assert line.exc_info is None
    return line.getMessage()


# --- the sync function: the LeadLex key ------------------------------------------------------


@pytest.fixture
def sync_function(
    aws_stack: LocalStack,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    outage: Outage,
) -> SandboxServer:
    """The sync function reading its key from Secrets Manager, as deployed."""
    deploy_sync_function(aws_stack, sandbox, monkeypatch)
    boto3.client("secretsmanager").create_secret(
        Name=KEY_SECRET, SecretString=os.environ["LEADLEX_API_KEY"]
    )
    monkeypatch.delenv("LEADLEX_API_KEY")
    monkeypatch.setenv("LEADLEX_API_KEY_SECRET_ID", KEY_SECRET)
    registry.reset()
    outage.install()
    return sandbox


def test_a_missing_key_secret_is_one_line_naming_the_setting(
    sync_function: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("LEADLEX_API_KEY_SECRET_ID", "leadlex/test/no-such-key")
    event = sqs_event(sync_function.create_contact(activities=3))

    returned = invoke(event)

    assert returned == [r["messageId"] for r in event["Records"]]
    message = the_problem(caplog, logging.ERROR)
    assert message.startswith(
        "configuration error: LEADLEX_API_KEY_SECRET_ID: secret leadlex/test/no-such-key "
        "cannot be read"
    )
    assert "ResourceNotFoundException" in message


def test_a_key_secret_refused_for_good_is_one_line_naming_the_setting(
    sync_function: SandboxServer, refusal: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    event = sqs_event(sync_function.create_contact(activities=3))

    returned = invoke(event)

    assert returned == [r["messageId"] for r in event["Records"]]
    message = the_problem(caplog, logging.ERROR)
    assert message.startswith("configuration error: LEADLEX_API_KEY_SECRET_ID: ")
    assert isinstance(refusal.answer, tuple)
    assert refusal.answer[1] in message
    assert refusal.calls == 1  # refused: not retried


def test_an_unreadable_key_secret_returns_the_batch_with_one_warning(
    sync_function: SandboxServer, unreadable: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    contacts = [sync_function.create_contact(activities=2) for _ in range(3)]
    event = sqs_event(*contacts)

    returned = invoke(event)

    # Every message returns to the queue; nothing was asked of LeadLex
    assert returned == [r["messageId"] for r in event["Records"]]
    assert sum(sync_function.listing_requests(c) for c in contacts) == 0
    message = the_problem(caplog, logging.WARNING)
    assert message.startswith("LEADLEX_API_KEY_SECRET_ID: secret leadlex/test/api-key")
    assert message.endswith("the batch's 3 message(s) return to the queue")
    assert unreadable.calls == 2  # botocore's one retry, then the batch returns at once

    # And once Secrets Manager answers again, the next batch syncs
    unreadable.on = False
    assert invoke(sqs_event(*contacts)) == []


# --- the retry horizon: the contact queue's visibility timeout x (maxReceiveCount - 1) ----------


def retry_horizon_seconds() -> int:
    """(MaxReceiveCount - 1) x the contact queue's visibility timeout, with the template's
    defaults: an outage shorter than this moves no contact to the dead-letter queue."""
    template = load_template()
    parameters = template["Parameters"]
    timeout = str(parameters["FunctionTimeout"]["Default"])
    visibility = template["Mappings"]["QueueVisibility"][timeout]["Seconds"]
    return int(visibility) * (int(parameters["MaxReceiveCount"]["Default"]) - 1)


def test_the_docs_state_the_retry_horizon_of_the_template() -> None:
    horizon = retry_horizon_seconds()
    text = re.sub(r"\s+", " ", GUARANTEES.read_text(encoding="utf-8"))

    assert horizon == 2640
    assert f"{horizon} s, {horizon // 60} minutes" in text


@pytest.mark.parametrize("outage_receives", ["below", "beyond"])
def test_an_outage_within_the_retry_horizon_moves_no_contact_to_the_dead_letter_queue(
    outage_receives: str,
    aws_stack: LocalStack,
    sync_function: SandboxServer,
    outage: Outage,
) -> None:
    # Given the template's contact queue and its redrive policy, and a contact on it
    sqs = boto3.client("sqs")
    contact = sync_function.create_contact(activities=5)
    sqs.send_message(QueueUrl=aws_stack.contact_queue_url, MessageBody=contact, DelaySeconds=0)
    # ... polled as Lambda does, each returned message visible again at once (instead of after
    # the visibility timeout: each receive stands for one visibility timeout of the outage),
    # one message a poll (else one poll would receive the returned message again at once)
    mapping = dataclasses.replace(EventSourceMapping.from_stack(aws_stack), batch_size=1)
    trigger = SqsTrigger(sqs, mapping, app.lambda_handler, visibility_timeout=0)
    max_receives = trigger.max_receive_count()
    assert max_receives == 5

    # When Secrets Manager is throttled for maxReceiveCount - 1 receives (or for all of them)
    outage.answer = TRANSIENT["throttled"]
    receives = max_receives - 1 if outage_receives == "below" else max_receives
    for _ in range(receives):
        result = trigger.poll_once()
        assert result is not None
        assert result.failed == result.received
    outage.on = False
    trigger.drain()

    dead_letters = sqs.receive_message(
        QueueUrl=aws_stack.dead_letter_queue_url, MaxNumberOfMessages=10
    ).get("Messages", [])
    if outage_receives == "below":
        # Then the receive after the outage syncs the contact, and nothing is dead-lettered
        assert dead_letters == []
        assert sync_function.listing_requests(contact) >= 1
    else:
        # (An outage as long as maxReceiveCount receives is past the horizon: SQS moves it.)
        assert [m["Body"] for m in dead_letters] == [contact]


# --- the receiver: the signing secret ------------------------------------------------------------


@pytest.fixture
def receiver(stack_factory: Any, monkeypatch: pytest.MonkeyPatch, outage: Outage) -> LocalStack:
    stack: LocalStack = stack_factory(parameter_overrides={"DeliveryDelaySeconds": 0})
    deploy_receiver(stack, monkeypatch)
    outage.install()
    return stack


def test_a_missing_signing_secret_is_one_line_naming_the_setting_and_a_500(
    receiver: LocalStack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LEADLEX_WEBHOOK_SECRET_ID", receiver.outputs["WebhookSecretArn"] + "-gone")
    registry.reset()
    body, signature = delivery()

    assert post(body, signature)["statusCode"] == 500
    assert queued(receiver) == []
    message = the_problem(caplog, logging.ERROR)
    assert message.startswith("configuration error: LEADLEX_WEBHOOK_SECRET_ID: secret ")
    assert "ResourceNotFoundException" in message


def test_a_signing_secret_refused_for_good_is_a_500_naming_the_setting(
    receiver: LocalStack, refusal: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    body, signature = delivery()

    assert post(body, signature)["statusCode"] == 500
    message = the_problem(caplog, logging.ERROR)
    assert message.startswith("configuration error: LEADLEX_WEBHOOK_SECRET_ID: ")


def test_an_unreadable_signing_secret_is_a_503_that_leadlex_retries(
    receiver: LocalStack, unreadable: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    body, signature = delivery()

    assert post(body, signature)["statusCode"] == 503
    assert queued(receiver) == []
    assert "LEADLEX_WEBHOOK_SECRET_ID" in the_problem(caplog, logging.WARNING)
    # Once Secrets Manager answers again, so does the receiver
    unreadable.on = False
    registry.reset()
    assert post(body, signature)["statusCode"] == 202


def test_a_flood_while_the_secret_is_unreadable_asks_secrets_manager_once(
    receiver: LocalStack, outage: Outage
) -> None:
    outage.answer = TRANSIENT["throttled"]
    body, _ = delivery()

    statuses = {post(body, "sha256=" + "0" * 64)["statusCode"] for _ in range(50)}

    assert statuses == {503}
    assert outage.calls == 3  # one read (botocore: three tries) for the 50 requests
