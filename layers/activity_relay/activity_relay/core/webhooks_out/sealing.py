"""Signing secrets at rest: sealed under the stack's key, bound to their endpoint, unsealed by
the delivery function only when it signs, and kept unsealed in memory for the container's life
(one decrypt per secret and container)."""

from __future__ import annotations

import logging
import threading

from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.ports import SecretSealer
from activity_relay.core.webhooks_out.signing import SealedSecret, SigningSecret, StoredSecret

logger = logging.getLogger(__name__)

CACHE_LIMIT = 1000
"""Unsealed secrets kept at most; the cache starts over beyond (endpoints are few)."""


def seal(sealer: SecretSealer, endpoint_id: str, secret: StoredSecret) -> SealedSecret:
    """`secret` sealed for `endpoint_id` (a sealed one as it is)."""
    if isinstance(secret, SealedSecret):
        return secret
    return SealedSecret(sealer.seal(endpoint_id, secret.value), secret.expires_at)


def is_sealed(endpoint: Endpoint) -> bool:
    return all(isinstance(secret, SealedSecret) for secret in endpoint.secrets)


class SecretKeeper:
    """The signing secrets of an endpoint in the clear, for signing one attempt."""

    def __init__(self, sealer: SecretSealer) -> None:
        self._sealer = sealer
        self._unsealed: dict[tuple[str, bytes], str] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def signing_secrets(self, endpoint: Endpoint) -> tuple[SigningSecret, ...]:
        """Raises what the sealer raises (the key out of reach, the context wrong)."""
        return tuple(self._clear(endpoint.endpoint_id, secret) for secret in endpoint.secrets)

    def _clear(self, endpoint_id: str, secret: StoredSecret) -> SigningSecret:
        if isinstance(secret, SigningSecret):
            if endpoint_id not in self._warned:
                self._warned.add(endpoint_id)
                logger.warning(
                    "the signing secret of %s is stored unsealed: run `relay webhooks migrate`",
                    endpoint_id,
                )
            return secret
        key = (endpoint_id, secret.ciphertext)
        with self._lock:
            value = self._unsealed.get(key)
        if value is None:
            value = self._sealer.unseal(endpoint_id, secret.ciphertext)
            with self._lock:
                if len(self._unsealed) >= CACHE_LIMIT:
                    self._unsealed.clear()
                self._unsealed[key] = value
        return SigningSecret(value, secret.expires_at)
