"""The sync function's settings: one typed object (a bad value: test_settings_refused.py)."""

from __future__ import annotations

from activity_relay.core.model import InitialSync
from activity_relay.runtime.sync import DEFAULT_API_BASE_URL, SyncSettings
from tests.support.settings import SYNC_ENV


def test_defaults_fill_what_is_optional() -> None:
    settings = SyncSettings.from_env(SYNC_ENV)
    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.channels.event_source == "leadlex.activities"
    assert settings.initial_sync == InitialSync(mode="all")
    assert settings.channels.event_bus_name is None


def test_an_iso_date_is_an_initial_sync_cutoff() -> None:
    settings = SyncSettings.from_env({**SYNC_ENV, "INITIAL_SYNC": "2026-01-01T00:00:00Z"})
    assert settings.initial_sync.mode == "since"


def test_the_key_never_shows_in_its_repr() -> None:
    settings = SyncSettings.from_env({**SYNC_ENV, "LEADLEX_API_KEY": "wbk_live_secret123"})
    assert settings.api_key.value == "wbk_live_secret123"
    assert "wbk_live_secret123" not in repr(settings)
    assert "wbk_live_secret123" not in str(settings)
