"""What the CLI needs of the endpoint table beyond the EndpointStore port (whose cases run on
the fake and the real table in tests/contract/test_endpoint_store.py): enable, remove,
secrets, the attempts listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.core.webhooks_out.attempts import AttemptRecord
from activity_relay.core.webhooks_out.signing import SigningSecret, generate_secret
from relay_local.template import LocalStack
from tests.support.webhooks_out import make_endpoint

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(aws_stack: LocalStack, dynamodb: Any) -> DynamoDbEndpointStore:
    return DynamoDbEndpointStore(dynamodb, aws_stack.outputs["WebhookEndpointTableName"])


def test_disabling_and_enabling(store: DynamoDbEndpointStore) -> None:
    endpoint = make_endpoint()
    store.add(endpoint)
    store.record_failure(endpoint.endpoint_id, T0)

    store.disable(endpoint.endpoint_id, "the endpoint answered 410 Gone", T0)
    disabled = store.get(endpoint.endpoint_id)
    assert disabled is not None
    assert not disabled.enabled
    assert disabled.disabled_reason == "the endpoint answered 410 Gone"
    assert store.enabled_endpoints() == []

    assert store.enable(endpoint.endpoint_id)
    enabled = store.get(endpoint.endpoint_id)
    assert enabled is not None
    assert (enabled.enabled, enabled.disabled_reason, enabled.failure_streak) == (True, None, 0)


def test_updates_of_a_removed_endpoint_are_ignored(store: DynamoDbEndpointStore) -> None:
    endpoint = make_endpoint()
    store.add(endpoint)
    store.record_attempt(_attempt(endpoint.endpoint_id, 1))

    assert store.remove(endpoint.endpoint_id)

    assert store.get(endpoint.endpoint_id) is None
    assert store.attempts(endpoint.endpoint_id) == []
    assert store.record_failure(endpoint.endpoint_id, T0) is None
    assert not store.enable(endpoint.endpoint_id)
    assert not store.remove(endpoint.endpoint_id)


def test_secrets_are_replaced_with_their_expiry(store: DynamoDbEndpointStore) -> None:
    endpoint = make_endpoint()
    store.add(endpoint)
    rotated = endpoint.rotated(generate_secret(), T0, timedelta(hours=24))

    store.replace_secrets(endpoint.endpoint_id, rotated.secrets)

    stored = store.get(endpoint.endpoint_id)
    assert stored is not None
    assert stored.secrets == rotated.secrets
    assert stored.secrets[1] == SigningSecret(endpoint.secrets[0].value, T0 + timedelta(hours=24))


def test_attempts_list_newest_first(store: DynamoDbEndpointStore) -> None:
    endpoint = make_endpoint()
    store.add(endpoint)
    for attempt in (1, 2, 3):
        store.record_attempt(_attempt(endpoint.endpoint_id, attempt))

    attempts = store.attempts(endpoint.endpoint_id, limit=2)

    assert [(a.attempt, a.status) for a in attempts] == [(3, 200), (2, 500)]
    assert store.enabled_endpoints() == [endpoint]  # attempt items are not endpoints


def _attempt(endpoint_id: str, n: int) -> AttemptRecord:
    return AttemptRecord(
        endpoint_id=endpoint_id,
        event_id="act_1",
        attempt=n,
        at=T0 + timedelta(minutes=n),
        status=200 if n == 3 else 500,
        error=None,
        duration_ms=12,
        action="delivered" if n == 3 else "retry",
    )
