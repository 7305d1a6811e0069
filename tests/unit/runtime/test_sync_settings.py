"""The sync function's settings: one typed object, and one clear error naming the variable at
fault."""

from __future__ import annotations

import pytest

from activity_relay.core.model import InitialSync
from activity_relay.runtime.sync import DEFAULT_API_BASE_URL, SyncSettings
from tests.support.settings import SYNC_ENV, assert_refused


def test_defaults_fill_what_is_optional() -> None:
    settings = SyncSettings.from_env(SYNC_ENV)
    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.channels.event_source == "leadlex.activities"
    assert settings.initial_sync == InitialSync(mode="all")
    assert settings.channels.event_bus_name is None


def test_an_iso_date_is_an_initial_sync_cutoff() -> None:
    settings = SyncSettings.from_env({**SYNC_ENV, "INITIAL_SYNC": "2026-01-01T00:00:00Z"})
    assert settings.initial_sync.mode == "since"


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"WATERMARK_TABLE_NAME": ""}, "WATERMARK_TABLE_NAME"),
        ({"DEAD_LETTER_QUEUE_URL": "  "}, "DEAD_LETTER_QUEUE_URL"),
        ({"CONTACT_QUEUE_URL": ""}, "CONTACT_QUEUE_URL"),
        ({"LEADLEX_API_KEY_SECRET_ID": ""}, "LEADLEX_API_KEY_SECRET_ID"),
        ({"ACTIVITY_TOPIC_ARN": ""}, "ACTIVITY_TOPIC_ARN or ACTIVITY_EVENT_BUS_NAME"),
        ({"ACTIVITY_TOPIC_ARN": "activities"}, "ACTIVITY_TOPIC_ARN"),
        ({"INITIAL_SYNC": "yesterday"}, "INITIAL_SYNC"),
        ({"LEADLEX_API_BASE_URL": "data.leadlex.com"}, "LEADLEX_API_BASE_URL"),
        ({"LEADLEX_API_BASE_URL": "https://x.test/v1"}, "LEADLEX_API_BASE_URL"),
    ],
)
def test_a_bad_setting_is_one_error_naming_the_variable(
    change: dict[str, str], variable: str
) -> None:
    assert_refused(SyncSettings, {**SYNC_ENV, **change}, variable)


def test_the_key_never_shows_in_its_repr() -> None:
    settings = SyncSettings.from_env({**SYNC_ENV, "LEADLEX_API_KEY": "wbk_live_secret123"})
    assert settings.api_key.value == "wbk_live_secret123"
    assert "wbk_live_secret123" not in repr(settings)
    assert "wbk_live_secret123" not in str(settings)
