"""The webhook fan-out function's settings: read once, a bad value named in one clear error."""

from __future__ import annotations

import pytest

from activity_relay.runtime.fan_out import FanOutSettings
from tests.support.settings import WEBHOOK_ROUTES_ENV, assert_refused

FAN_OUT = WEBHOOK_ROUTES_ENV | {"WEBHOOK_EVENT_TABLE_NAME": "events"}


def test_the_fan_out_caches_the_endpoint_list_30_s_and_keeps_events_14_days() -> None:
    settings = FanOutSettings.from_env(FAN_OUT)

    assert (settings.endpoint_cache_seconds, settings.routes.retention_days) == (30, 14)


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
