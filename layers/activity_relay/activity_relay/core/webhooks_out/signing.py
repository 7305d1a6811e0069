"""Signing secrets and Standard Webhooks 1.0 signatures: each attempt signed afresh."""

from __future__ import annotations

import base64
import binascii
import math
import secrets as _secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from standardwebhooks import Webhook

from activity_relay.core.webhooks_out.ports import WebhookConfigError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32
"""Random bytes in a new secret (Standard Webhooks allows 24-64)."""


def generate_secret(token_bytes: Callable[[int], bytes] = _secrets.token_bytes) -> str:
    """`whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode()


def check_secret(secret: str) -> None:
    if not secret.startswith(SECRET_PREFIX):
        raise WebhookConfigError("a signing secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookConfigError("a signing secret is whsec_ + base64") from None
    if not 24 <= len(key) <= 64:
        raise WebhookConfigError("a signing secret holds 24 to 64 bytes")


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """A secret in the clear: only in memory (the CLI prints it once; the delivery function
    unseals it), or, in a table not yet migrated, as stored before secrets were sealed."""

    value: str = field(repr=False)
    expires_at: datetime | None = None
    """Set on the old secret of a rotation: it signs alongside the new one until then."""

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class SealedSecret:
    """A secret as the endpoint table keeps it: encrypted under the stack's key, bound to its
    endpoint (the encryption context), readable by the delivery function alone."""

    ciphertext: bytes = field(repr=False)
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


type StoredSecret = SigningSecret | SealedSecret


def signature_header(
    secrets: Sequence[SigningSecret], msg_id: str, timestamp: datetime, body: str
) -> str:
    """`v1,<base64>` per active secret, space-separated (several while a secret rotates)."""
    signatures = [
        Webhook(secret.value).sign(msg_id, timestamp, body)
        for secret in secrets
        if secret.active(timestamp)
    ]
    if not signatures:
        raise WebhookConfigError("the endpoint has no active signing secret")
    return " ".join(signatures)


def delivery_headers(
    secrets: Sequence[SigningSecret], msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed afresh for its timestamp."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(timestamp.timestamp())),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
    }
