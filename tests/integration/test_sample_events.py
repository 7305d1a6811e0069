"""events/: a sample event for each of the template's functions (for `sam local invoke -e`,
docs/local.md), each run here through its own handler on the template's stack, twice: every
sample is read as the event its handler expects, and still works the second time (none carries
a timestamp that makes a later run a no-op: SQS's SentTimestamp, LeadLex's envelope timestamp)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from activity_relay.core.contracts.contact_queue import InvalidMessage, read_body
from activity_relay.runtime import registry
from leadlex_sandbox import SandboxServer
from relay_local.embedded import function_handler
from relay_local.function_url import UrlContext
from relay_local.template import LocalStack, load_template
from tests.support import receiver
from tests.support.aws import drain, string_attributes
from tests.support.event_schema import assert_valid_event
from tests.support.lambdas import Subscribers, invoke, message_ids
from tests.support.webhook_functions import deploy_webhook_functions

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLES = {
    "SyncActivitiesFunction": (
        "sqs-plain-id.json",
        "sqs-json-body.json",
        "sqs-several-ids.json",
        "sqs-malformed.json",
    ),
    "SweepFunction": ("sweep-scheduled.json",),
    "ReceiveWebhooksFunction": ("receive-webhook.json",),
    "FanOutWebhooksFunction": ("fan-out-event.json",),
    "DeliverWebhooksFunction": ("deliver-webhook.json",),
}
"""The template's functions and their samples, as docs/local.md lists them."""
SAMPLE_SIGNING_SECRET = "sample-signing-secret"  # docs/local.md names it
SYNC_SAMPLES = [name for name in SAMPLES["SyncActivitiesFunction"] if name != "sqs-malformed.json"]


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return loaded


def contacts_named(event: dict[str, Any]) -> list[str]:
    return [read_body(record["body"]).contact_id for record in event["Records"]]


def test_every_function_has_a_sample_and_every_sample_a_function() -> None:
    functions = {
        logical_id
        for logical_id, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert set(SAMPLES) == functions
    listed = {name for names in SAMPLES.values() for name in names}
    on_disk = {path.name for path in EVENTS.glob("*.json")} - {"env.json"}
    assert on_disk == listed


def test_no_sample_carries_a_timestamp_that_makes_it_run_once() -> None:
    # SentTimestamp before the contact's last sync: that sync covered it (the sync coalesces)
    for names in (SAMPLES["SyncActivitiesFunction"], SAMPLES["FanOutWebhooksFunction"]):
        for name in names:
            for record in sample(name)["Records"]:
                assert "SentTimestamp" not in record["attributes"], name
    # An envelope timestamp older than the replay horizon (72 h) is refused with 400
    delivery = json.loads(sample("receive-webhook.json")["body"])
    assert "timestamp" not in delivery


@pytest.mark.parametrize("name", SYNC_SAMPLES)
def test_a_sync_sample_publishes_what_is_new_each_time_it_is_invoked(
    name: str, relay: Subscribers, sandbox: SandboxServer
) -> None:
    # Given the sample's contacts in LeadLex, with two activities each
    event = sample(name)
    contacts = sorted(set(contacts_named(event)))
    for contact in contacts:
        sandbox.create_contact(activities=2, contact_id=contact)

    # When the sample is invoked, then again after each contact logs one more activity
    assert invoke(event) == []
    first = relay.from_topic()
    added = {sandbox.add_activity(contact, activity_type="call")["id"] for contact in contacts}
    assert invoke(event) == []
    second = relay.from_topic()

    # Then each run publishes what was new: everything, then the added activities
    assert len(first) == 2 * len(contacts)
    assert {document["event_id"] for document in second} == added


def test_the_malformed_sample_is_dead_lettered_each_time(
    aws_stack: LocalStack, relay: Subscribers
) -> None:
    event = sample("sqs-malformed.json")
    for record in event["Records"]:
        with pytest.raises(InvalidMessage):
            read_body(record["body"])

    for _ in range(2):
        assert invoke(event) == []
        rejected = drain(relay.sqs, aws_stack.dead_letter_queue_url)
        assert sorted(string_attributes(m)["original_message_id"] for m in rejected) == sorted(
            message_ids(event)
        )


def test_the_sweep_sample_runs_the_sweep(
    aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in aws_stack.function_environment("SweepFunction").items():
        monkeypatch.setenv(variable, value)
    registry.reset()
    sweep = function_handler("sweep_deferred")

    for _ in range(2):
        summary = sweep(sample("sweep-scheduled.json"), UrlContext("SweepFunction", 60, 256))
        assert "error" not in summary
        assert summary["failed"] == 0


def test_the_receiver_sample_publishes_its_activity_once(
    aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the receiver deployed, its signing secret the one the sample is signed with
    receiver.deploy(aws_stack, monkeypatch)
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws_stack.outputs["WebhookSecretArn"], SecretString=SAMPLE_SIGNING_SECRET
    )
    subscribers = Subscribers(aws_stack)
    event = sample("receive-webhook.json")
    activity = json.loads(event["body"])["data"]["activity"]
    context = UrlContext("receive-webhooks", 8, 256)

    # When LeadLex delivers it, then delivers it again
    first = receiver.receive_app.lambda_handler(event, context)
    again = receiver.receive_app.lambda_handler(sample("receive-webhook.json"), context)

    # Then its activity is published once, at once; the repeat is answered 202 too
    assert (first["statusCode"], json.loads(first["body"])) == (202, {"published": activity["id"]})
    assert again["statusCode"] == 202
    assert json.loads(again["body"])["duplicate"] is True
    assert [d["event_id"] for d in subscribers.from_topic()] == [activity["id"]]


def test_the_webhook_out_samples_fan_out_and_settle_a_delivery(
    aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhooks = deploy_webhook_functions(aws_stack, monkeypatch)
    fan_out = function_handler("fan_out_webhooks")
    deliver = function_handler("deliver_webhooks")
    event = sample("fan-out-event.json")
    document = json.loads(event["Records"][0]["body"])
    assert_valid_event(document)
    delivery = sample("deliver-webhook.json")
    endpoint_id = string_attributes_of(delivery)["webhook_endpoint_id"]
    context = UrlContext("FanOutWebhooksFunction", 30, 256)

    for _ in range(2):
        # The fan-out keeps the event for replays, as published now (no endpoint to queue for)
        assert fan_out(event, context) == {"batchItemFailures": []}
        now = datetime.now(UTC)
        kept = webhooks.events_table.between(now - timedelta(hours=1), now + timedelta(minutes=1))
        assert document["event_id"] in {stored.event_id for stored in kept}
        # The delivery names an endpoint this stack does not have: dead-lettered, with why
        assert deliver(delivery, context) == {"batchItemFailures": []}
        (dead,) = webhooks.dead_letters()
        assert dead["reason"] == f"unknown endpoint {endpoint_id}"
        assert dead["event_id"] == document["event_id"]


def string_attributes_of(event: dict[str, Any]) -> dict[str, str]:
    (record,) = event["Records"]
    return {name: value["stringValue"] for name, value in record["messageAttributes"].items()}
