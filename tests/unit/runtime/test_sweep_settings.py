"""The sweep's settings: defaults, every variable read, and one clear error naming the variable
at fault."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activity_relay.runtime.sweep import SweepSettings
from tests.support.settings import SWEEP_ENV, assert_refused


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


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"WATERMARK_TABLE_NAME": " "}, "WATERMARK_TABLE_NAME"),
        ({"CONTACT_QUEUE_URL": ""}, "CONTACT_QUEUE_URL"),
        ({"LEADLEX_QUOTA_RESERVE": "-1"}, "LEADLEX_QUOTA_RESERVE"),
        ({"LEADLEX_QUOTA_RESERVE": "ten"}, "LEADLEX_QUOTA_RESERVE"),
        ({"DEFAULT_DAILY_QUOTA": "0"}, "DEFAULT_DAILY_QUOTA"),
        ({"STALE_AFTER_HOURS": "1.5"}, "STALE_AFTER_HOURS"),
    ],
)
def test_a_bad_sweep_setting_is_one_error_naming_the_variable(
    change: dict[str, str], variable: str
) -> None:
    assert_refused(SweepSettings, {**SWEEP_ENV, **change}, variable)
