"""SecretSealer: FakeSealer agrees with KmsSecretSealer (the stack's KMS key on moto, the
reference): what is sealed for an endpoint unseals for it, and for no other."""

from __future__ import annotations

import pytest

from activity_relay.adapters.kms_secrets import KmsSecretSealer
from activity_relay.core.webhooks_out.endpoints import new_endpoint_id
from activity_relay.core.webhooks_out.signing import generate_secret
from relay_local.fakes.webhook_records import FakeSealer
from tests.contract.conftest import FAKE, REAL, fake_or_real

Sealer = FakeSealer | KmsSecretSealer


@pytest.fixture(params=[FAKE, REAL])
def sealer(request: pytest.FixtureRequest) -> Sealer:
    return fake_or_real(request, FakeSealer, KmsSecretSealer, "kms", "WebhookSecretKeyArn")


def test_a_sealed_secret_unseals_for_its_endpoint_and_does_not_show(sealer: Sealer) -> None:
    endpoint, secret = new_endpoint_id(), generate_secret()

    sealed = sealer.seal(endpoint, secret)

    assert secret.encode() not in sealed
    assert secret.removeprefix("whsec_").encode() not in sealed
    assert sealer.unseal(endpoint, sealed) == secret


def test_a_ciphertext_moved_to_another_endpoint_does_not_unseal(sealer: Sealer) -> None:
    sealed = sealer.seal(new_endpoint_id(), generate_secret())

    with pytest.raises(Exception, match="InvalidCiphertextException"):
        sealer.unseal(new_endpoint_id(), sealed)
