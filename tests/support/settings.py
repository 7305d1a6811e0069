"""The functions' settings as the runtime tests read them: a valid environment of each, and the
one rule every setting keeps (a bad value is one ConfigurationError naming its variable)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import pytest

from activity_relay.runtime.environment import ConfigurationError

SYNC_ENV = {
    "LEADLEX_API_KEY_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:leadlex",
    "WATERMARK_TABLE_NAME": "watermarks",
    "ACTIVITY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:activities",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/contacts-dlq",
    "CONTACT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/contacts",
}
"""What the sync function needs, and nothing optional (runtime/sync.py)."""

SWEEP_ENV = {
    "WATERMARK_TABLE_NAME": "watermarks",
    "CONTACT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/contacts",
}
"""What the sweep needs, and nothing optional (runtime/sweep.py)."""

WEBHOOK_ROUTES_ENV = {
    "WEBHOOK_ENDPOINT_TABLE_NAME": "endpoints",
    "WEBHOOK_DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
    "WEBHOOK_DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
}
"""What the fan-out and the delivery function both need (Environment.webhook_routes)."""


class ReadsEnvironment(Protocol):
    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> object: ...


def assert_refused(
    settings: type[ReadsEnvironment], environ: Mapping[str, str], variable: str
) -> None:
    """Reading `environ` fails with one ConfigurationError, and its message names `variable`."""
    with pytest.raises(ConfigurationError, match=variable):
        settings.from_env(environ)
