"""Signatures are checked with the `standardwebhooks` library's verifier (a verifier nobody
here wrote), the one docs/subscribe.md tells receivers to use."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from activity_relay.core.webhooks_out.ports import WebhookConfigError
from activity_relay.core.webhooks_out.signing import (
    SigningSecret,
    check_secret,
    delivery_headers,
    generate_secret,
)
from tests.support.webhooks_out import make_endpoint

BODY = json.dumps({"event_id": "act_1", "event_type": "activity.created", "activity": {"x": "é"}})


def now() -> datetime:
    return datetime.now(UTC)


def test_a_delivery_verifies_with_the_standard_webhooks_library() -> None:
    secret = generate_secret()
    headers = delivery_headers((SigningSecret(secret),), "act_1", now(), BODY)

    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    assert headers["webhook-id"] == "act_1"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")


def test_a_tampered_body_fails_verification() -> None:
    secret = generate_secret()
    headers = delivery_headers((SigningSecret(secret),), "act_1", now(), BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("act_1", "act_2"), headers)


def test_a_stale_timestamp_fails_verification() -> None:
    # Given a delivery signed ten minutes ago (the library tolerates five)
    secret = generate_secret()
    headers = delivery_headers(
        (SigningSecret(secret),), "act_1", now() - timedelta(minutes=10), BODY
    )

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers)


def test_another_secret_does_not_verify() -> None:
    headers = delivery_headers((SigningSecret(generate_secret()),), "act_1", now(), BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    # Given an endpoint whose secret was just rotated with a day's grace
    old = generate_secret()
    endpoint = make_endpoint(secrets=(SigningSecret(old),))
    new = generate_secret()
    rotated = endpoint.rotated(SigningSecret(new), now(), timedelta(days=1))

    headers = delivery_headers(rotated.secrets, "act_1", now(), BODY)

    # Then two signatures go out, and a receiver holding either secret accepts the delivery
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)


def test_after_the_grace_period_only_the_new_secret_signs() -> None:
    old, new = generate_secret(), generate_secret()
    start = now() - timedelta(days=2)
    rotated = make_endpoint(secrets=(SigningSecret(old),)).rotated(
        SigningSecret(new), start, timedelta(days=1)
    )

    headers = delivery_headers(rotated.secrets, "act_1", now(), BODY)

    assert len(headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, headers)


def test_rotating_twice_keeps_at_most_two_secrets() -> None:
    endpoint = make_endpoint()
    first = endpoint.rotated(SigningSecret(generate_secret()), now(), timedelta(hours=1))
    second = first.rotated(SigningSecret(generate_secret()), now(), timedelta(hours=1))

    assert len(second.secrets) == 2
    assert second.secrets[1].value == first.secrets[0].value


def test_a_new_secret_is_whsec_and_base64_of_32_random_bytes() -> None:
    secret = generate_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert generate_secret() != secret
    check_secret(secret)


@given(st.binary(min_size=24, max_size=64))
def test_any_secret_of_24_to_64_bytes_is_accepted(key: bytes) -> None:
    check_secret("whsec_" + base64.b64encode(key).decode())


@pytest.mark.parametrize(
    "secret",
    ["whsec_" + base64.b64encode(b"x" * 23).decode(), "whsec_!!!", "sk_" + "A" * 44],
)
def test_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(WebhookConfigError):
        check_secret(secret)
