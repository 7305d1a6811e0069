"""Registered endpoints: their ids, URLs, secrets, filters and health."""

from __future__ import annotations

import re
import secrets as _secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from activity_relay.core.webhooks_out.ports import WebhookConfigError
from activity_relay.core.webhooks_out.signing import SigningSecret, check_secret

ENDPOINT_ID = re.compile(r"ep_[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    endpoint_id: str
    url: str
    secrets: tuple[SigningSecret, ...] = field(repr=False)
    filter_policy: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    created_at: datetime | None = None
    first_failure_at: datetime | None = None
    """The first failed attempt since the last success; None while healthy."""
    failure_streak: int = 0

    def rotated(self, new_secret: str, now: datetime, grace: timedelta) -> Endpoint:
        """The new secret signs from now; the current one alongside it until now + grace.
        Secrets already expired (an earlier rotation's) are dropped."""
        check_secret(new_secret)
        current = [s for s in self.secrets if s.active(now)]
        kept = [
            replace(s, expires_at=min(s.expires_at or now + grace, now + grace)) for s in current
        ][:1]
        return replace(self, secrets=(SigningSecret(new_secret), *kept))


def check_endpoint_id(endpoint_id: str) -> str:
    if not ENDPOINT_ID.fullmatch(endpoint_id):
        raise WebhookConfigError(f"not an endpoint id: {endpoint_id!r} (ep_ + 32 hex digits)")
    return endpoint_id


def new_endpoint_id(token_hex: Callable[[int], str] = _secrets.token_hex) -> str:
    return "ep_" + token_hex(16)
