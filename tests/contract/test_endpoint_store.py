"""EndpointStore: MemoryEndpointStore agrees with DynamoDbEndpointStore (the reference) on what
fan-out and delivery rely on: the endpoint list (disabled ones in it, removed ones not), health
(first failure, streak), disabling, removal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.core.webhooks_out.endpoints import Endpoint, new_endpoint_id
from activity_relay.core.webhooks_out.signing import SigningSecret, generate_secret
from relay_local.fakes.webhooks_out import MemoryEndpointStore
from tests.contract.conftest import FAKE, REAL, fake_or_real

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

Store = MemoryEndpointStore | DynamoDbEndpointStore


@pytest.fixture(params=[FAKE, REAL])
def store(request: pytest.FixtureRequest) -> Store:
    return fake_or_real(
        request, MemoryEndpointStore, DynamoDbEndpointStore, "dynamodb", "WebhookEndpointTableName"
    )


def endpoint(**fields: object) -> Endpoint:
    made = Endpoint(
        endpoint_id=new_endpoint_id(),
        url="https://hooks.example.com/in",
        secrets=(SigningSecret(generate_secret(), T0 + timedelta(days=1)),),
        filter_policy={"activity_type": ["call"]},
        description="CRM",
        created_at=T0,
    )
    return replace(made, **fields)  # type: ignore[arg-type]


def test_an_added_endpoint_reads_back_whole_and_is_enabled(store: Store) -> None:
    added = endpoint()
    store.add(added)

    assert store.get(added.endpoint_id) == added
    assert store.endpoints() == [added]
    assert store.get(new_endpoint_id()) is None


def test_failures_count_up_from_the_first_until_a_success(store: Store) -> None:
    added = endpoint()
    store.add(added)

    first = store.record_failure(added.endpoint_id, T0)
    second = store.record_failure(added.endpoint_id, T0 + timedelta(hours=1))

    assert first is not None
    assert second is not None
    assert (first.first_failure_at, first.failure_streak) == (T0, 1)
    assert (second.first_failure_at, second.failure_streak) == (T0, 2)
    store.record_success(added.endpoint_id, T0 + timedelta(hours=2))
    healed = store.get(added.endpoint_id)
    assert healed is not None
    assert (healed.first_failure_at, healed.failure_streak) == (None, 0)


def test_a_disabled_endpoint_keeps_its_reason_and_stays_in_the_list(store: Store) -> None:
    kept, gone = endpoint(), endpoint()
    store.add(kept)
    store.add(gone)

    store.disable(gone.endpoint_id, "the endpoint answered 410 Gone", T0)

    disabled = store.get(gone.endpoint_id)
    assert disabled is not None
    assert (disabled.enabled, disabled.disabled_reason) == (False, "the endpoint answered 410 Gone")
    assert disabled.disabled_at == T0
    # Its events are still fanned out to it: the deliverer parks them until it is enabled
    assert sorted(e.endpoint_id for e in store.endpoints()) == sorted(
        [kept.endpoint_id, gone.endpoint_id]
    )


def test_failures_are_counted_in_one_write_per_batch(store: Store) -> None:
    added = endpoint()
    store.add(added)

    counted = store.record_failure(added.endpoint_id, T0, 3)

    assert counted is not None
    assert (counted.first_failure_at, counted.failure_streak) == (T0, 3)


def test_a_removed_endpoint_leaves_the_list_and_reads_as_removed(store: Store) -> None:
    added = endpoint()
    store.add(added)

    assert store.remove(added.endpoint_id, T0)

    removed = store.get(added.endpoint_id)
    assert removed is not None
    assert removed.removed
    assert store.endpoints() == []
    assert store.record_failure(added.endpoint_id, T0) is None


def test_health_updates_of_an_unknown_endpoint_change_nothing(store: Store) -> None:
    unknown = new_endpoint_id()

    assert store.record_failure(unknown, T0) is None
    store.record_success(unknown, T0)
    store.disable(unknown, "410", T0)

    assert store.get(unknown) is None
    assert store.endpoints() == []
