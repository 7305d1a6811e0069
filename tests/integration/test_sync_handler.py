"""The sync function end to end: Lambda-shaped SQS events in, events out to real subscribers.

AWS is moto in-process, provisioned from template.yaml; LeadLex is the sandbox over real HTTP.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

import app
from leadlex_sandbox import SandboxServer
from relay_local.template import LocalStack
from tests.support.aws import drain, subscribe_queue
from tests.support.lambdas import (
    LambdaContext,
    Subscribers,
    error_lines,
    invoke,
    message_ids,
    sent_seconds_ago,
    sqs_event,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_a_new_contact_is_published_in_full_to_both_subscribers(
    relay: Subscribers, sandbox: SandboxServer
) -> None:
    # Given a contact with 250 activities in LeadLex
    contact = sandbox.create_contact(activities=250)

    # When its id arrives
    assert invoke(sqs_event(contact)) == []

    # Then both subscribers receive each activity once, as the contract's document
    from_topic, from_bus = relay.from_topic(), relay.from_bus()
    expected = {a["id"]: a for a in sandbox.activities(contact)}
    assert sorted(d["event_id"] for d in from_topic) == sorted(expected)
    assert sorted(e["detail"]["event_id"] for e in from_bus) == sorted(expected)
    document = from_topic[0]
    assert document == {
        "schema_version": "1.0",
        "event_id": document["event_id"],
        "event_type": "activity.created",
        "contact_id": contact,
        "activity_type": expected[document["event_id"]]["activity_type"],
        "occurred_at": expected[document["event_id"]]["created_date"],
        "activity": expected[document["event_id"]],
        "origin": "poll",
    }
    assert {(e["source"], e["detail-type"]) for e in from_bus} == {
        ("leadlex.activities", "activity.created")
    }
    assert sandbox.listing_requests(contact) == 3


def test_only_what_is_new_arrives_afterwards(relay: Subscribers, sandbox: SandboxServer) -> None:
    contact = sandbox.create_contact(activities=120)
    invoke(sqs_event(contact))
    relay.from_topic()
    relay.from_bus()
    sandbox.reset_stats()

    # Given five new activities and one dated two years back
    new = [sandbox.add_activity(contact)["id"] for _ in range(5)]
    backdated = sandbox.add_activity(contact, created_date="2024-06-01T09:30:00Z")["id"]

    # When the contact is enqueued again, twice in one batch
    assert invoke(sqs_event(contact, f'{{"contact_id": "{contact}"}}')) == []

    # Then exactly those six arrive, oldest first, once
    from_topic = [d["event_id"] for d in relay.from_topic()]
    assert sorted(from_topic) == sorted([*new, backdated])
    assert len(relay.from_bus()) == 6


def test_an_sns_filter_policy_on_activity_type_selects(
    aws_stack: LocalStack, relay: Subscribers, sandbox: SandboxServer
) -> None:
    calls_only = subscribe_queue(
        boto3.client("sns"),
        relay.sqs,
        aws_stack.topic_arn,
        "calls-only",
        RawMessageDelivery="true",
        FilterPolicy=json.dumps({"activity_type": ["call"]}),
    )
    contact = sandbox.create_contact(activities=40)
    invoke(sqs_event(contact))

    received = [json.loads(m["Body"]) for m in drain(relay.sqs, calls_only)]
    calls = [a["id"] for a in sandbox.activities(contact) if a["activity_type"] == "call"]
    assert calls, "the seeded history has calls"
    assert sorted(d["event_id"] for d in received) == sorted(calls)


def test_the_type_field_is_understood_under_either_name(
    relay: Subscribers, sandbox: SandboxServer
) -> None:
    sandbox.type_field = "type"
    contact = sandbox.create_contact(activities=3)
    invoke(sqs_event(contact))
    documents = relay.from_topic()
    assert {d["activity_type"] for d in documents} == {d["activity"]["type"] for d in documents}
    assert all(d["activity_type"] for d in documents)


def test_malformed_messages_go_to_the_dead_letter_queue_with_their_reason(
    aws_stack: LocalStack, relay: Subscribers, sandbox: SandboxServer
) -> None:
    event = json.loads((EVENTS / "sqs-malformed.json").read_text())
    contact = sandbox.create_contact(activities=2)
    event["Records"].append(sqs_event(contact)["Records"][0])

    assert invoke(event) == []

    rejected = drain(relay.sqs, aws_stack.dead_letter_queue_url)
    malformed = event["Records"][:-1]
    assert len(rejected) == len(malformed)
    assert {m["Body"] for m in rejected} == {r["body"] or "(empty body)" for r in malformed}
    assert all(m["MessageAttributes"]["rejection_reason"]["StringValue"] for m in rejected)
    assert len(relay.from_topic()) == 2, "the valid message in the same batch went through"


def test_an_unknown_contact_is_acknowledged_and_recorded(
    aws_stack: LocalStack, relay: Subscribers
) -> None:
    unknown = str(uuid.uuid4())
    assert invoke(sqs_event(unknown)) == []
    item = boto3.client("dynamodb").get_item(
        TableName=aws_stack.table_name, Key={"contact_id": {"S": unknown}}
    )["Item"]
    assert "not_found_at" in item


def test_a_refused_key_returns_every_message_with_one_error_line(
    relay: Subscribers,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    revoked = sandbox.create_key()
    sandbox.revoke_key(revoked)
    monkeypatch.setenv("LEADLEX_API_KEY", revoked)
    monkeypatch.setenv("CONTACT_CONCURRENCY", "2")
    contacts = [sandbox.create_contact(activities=1) for _ in range(6)]
    event = sqs_event(*contacts)

    assert invoke(event) == message_ids(event)

    # Only the contacts already in flight asked; the rest of the batch cost nothing
    assert sandbox.total_requests <= 2
    errors = error_lines(caplog)
    assert len(errors) == 1
    assert "refused the API key" in errors[0]
    assert not any(record.exc_info for record in caplog.records), "no stack trace"
    assert revoked not in caplog.text


def test_a_transient_failure_returns_only_its_own_message(
    relay: Subscribers, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACT_CONCURRENCY", "1")  # so that the first request is flaky's
    healthy = sandbox.create_contact(activities=2)
    flaky = sandbox.create_contact(activities=2)
    event = sqs_event(flaky, healthy)
    sandbox.faults.malform_next(1)  # the first listing request: flaky's

    assert invoke(event) == message_ids(event)[:1]
    assert {d["contact_id"] for d in relay.from_topic()} == {healthy}

    # When the message comes back, the contact is synced
    assert invoke(sqs_event(flaky)) == []
    assert {d["contact_id"] for d in relay.from_topic()} == {flaky}


def test_a_missing_setting_is_one_error_line_naming_it(
    relay: Subscribers,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("WATERMARK_TABLE_NAME")
    event = sqs_event(sandbox.create_contact())

    assert invoke(event) == message_ids(event)

    errors = error_lines(caplog)
    assert len(errors) == 1
    assert "WATERMARK_TABLE_NAME" in errors[0]
    assert not any(record.exc_info for record in caplog.records), "no stack trace"
    assert sandbox.total_requests == 0


def test_a_message_sent_before_the_last_sync_costs_no_request(
    relay: Subscribers, sandbox: SandboxServer
) -> None:
    contact = sandbox.create_contact(activities=3)
    # sent 1.5 s before the sync began: beyond the coalescing margin for clock skew
    before_the_sync = sent_seconds_ago(sqs_event(contact), 1.5)
    invoke(sqs_event(contact))
    sandbox.reset_stats()

    assert invoke(before_the_sync) == []
    assert sandbox.total_requests == 0


def test_no_contact_is_started_when_the_invocation_is_nearly_over(
    relay: Subscribers, sandbox: SandboxServer
) -> None:
    event = sqs_event(*(sandbox.create_contact(activities=1) for _ in range(3)))

    @dataclass
    class NearlyOver(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 900

    response = app.lambda_handler(event, NearlyOver())

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == message_ids(event)
    assert sandbox.total_requests == 0
