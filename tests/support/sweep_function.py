"""The sweep function's handler as the integration tests invoke it: its scheduled event, the
contacts it finds deferred and the quota it reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from activity_relay.core.quota.ports import QuotaSnapshot
from tests.support.lambdas import load_function

sweep_app = load_function("sweep_deferred")

SCHEDULED_EVENT: dict[str, Any] = {}  # EventBridge Scheduler's default input to a Lambda target


def contact(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def quota(remaining: int, resets_at: datetime, limit: int | None = 1000) -> QuotaSnapshot:
    return QuotaSnapshot(
        limit=limit,
        remaining=remaining,
        resets_at=resets_at,
        observed_at=resets_at - timedelta(hours=12),
    )
