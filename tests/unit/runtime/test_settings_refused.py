"""Every function's settings: a bad value is one ConfigurationError naming the variable at
fault (each function's other settings tests are in its own test_*_settings.py)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from activity_relay.runtime.deliver import DeliverSettings
from activity_relay.runtime.fan_out import FanOutSettings
from activity_relay.runtime.sweep import SweepSettings
from activity_relay.runtime.sync import SyncSettings
from tests.support.settings import SWEEP_ENV, SYNC_ENV, ReadsEnvironment, assert_refused
from tests.unit.runtime.conftest import DELIVER_ENV, FAN_OUT_ENV

ACCEPTED: dict[type[ReadsEnvironment], Mapping[str, str]] = {
    SyncSettings: SYNC_ENV,
    SweepSettings: SWEEP_ENV,
    DeliverSettings: DELIVER_ENV,
    FanOutSettings: FAN_OUT_ENV,
}
"""An environment each settings class accepts."""

# A settings class, a change to its accepted environment that it refuses, the variable the error
# names.
REFUSED: list[tuple[type[ReadsEnvironment], dict[str, str], str]] = [
    (SyncSettings, {"WATERMARK_TABLE_NAME": ""}, "WATERMARK_TABLE_NAME"),
    (SyncSettings, {"DEAD_LETTER_QUEUE_URL": "  "}, "DEAD_LETTER_QUEUE_URL"),
    (SyncSettings, {"CONTACT_QUEUE_URL": ""}, "CONTACT_QUEUE_URL"),
    (SyncSettings, {"LEADLEX_API_KEY_SECRET_ID": ""}, "LEADLEX_API_KEY_SECRET_ID"),
    (SyncSettings, {"ACTIVITY_TOPIC_ARN": ""}, "ACTIVITY_TOPIC_ARN or ACTIVITY_EVENT_BUS_NAME"),
    (SyncSettings, {"ACTIVITY_TOPIC_ARN": "activities"}, "ACTIVITY_TOPIC_ARN"),
    (SyncSettings, {"INITIAL_SYNC": "yesterday"}, "INITIAL_SYNC"),
    (SyncSettings, {"LEADLEX_API_BASE_URL": "data.leadlex.com"}, "LEADLEX_API_BASE_URL"),
    (SyncSettings, {"LEADLEX_API_BASE_URL": "https://x.test/v1"}, "LEADLEX_API_BASE_URL"),
    (SweepSettings, {"WATERMARK_TABLE_NAME": " "}, "WATERMARK_TABLE_NAME"),
    (SweepSettings, {"CONTACT_QUEUE_URL": ""}, "CONTACT_QUEUE_URL"),
    (SweepSettings, {"LEADLEX_QUOTA_RESERVE": "-1"}, "LEADLEX_QUOTA_RESERVE"),
    (SweepSettings, {"LEADLEX_QUOTA_RESERVE": "ten"}, "LEADLEX_QUOTA_RESERVE"),
    (SweepSettings, {"DEFAULT_DAILY_QUOTA": "0"}, "DEFAULT_DAILY_QUOTA"),
    (SweepSettings, {"STALE_AFTER_HOURS": "1.5"}, "STALE_AFTER_HOURS"),
    (DeliverSettings, {"WEBHOOK_ENDPOINT_TABLE_NAME": ""}, "WEBHOOK_ENDPOINT_TABLE_NAME"),
    (DeliverSettings, {"WEBHOOK_ATTEMPT_TABLE_NAME": ""}, "WEBHOOK_ATTEMPT_TABLE_NAME"),
    (DeliverSettings, {"WEBHOOK_DELIVERY_QUEUE_URL": " "}, "WEBHOOK_DELIVERY_QUEUE_URL"),
    (DeliverSettings, {"WEBHOOK_RETRY_SCHEDULE": "5s,soon"}, "WEBHOOK_RETRY_SCHEDULE"),
    (DeliverSettings, {"WEBHOOK_RETRY_SCHEDULE": "13h"}, "WEBHOOK_RETRY_SCHEDULE"),
    (DeliverSettings, {"WEBHOOK_ALLOW_LOCAL_TARGETS": "yes"}, "WEBHOOK_ALLOW_LOCAL_TARGETS"),
    (DeliverSettings, {"WEBHOOK_CONCURRENCY": "0"}, "WEBHOOK_CONCURRENCY"),
    (DeliverSettings, {"WEBHOOK_MAX_RECEIVES": "0"}, "WEBHOOK_MAX_RECEIVES"),
    (DeliverSettings, {"WEBHOOK_EVENT_RETENTION_DAYS": "x"}, "WEBHOOK_EVENT_RETENTION_DAYS"),
    (FanOutSettings, {"WEBHOOK_EVENT_TABLE_NAME": ""}, "WEBHOOK_EVENT_TABLE_NAME"),
    (FanOutSettings, {"WEBHOOK_ENDPOINT_CACHE_SECONDS": "-1"}, "WEBHOOK_ENDPOINT_CACHE_SECONDS"),
    (FanOutSettings, {"WEBHOOK_DEAD_LETTER_QUEUE_URL": ""}, "WEBHOOK_DEAD_LETTER_QUEUE_URL"),
]


@pytest.mark.parametrize(
    ("settings", "environ", "variable"),
    [
        pytest.param(settings, {**ACCEPTED[settings], **change}, variable, id=settings.__name__)
        for settings, change, variable in REFUSED
    ],
)
def test_a_bad_setting_is_one_error_naming_the_variable(
    settings: type[ReadsEnvironment], environ: dict[str, str], variable: str
) -> None:
    assert_refused(settings, environ, variable)
