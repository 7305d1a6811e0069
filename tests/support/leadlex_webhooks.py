"""LeadLex's webhook deliveries as the unit tests of webhooks_in make them: a payload in
LeadLex's envelope, and its signature under a secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SECRET = "whsec_current"
CONTACT = "123e4567-e89b-12d3-a456-426614174000"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(data: dict[str, Any], event: str | None = "activity.created") -> bytes:
    envelope: dict[str, Any] = {
        "timestamp": "2026-12-01T10:00:00Z",
        "workspace_id": "w",
        "data": data,
    }
    if event is not None:
        envelope["event"] = event
    return json.dumps(envelope, separators=(",", ":")).encode()


BODY = payload({"activity": {"id": "act_1", "contact_id": CONTACT, "entity_type": "contact"}})
"""A delivery of one activity of CONTACT."""
