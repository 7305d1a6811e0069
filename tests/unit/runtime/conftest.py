"""Valid environments of the webhook functions, for their settings tests (the other functions'
are in tests/support/settings.py)."""

from __future__ import annotations

from tests.support.settings import WEBHOOK_ROUTES_ENV

DELIVER_ENV = WEBHOOK_ROUTES_ENV | {"WEBHOOK_ATTEMPT_TABLE_NAME": "attempts"}
"""What the delivery function needs, and nothing optional (runtime/deliver.py)."""

FAN_OUT_ENV = WEBHOOK_ROUTES_ENV | {"WEBHOOK_EVENT_TABLE_NAME": "events"}
"""What the fan-out needs, and nothing optional (runtime/fan_out.py)."""
