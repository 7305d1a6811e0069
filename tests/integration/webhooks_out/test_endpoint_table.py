"""What the CLI needs of the endpoint table beyond the EndpointStore port (whose cases run on
the fake and the real table in tests/contract/test_endpoint_store.py): enable, remove (a
tombstone), sealed secrets and the migration of those stored in the clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.core.webhooks_out.signing import SealedSecret, SigningSecret
from relay_local.template import LocalStack
from tests.support.webhooks_out import FakeSealer, make_endpoint, sealed_endpoint

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def dynamodb(aws_stack: LocalStack) -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


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
    assert (disabled.enabled, disabled.disabled_at) == (False, T0)
    assert disabled.disabled_reason == "the endpoint answered 410 Gone"
    # A disabled endpoint still gets its events fanned out (they are parked for it)
    assert [e.endpoint_id for e in store.endpoints()] == [endpoint.endpoint_id]

    assert store.enable(endpoint.endpoint_id)
    enabled = store.get(endpoint.endpoint_id)
    assert enabled is not None
    assert (enabled.enabled, enabled.disabled_reason, enabled.failure_streak) == (True, None, 0)


def test_a_removed_endpoint_leaves_a_tombstone_that_nothing_updates(
    store: DynamoDbEndpointStore, dynamodb: Any, aws_stack: LocalStack
) -> None:
    endpoint = make_endpoint()
    store.add(endpoint)

    assert store.remove(endpoint.endpoint_id, T0)

    tombstone = store.get(endpoint.endpoint_id)
    assert tombstone is not None
    assert (tombstone.removed, tombstone.enabled, tombstone.url, tombstone.secrets) == (
        True,
        False,
        "",
        (),
    )
    assert store.endpoints() == []
    assert store.record_failure(endpoint.endpoint_id, T0) is None
    assert not store.enable(endpoint.endpoint_id)
    assert not store.remove(endpoint.endpoint_id, T0)
    item = dynamodb.get_item(
        TableName=aws_stack.outputs["WebhookEndpointTableName"],
        Key={"endpoint_id": {"S": endpoint.endpoint_id}, "item": {"S": "endpoint"}},
    )["Item"]
    assert int(item["expires_at"]["N"]) == int((T0 + timedelta(days=5)).timestamp())


def test_sealed_secrets_are_stored_as_ciphertext_only(
    store: DynamoDbEndpointStore, dynamodb: Any, aws_stack: LocalStack
) -> None:
    endpoint, secret = sealed_endpoint(FakeSealer())
    store.add(endpoint)

    item = dynamodb.get_item(
        TableName=aws_stack.outputs["WebhookEndpointTableName"],
        Key={"endpoint_id": {"S": endpoint.endpoint_id}, "item": {"S": "endpoint"}},
    )["Item"]
    assert "secrets" not in item
    assert secret.encode() not in repr(item).encode()
    assert store.get(endpoint.endpoint_id) == endpoint


def test_rotated_secrets_are_stored_with_their_expiry(store: DynamoDbEndpointStore) -> None:
    sealer = FakeSealer()
    endpoint, _ = sealed_endpoint(sealer)
    store.add(endpoint)
    new = SealedSecret(sealer.seal(endpoint.endpoint_id, "whsec_new"))
    rotated = endpoint.rotated(new, T0, timedelta(hours=24))

    assert store.replace_secrets(endpoint.endpoint_id, rotated.secrets)

    stored = store.get(endpoint.endpoint_id)
    assert stored is not None
    assert stored.secrets == rotated.secrets
    assert stored.secrets[1].expires_at == T0 + timedelta(hours=24)


def test_migration_seals_secrets_in_the_clear_once(store: DynamoDbEndpointStore) -> None:
    # Given an endpoint registered before sealing: its secret in the clear
    legacy = make_endpoint(secrets=(SigningSecret("whsec_" + "A" * 44, T0),))
    store.add(legacy)
    sealed = (SealedSecret(b"ciphertext", T0),)

    assert store.replace_secrets(legacy.endpoint_id, sealed, only_unsealed=True)
    # A second migration (or one racing a rotation) changes nothing
    assert not store.replace_secrets(legacy.endpoint_id, (SealedSecret(b"x"),), only_unsealed=True)

    stored = store.get(legacy.endpoint_id)
    assert stored is not None
    assert stored.secrets == sealed


def test_attempt_rows_of_the_old_layout_are_listed_for_deletion_and_not_endpoints(
    store: DynamoDbEndpointStore, dynamodb: Any, aws_stack: LocalStack
) -> None:
    endpoint = make_endpoint()
    store.add(endpoint)
    table = aws_stack.outputs["WebhookEndpointTableName"]
    dynamodb.put_item(
        TableName=table,
        Item={
            "endpoint_id": {"S": endpoint.endpoint_id},
            "item": {"S": "attempt#2026-03-01T09:00:00+00:00#act_1#1"},
            "event_id": {"S": "act_1"},
        },
    )

    assert store.endpoints() == [endpoint]
    (legacy,) = store.legacy_items()
    store.delete_item(legacy)
    assert list(store.legacy_items()) == []
    assert store.endpoints() == [endpoint]
