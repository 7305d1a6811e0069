"""EndpointStore: MemoryEndpointStore agrees with DynamoDbEndpointStore (the reference) on what
delivery relies on: enabled endpoints, health (first failure, streak), disabling, attempts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.core.webhooks_out.attempts import AttemptRecord
from activity_relay.core.webhooks_out.endpoints import Endpoint, new_endpoint_id
from activity_relay.core.webhooks_out.signing import SigningSecret, generate_secret
from relay_local.fakes.webhooks_out import MemoryEndpointStore
from relay_local.template import LocalStack
from tests.contract.conftest import FAKE, REAL, REGION

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

Store = MemoryEndpointStore | DynamoDbEndpointStore


@pytest.fixture(params=[FAKE, REAL])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "fake":
        return MemoryEndpointStore()
    stack: LocalStack = request.getfixturevalue("aws_stack")
    return DynamoDbEndpointStore(
        boto3.client("dynamodb", region_name=REGION), stack.outputs["WebhookEndpointTableName"]
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
    assert store.enabled_endpoints() == [added]
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


def test_a_disabled_endpoint_keeps_its_reason_and_leaves_the_enabled_list(store: Store) -> None:
    kept, gone = endpoint(), endpoint()
    store.add(kept)
    store.add(gone)

    store.disable(gone.endpoint_id, "the endpoint answered 410 Gone", T0)

    disabled = store.get(gone.endpoint_id)
    assert disabled is not None
    assert (disabled.enabled, disabled.disabled_reason) == (False, "the endpoint answered 410 Gone")
    assert store.enabled_endpoints() == [kept]


def test_health_updates_of_an_unknown_endpoint_change_nothing(store: Store) -> None:
    unknown = new_endpoint_id()

    assert store.record_failure(unknown, T0) is None
    store.record_success(unknown, T0)
    store.disable(unknown, "410", T0)

    assert store.get(unknown) is None
    assert store.enabled_endpoints() == []


def test_recorded_attempts_do_not_count_as_endpoints(store: Store) -> None:
    added = endpoint()
    store.add(added)

    store.record_attempt(AttemptRecord(added.endpoint_id, "act_1", 1, T0, 500, None, 12, "retry"))

    assert store.enabled_endpoints() == [added]
