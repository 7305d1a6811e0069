"""The daily quota runs out mid-batch: nothing is lost, nothing reaches the DLQ, and everything
is published after the reset with no one acting — the sweep enqueues the deferred contacts.

Both functions run in-process under moto, as template.yaml declares them; LeadLex is the
sandbox with a tiny plan, over real HTTP.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from activity_relay.core.contracts.contact_queue import read_body
from activity_relay.core.quota.ports import QuotaSnapshot
from leadlex_sandbox import Plan, SandboxServer
from relay_local.template import LocalStack
from tests.support.aws import drain
from tests.support.lambdas import (
    LambdaContext,
    Subscribers,
    invoke,
    load_function,
    sqs_event,
)
from tests.support.state_table import DynamoDbStateTable

sweep_app = load_function("sweep_deferred")


def deliver(stack: LocalStack) -> dict[str, Any]:
    """What the SQS trigger would hand the sync function from the contact queue."""
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=stack.contact_queue_url,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])
    event = sqs_event(*(m["Body"] for m in messages))
    for record, message in zip(event["Records"], messages, strict=True):
        record["attributes"]["SentTimestamp"] = message["Attributes"]["SentTimestamp"]
    return event


@pytest.fixture
def relay(
    relay: Subscribers, aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> Subscribers:
    for name, value in aws_stack.function_environment("SweepFunction").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONTACT_CONCURRENCY", "1")  # which contacts the quota reaches is known
    return relay


def test_exhaustion_mid_batch_defers_and_the_sweep_finishes_after_the_reset(
    aws_stack: LocalStack,
    relay: Subscribers,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PACING", "off")  # first come, first served, then the midnight catch-up
    # Given a workspace whose day began yesterday by the sandbox's clock (so that its reset,
    # the next UTC midnight, is already past for the relay's real clock), 3 requests a day
    sandbox.clock.set(datetime.now(UTC) - timedelta(days=1))
    sandbox.plan = Plan("tiny", per_day=3, per_minute=100)
    contacts = [sandbox.create_contact(activities=2) for _ in range(5)]

    # When five contacts arrive in one batch
    assert invoke(sqs_event(*contacts)) == [], "every message is acknowledged"

    # Then three are published, two deferred, nothing is in the DLQ
    published = {d["contact_id"] for d in relay.from_topic()}
    assert len(published) == 3
    assert drain(relay.sqs, aws_stack.dead_letter_queue_url) == []
    deferred_items = boto3.client("dynamodb").scan(
        TableName=aws_stack.table_name, FilterExpression="attribute_exists(deferred_until)"
    )["Items"]
    assert {i["contact_id"]["S"] for i in deferred_items} == set(contacts) - published

    # When the window resets and the scheduled sweep runs
    sandbox.clock.advance(timedelta(days=1))
    summary = sweep_app.lambda_handler({}, LambdaContext(function_name="sweep"))
    assert summary["deferred_enqueued"] == 2

    # Then the deferred contacts come back through the queue and are published
    assert invoke(deliver(aws_stack)) == []
    assert {d["contact_id"] for d in relay.from_topic()} == set(contacts) - published
    everything = {a["id"] for contact in contacts for a in sandbox.activities(contact)}
    assert len(everything) == 10
    assert drain(relay.sqs, aws_stack.dead_letter_queue_url) == []


def test_a_sweep_never_enqueues_more_than_the_quota_left_can_serve(
    aws_stack: LocalStack,
    relay: Subscribers,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PACING", "off")
    sandbox.clock.set(datetime.now(UTC) - timedelta(days=1))
    sandbox.plan = Plan("tiny", per_day=2, per_minute=100)
    contacts = [sandbox.create_contact(activities=1) for _ in range(6)]
    invoke(sqs_event(*contacts))  # 2 synced, 4 deferred
    relay.from_topic()

    # A new day with a smaller plan: the sweep sees the last observation (limit 2)
    sandbox.clock.advance(timedelta(days=1))
    summary = sweep_app.lambda_handler({}, LambdaContext(function_name="sweep"))

    assert summary["budget"] == 2
    assert summary["deferred_enqueued"] == 2
    queued = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws_stack.contact_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert json.loads(queued) == 2


def test_a_persistent_per_minute_limit_returns_the_messages_without_burning_requests(
    relay: Subscribers, sandbox: SandboxServer
) -> None:
    # Given a plan allowing one request a minute, and three contacts in one batch; the sandbox
    # clock stands still, so its minute cannot roll over while the client backs off (seconds)
    sandbox.clock.set(sandbox.clock.now(), frozen=True)
    sandbox.plan = Plan("slow", per_day=1000, per_minute=1)
    contacts = [sandbox.create_contact(activities=1) for _ in range(3)]
    event = sqs_event(*contacts)

    # When the first sync spends the minute and the second meets 429s after backing off
    returned = invoke(event)

    # Then the first is acknowledged; the second and the one never started come back
    assert returned == [r["messageId"] for r in event["Records"][1:]]
    statuses = [r.status for r in sandbox.request_log]
    assert statuses[0] == 200
    assert set(statuses[1:]) == {429}, "the third contact cost no request"
    assert len(relay.from_topic()) == 1


# --- Pacing (issue 13): ahead of the line, contacts wait and the sweep releases them ------------


def test_paced_arrivals_wait_acknowledged_and_the_sweep_releases_them_to_be_synced(
    aws_stack: LocalStack, relay: Subscribers, sandbox: SandboxServer
) -> None:
    # Given a shared quota observation exactly on the day's line (12 h before its reset, 561
    # of 1,000 left: 250 held for the last hour + 650 x 11/23), which a cold container reads
    store = DynamoDbStateTable(boto3.client("dynamodb"), aws_stack.table_name)
    now = datetime.now(UTC)
    resets_at = now + timedelta(hours=12)
    store.record_quota(QuotaSnapshot(1000, 561, resets_at, now))
    contacts = [sandbox.create_contact(activities=2) for _ in range(3)]

    # When they arrive: every message acknowledged, no request, nothing published, all waiting
    assert invoke(sqs_event(*contacts)) == []
    assert relay.from_topic() == []
    assert [r for r in sandbox.request_log if "/activities" in r.path] == []
    assert sorted(store.due(datetime.now(UTC), 10)) == sorted(contacts)
    assert drain(relay.sqs, aws_stack.dead_letter_queue_url) == []

    # When the line moves 2 units ahead (another observation) and the sweep runs
    store.record_quota(QuotaSnapshot(1000, 563, resets_at, now + timedelta(seconds=1)))
    summary = sweep_app.lambda_handler({}, LambdaContext(function_name="sweep"))
    assert summary["deferred_enqueued"] == 2
    # claimed in the shared observation until a sync reports the quota again
    claimed = store.load_quota()
    assert claimed is not None
    assert claimed.remaining == 561

    # Then the two releases reach the relay, which syncs them although still behind the line
    event = deliver(aws_stack)
    assert len(event["Records"]) == 2
    assert all(read_body(record["body"]).released for record in event["Records"])
    assert invoke(event) == []
    published = {d["contact_id"] for d in relay.from_topic()}
    assert len(published) == 2
    assert published < set(contacts)
    assert len([r for r in sandbox.request_log if "/activities" in r.path]) == 2
    assert store.due(datetime.now(UTC), 10) == list(set(contacts) - published)
