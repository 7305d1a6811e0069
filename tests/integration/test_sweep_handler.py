"""The sweep function's handler on moto, its table and queue provisioned from template.yaml."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from activity_relay.core.contracts.contact_queue import contact_id_from_body, read_body
from activity_relay.core.model import ContactState
from activity_relay.core.model.fingerprint import Fingerprint
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.runtime import registry
from relay_local.template import LocalStack
from tests.support.aws import drain
from tests.support.lambdas import LambdaContext
from tests.support.state_table import DynamoDbStateTable
from tests.support.sweep_function import SCHEDULED_EVENT, contact, quota, sweep_app

pytestmark = pytest.mark.integration


@pytest.fixture
def environment(aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    for name, value in aws_stack.function_environment("SweepFunction").items():
        monkeypatch.setenv(name, value)
    # Each test has its own moto: no adapters from an earlier test's.
    registry.reset()
    return aws_stack


@pytest.fixture
def store(environment: LocalStack) -> DynamoDbStateTable:
    return DynamoDbStateTable(boto3.client("dynamodb"), environment.table_name)


def queued(stack: LocalStack) -> list[str]:
    return [message["Body"] for message in drain(boto3.client("sqs"), stack.contact_queue_url)]


def test_after_the_reset_deferred_contacts_go_back_onto_the_contact_queue(
    environment: LocalStack, store: DynamoDbStateTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PACING", "off")  # first come, first served: the quota left at once
    # Given contacts deferred by yesterday's exhausted quota, whose window has since reset
    reset = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    store.record_quota(quota(0, reset))
    for number in range(12):
        store.defer(contact(number), reset)
    store.defer(contact(99), reset + timedelta(days=1))  # deferred by today's quota

    summary = sweep_app.lambda_handler(
        SCHEDULED_EVENT, LambdaContext(function_name="SweepFunction")
    )

    # Then every due contact is on the queue, as a bare id, paced at the template's default
    # of 10 a minute (the budget: 16 minutes' worth), and not due again for now
    assert summary == {"budget": 160, "deferred_enqueued": 12, "stale_enqueued": 0, "failed": 0}
    visible_now = queued(environment)
    assert len(visible_now) == 10
    assert set(visible_now) <= {contact(n) for n in range(12)}
    assert store.due(datetime.now(UTC), 100) == []
    assert contact(99) not in visible_now


def test_while_the_quota_is_spent_nothing_is_enqueued(
    environment: LocalStack, store: DynamoDbStateTable
) -> None:
    reset = datetime.now(UTC) + timedelta(hours=1)
    store.record_quota(quota(0, reset))
    store.defer(contact(1), reset)

    summary = sweep_app.lambda_handler(
        SCHEDULED_EVENT, LambdaContext(function_name="SweepFunction")
    )

    assert summary["budget"] == 0
    assert queued(environment) == []
    assert store.due(reset, 10) == [contact(1)]


def test_stale_contacts_within_what_the_quota_leaves(
    aws_stack: LocalStack, store: DynamoDbStateTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STALE_AFTER_HOURS", "24")
    monkeypatch.setenv("LEADLEX_QUOTA_RESERVE", "1")
    monkeypatch.setenv("PACING", "off")
    now = datetime.now(UTC)
    store.record_quota(quota(4, now + timedelta(hours=2)))
    store.defer(contact(1), now - timedelta(hours=1))
    for number in (2, 3, 4):
        store.save(
            ContactState(
                contact(number), Fingerprint(), last_sync_started_at=now - timedelta(days=2)
            )
        )

    summary = sweep_app.lambda_handler(
        SCHEDULED_EVENT, LambdaContext(function_name="SweepFunction")
    )

    # 4 remaining, 1 kept back: the deferred contact and two of the three stale ones
    assert summary == {"budget": 3, "deferred_enqueued": 1, "stale_enqueued": 2, "failed": 0}
    enqueued = queued(aws_stack)
    assert contact(1) in enqueued
    assert len(set(enqueued) & {contact(2), contact(3), contact(4)}) == 2


def test_a_bad_setting_is_one_error_line(
    environment: LocalStack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DEFAULT_DAILY_QUOTA", "lots")

    with caplog.at_level(logging.ERROR):
        summary = sweep_app.lambda_handler(
            SCHEDULED_EVENT, LambdaContext(function_name="SweepFunction")
        )

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "DEFAULT_DAILY_QUOTA" in errors[0]
    assert "DEFAULT_DAILY_QUOTA" in summary["error"]
    assert queued(environment) == []


# --- Pacing (issue 13): the sweep releases the waiting at the line's rate -----------------------


def test_paced_the_sweep_releases_the_longest_waiting_within_the_allowance_and_claims_it(
    environment: LocalStack, store: DynamoDbStateTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a day 12 h from its reset with 3 units more left than the line keeps
    monkeypatch.setenv("DEFAULT_DAILY_QUOTA", "1000")
    now = datetime.now(UTC)
    resets_at = now + timedelta(hours=12)
    # Kept 12 h before the reset: 250 for the last hour + 650 x 11/23 = 310.9, so 561; 3 more
    store.record_quota(
        QuotaSnapshot(limit=1000, remaining=564, resets_at=resets_at, observed_at=now)
    )
    for number in range(6):
        store.wait(contact(number), now - timedelta(minutes=10 - number))

    summary = sweep_app.lambda_handler(
        SCHEDULED_EVENT, LambdaContext(function_name="SweepFunction")
    )

    # Then the three that waited longest are released, with release bodies, at once
    assert summary == {"budget": 3, "deferred_enqueued": 3, "stale_enqueued": 0, "failed": 0}
    bodies = queued(environment)
    assert sorted(contact_id_from_body(b) for b in bodies) == [contact(n) for n in range(3)]
    assert all(read_body(b).released for b in bodies)
    # And claimed in the shared observation: the next run releases nobody
    claimed = store.load_quota()
    assert claimed is not None
    assert claimed.remaining == 561
    again = sweep_app.lambda_handler(SCHEDULED_EVENT, LambdaContext(function_name="SweepFunction"))
    assert again["deferred_enqueued"] == 0
    assert store.due(datetime.now(UTC), 10)[0] == contact(3)
