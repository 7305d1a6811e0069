"""Registered endpoints: their ids, URLs, secrets, filters and health."""

from __future__ import annotations

import re
import secrets as _secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from activity_relay.core.webhooks_out.ports import WebhookConfigError
from activity_relay.core.webhooks_out.signing import StoredSecret

ENDPOINT_ID = re.compile(r"ep_[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    endpoint_id: str
    url: str
    secrets: tuple[StoredSecret, ...] = field(repr=False)
    """The newest first: sealed, or in the clear in a table not yet migrated."""
    filter_policy: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    created_at: datetime | None = None
    first_failure_at: datetime | None = None
    """The first failed attempt since the last success; None while healthy."""
    failure_streak: int = 0
    removed: bool = False
    """Removed by `relay webhooks remove`: kept a few days so that its queued deliveries are
    dropped (and counted) rather than dead-lettered as unknown."""

    def rotated(self, new_secret: StoredSecret, now: datetime, grace: timedelta) -> Endpoint:
        """The new secret signs from now; the current one alongside it until now + grace.
        Secrets already expired (an earlier rotation's) are dropped."""
        current = [s for s in self.secrets if s.active(now)]
        kept = [
            replace(s, expires_at=min(s.expires_at or now + grace, now + grace)) for s in current
        ][:1]
        return replace(self, secrets=(new_secret, *kept))


def is_endpoint_id(text: str) -> bool:
    return ENDPOINT_ID.fullmatch(text) is not None


def check_endpoint_id(endpoint_id: str) -> str:
    if not is_endpoint_id(endpoint_id):
        raise WebhookConfigError(f"not an endpoint id: {endpoint_id!r} (ep_ + 32 hex digits)")
    return endpoint_id


def new_endpoint_id(token_hex: Callable[[int], str] = _secrets.token_hex) -> str:
    return "ep_" + token_hex(16)
