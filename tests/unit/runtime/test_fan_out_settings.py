"""The webhook fan-out function's settings, read once (a bad value: test_settings_refused.py)."""

from __future__ import annotations

from activity_relay.runtime.fan_out import FanOutSettings
from tests.unit.runtime.conftest import FAN_OUT_ENV


def test_the_fan_out_caches_the_endpoint_list_30_s_and_keeps_events_14_days() -> None:
    settings = FanOutSettings.from_env(FAN_OUT_ENV)

    assert (settings.endpoint_cache_seconds, settings.routes.retention_days) == (30, 14)
