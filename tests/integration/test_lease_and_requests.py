"""Two invocations on one contact at once, and the requests a sync reports: the sync function
on moto (from template.yaml) with the LeadLex sandbox over real HTTP.

The two invocations overlap for certain: the second starts once the sandbox has received the
first one's page request, which the sandbox then holds for a second (`faults.latency`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from leadlex_sandbox import SandboxServer
from relay_local.template import LocalStack
from tests.support.lambdas import (
    Subscribers,
    invoke,
    sent_seconds_ago,
    sqs_event,
)


def contact_with_30_new(
    relay: Subscribers, sandbox: SandboxServer, stack: LocalStack
) -> tuple[str, set[str]]:
    """A contact synced an hour ago, with 30 activities logged since."""
    contact = sandbox.create_contact(activities=5)
    assert invoke(sqs_event(contact)) == []
    relay.from_topic()
    relay.from_bus()
    # An hour ago, so that no message of the test counts as covered by that sync
    boto3.client("dynamodb").update_item(
        TableName=stack.table_name,
        Key={"contact_id": {"S": contact}},
        UpdateExpression="SET last_sync_started_at = :started",
        ExpressionAttributeValues={":started": {"S": iso(time.time() - 3600)}},
    )
    return contact, {sandbox.add_activity(contact)["id"] for _ in range(30)}


def while_first_reads(
    sandbox: SandboxServer, contact: str, second: Callable[[], list[str]]
) -> tuple[list[str], list[str]]:
    """Invoke the handler for `contact` in a thread; once the sandbox holds its page request,
    call `second()`. Both invocations' returned message ids."""
    sandbox.faults.latency = 1.0
    before = sandbox.listing_requests(contact)
    first: list[list[str]] = []
    thread = threading.Thread(target=lambda: first.append(invoke(sqs_event(contact))))
    thread.start()
    deadline = time.monotonic() + 10
    while sandbox.listing_requests(contact) == before:
        assert time.monotonic() < deadline, "the first invocation never asked for a page"
        time.sleep(0.005)
    returned = second()
    thread.join(timeout=30)
    sandbox.faults.latency = 0.0
    return first[0], returned


def delayed_on_contact_queue(stack: LocalStack) -> tuple[int, int]:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.contact_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesDelayed"]),
    )


# --- One sync of a contact at a time ---------------------------------------------------------


def test_a_message_sent_while_another_invocation_syncs_goes_back_delayed_and_nothing_twice(
    relay: Subscribers, sandbox: SandboxServer, aws_stack: LocalStack
) -> None:
    # Given a contact with 30 new activities, and a webhook's message sent while a first
    # invocation syncs it
    contact, new = contact_with_30_new(relay, sandbox, aws_stack)

    # When a second invocation receives that message
    first, second = while_first_reads(sandbox, contact, lambda: invoke(sqs_event(contact)))

    # Then neither message comes back through a failure, each activity is published once, the
    # second spent no request, and the contact waits on its queue, delayed, for a later sync
    assert (first, second) == ([], [])
    topic = [d["event_id"] for d in relay.from_topic()]
    bus = [e["detail"]["event_id"] for e in relay.from_bus()]
    assert sorted(topic) == sorted(bus) == sorted(new)
    assert sandbox.listing_requests(contact) == 2  # the first sync's page 1, once
    assert delayed_on_contact_queue(aws_stack) == (0, 1)


def test_a_message_sent_before_the_other_invocation_began_is_acknowledged_as_covered(
    relay: Subscribers, sandbox: SandboxServer, aws_stack: LocalStack
) -> None:
    contact, new = contact_with_30_new(relay, sandbox, aws_stack)
    # A webhook's message sent 5 s before the first invocation began
    early = sent_seconds_ago(sqs_event(contact), 5)

    first, second = while_first_reads(sandbox, contact, lambda: invoke(early))

    assert (first, second) == ([], [])
    assert sorted(d["event_id"] for d in relay.from_topic()) == sorted(new)
    assert sorted(e["detail"]["event_id"] for e in relay.from_bus()) == sorted(new)
    assert delayed_on_contact_queue(aws_stack) == (0, 0)  # covered: nothing enqueued


def test_a_lease_left_by_a_killed_invocation_expires_by_its_deadline(
    relay: Subscribers, sandbox: SandboxServer, aws_stack: LocalStack
) -> None:
    contact, new = contact_with_30_new(relay, sandbox, aws_stack)
    table = boto3.client("dynamodb")

    def leave_lease(deadline_in_seconds: float) -> None:
        # What an invocation killed mid-sync leaves: its lease, never released
        now = time.time()
        table.update_item(
            TableName=aws_stack.table_name,
            Key={"contact_id": {"S": contact}},
            UpdateExpression="SET lease_holder = :h, lease_taken_at = :t, lease_expires_at = :e",
            ExpressionAttributeValues={
                ":h": {"S": uuid.uuid4().hex},
                ":t": {"S": iso(now - 30)},
                ":e": {"S": iso(now + deadline_in_seconds)},
            },
        )

    # Given a lease whose holder's deadline is 20 s away: the contact waits, delayed past it
    leave_lease(20)
    assert invoke(sqs_event(contact)) == []
    assert relay.from_topic() == []
    assert sandbox.listing_requests(contact) == 1  # only the set-up's first sync
    assert delayed_on_contact_queue(aws_stack) == (0, 1)

    # Given one whose holder's deadline has passed: the next sync proceeds
    leave_lease(-1)
    assert invoke(sqs_event(contact)) == []
    assert sorted(d["event_id"] for d in relay.from_topic()) == sorted(new)
    item = table.get_item(TableName=aws_stack.table_name, Key={"contact_id": {"S": contact}})
    assert "lease_holder" not in item["Item"]


def iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


# --- Every request counted -------------------------------------------------------------------


def leadlex_requests_metric(output: str) -> list[int]:
    """The LeadLexRequests values of the EMF documents the handler printed."""
    values: list[int] = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            if "LeadLexRequests" in document:
                value = document["LeadLexRequests"]
                values.extend(value if isinstance(value, list) else [value])
    return [int(v) for v in values]


def test_a_404_reports_the_request_it_spent(
    relay: Subscribers, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(uuid.uuid4())
    capsys.readouterr()

    assert invoke(sqs_event(missing)) == []

    assert sandbox.listing_requests(missing) == 1
    assert leadlex_requests_metric(capsys.readouterr().out) == [1]


def test_a_sync_that_fails_midway_reports_every_request_retries_included(
    relay: Subscribers, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a contact of two pages whose second page fails on every attempt (1 + 3 retries)
    contact = sandbox.create_contact(activities=150)

    def fail_after_page_one(served: Any) -> None:
        if served.contact_id == contact and served.page == 1:
            sandbox.faults.fail_next(4, status=503)

    sandbox.on_page_served(fail_after_page_one)
    capsys.readouterr()
    event = sqs_event(contact)

    # When its message is processed, it comes back, and the metric says what LeadLex received
    assert invoke(event) == [event["Records"][0]["messageId"]]
    assert sandbox.listing_requests(contact) == 5
    assert leadlex_requests_metric(capsys.readouterr().out) == [5]


def test_retried_requests_of_a_successful_sync_are_counted(
    relay: Subscribers, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    contact = sandbox.create_contact(activities=20)
    sandbox.faults.fail_next(2, status=503)
    capsys.readouterr()

    assert invoke(sqs_event(contact)) == []

    assert sandbox.listing_requests(contact) == 3
    assert leadlex_requests_metric(capsys.readouterr().out) == [3]
