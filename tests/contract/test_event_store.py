"""EventStore: MemoryEventStore agrees with DynamoDbEventStore (the event table, the reference)
on keeping events and reading a time range back, oldest first, across hours."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from activity_relay.adapters.dynamodb.events import DynamoDbEventStore
from activity_relay.core.webhooks_out.ports import StoredEvent
from relay_local.fakes.webhook_records import MemoryEventStore
from tests.contract.conftest import FAKE, REAL, fake_or_real

T0 = datetime(2026, 3, 1, 9, 59, 58, tzinfo=UTC)
HOUR = timedelta(hours=1)

Store = MemoryEventStore | DynamoDbEventStore


@pytest.fixture(params=[FAKE, REAL])
def store(request: pytest.FixtureRequest) -> Store:
    return fake_or_real(
        request, MemoryEventStore, DynamoDbEventStore, "dynamodb", "WebhookEventTableName"
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


def published(
    event_id: str, contact: str, at: datetime, message_id: str, origin: str
) -> StoredEvent:
    document = {"event_id": event_id, "contact_id": contact, "origin": origin, "occurred_at": "t"}
    return StoredEvent(
        event_id=event_id,
        body=json.dumps(document),
        published_at=at,
        attributes={"activity_type": "call", "contact_id": contact},
        message_id=message_id,
    )


def test_an_event_s_publications_and_a_contact_s_events_are_found(store: Store) -> None:
    contact, other = str(uuid.uuid4()), str(uuid.uuid4())
    event_id = f"act_{uuid.uuid4()}"
    again = T0 + timedelta(hours=2)
    store.keep(
        [
            published(event_id, contact, T0, "m1", "webhook"),
            published(event_id, contact, again, "m2", "poll"),  # published again, same id
            published(f"{event_id}_x", other, T0, "m3", "poll"),
        ]
    )

    found = store.publications(event_id)

    assert [(p.published_at, p.message_id, p.origin) for p in found] == [
        (T0, "m1", "webhook"),
        (again, "m2", "poll"),
    ]
    assert found[0].contact_id == contact
    assert found[0].activity_type == "call"
    assert found[0].occurred_at == "t"
    listed = store.publications_of_contact(contact, T0 + timedelta(hours=1), again + HOUR)
    assert [p.message_id for p in listed] == ["m2"]
    assert store.publications("act_never") == []
    # the index items stay out of time ranges
    assert [e.message_id for e in store.between(T0, T0 + HOUR) if e.event_id == event_id] == ["m1"]
