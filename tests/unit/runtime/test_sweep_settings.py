"""The sweep's settings: defaults and every variable read (a bad value:
test_settings_refused.py)."""

from __future__ import annotations

from datetime import timedelta

from activity_relay.runtime.sweep import SweepSettings
from tests.support.settings import SWEEP_ENV


def test_sweep_settings_defaults() -> None:
    assert SweepSettings.from_env(SWEEP_ENV) == SweepSettings(
        state_table_name="watermarks",
        contact_queue_url=SWEEP_ENV["CONTACT_QUEUE_URL"],
        quota_reserve=0,
        default_daily_quota=100,
        requests_per_minute=10,
        stale_after=None,
    )


def test_sweep_settings_read_every_variable() -> None:
    read = SweepSettings.from_env(
        {
            **SWEEP_ENV,
            "LEADLEX_QUOTA_RESERVE": "50",
            "DEFAULT_DAILY_QUOTA": " 1000 ",
            "STALE_AFTER_HOURS": "24",
        }
    )
    assert read.quota_reserve == 50
    assert read.default_daily_quota == 1000
    assert read.stale_after == timedelta(hours=24)
    assert SweepSettings.from_env({**SWEEP_ENV, "STALE_AFTER_HOURS": "0"}).stale_after is None
