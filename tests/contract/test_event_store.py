"""EventStore: MemoryEventStore agrees with DynamoDbEventStore (the event table, the reference)
on keeping events and reading a time range back, oldest first, across hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from activity_relay.adapters.dynamodb.events import DynamoDbEventStore
from activity_relay.core.webhooks_out.ports import StoredEvent
from relay_local.fakes.webhook_records import MemoryEventStore
from relay_local.template import LocalStack
from tests.contract.conftest import FAKE, REAL, REGION

T0 = datetime(2026, 3, 1, 9, 59, 58, tzinfo=UTC)

Store = MemoryEventStore | DynamoDbEventStore


@pytest.fixture(params=[FAKE, REAL])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "fake":
        return MemoryEventStore()
    stack: LocalStack = request.getfixturevalue("aws_stack")
    return DynamoDbEventStore(
        boto3.client("dynamodb", region_name=REGION), stack.outputs["WebhookEventTableName"]
    )


def stored(n: int, at: datetime) -> StoredEvent:
    return StoredEvent(
        event_id=f"act_{n}",
        body=f'{{"event_id": "act_{n}", "n": "Ünï {n}"}}',
        published_at=at,
        attributes={"activity_type": "call", "event_type": "activity.created"},
        message_id=f"m{n}",
    )


def test_a_range_comes_back_oldest_first_across_hours_and_ends_exclusive(store: Store) -> None:
    events = [stored(n, T0 + timedelta(seconds=n)) for n in range(5)]  # 09:59:58 .. 10:00:02
    assert store.keep(list(reversed(events))) == []

    assert list(store.between(T0, T0 + timedelta(seconds=5))) == events
    assert [
        e.event_id for e in store.between(T0 + timedelta(seconds=1), events[3].published_at)
    ] == [
        "act_1",
        "act_2",
    ]
    assert list(store.between(T0 - timedelta(hours=3), T0)) == []


def test_the_same_message_kept_twice_is_one_event(store: Store) -> None:
    event = stored(1, T0)

    store.keep([event])
    store.keep([event])

    assert list(store.between(T0, T0 + timedelta(seconds=1))) == [event]


def test_more_than_a_call_s_worth_is_kept(store: Store) -> None:
    events = [stored(n, T0 + timedelta(milliseconds=n)) for n in range(60)]

    assert store.keep(events) == []

    assert len(list(store.between(T0, T0 + timedelta(seconds=1)))) == 60
