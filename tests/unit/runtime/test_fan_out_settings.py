"""The webhook fan-out function's settings: read once, a bad value named in one clear error."""

from __future__ import annotations

import pytest

from activity_relay.runtime.fan_out import FanOutSettings
from tests.support.settings import assert_refused

FAN_OUT = {
    "WEBHOOK_ENDPOINT_TABLE_NAME": "endpoints",
    "WEBHOOK_EVENT_TABLE_NAME": "events",
    "WEBHOOK_DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
    "WEBHOOK_DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
}


def test_the_fan_out_caches_the_endpoint_list_30_s_and_keeps_events_14_days() -> None:
    settings = FanOutSettings.from_env(FAN_OUT)

    assert (settings.endpoint_cache_seconds, settings.retention_days) == (30, 14)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"WEBHOOK_EVENT_TABLE_NAME": ""}, "WEBHOOK_EVENT_TABLE_NAME"),
        ({"WEBHOOK_ENDPOINT_CACHE_SECONDS": "-1"}, "WEBHOOK_ENDPOINT_CACHE_SECONDS"),
        ({"WEBHOOK_DEAD_LETTER_QUEUE_URL": ""}, "WEBHOOK_DEAD_LETTER_QUEUE_URL"),
    ],
)
def test_a_bad_fan_out_setting_is_named(override: dict[str, str], named: str) -> None:
    assert_refused(FanOutSettings, FAN_OUT | override, named)
