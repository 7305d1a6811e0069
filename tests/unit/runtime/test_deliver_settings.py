"""The webhook delivery function's settings, read once (a bad value: test_settings_refused.py)."""

from __future__ import annotations

import pytest

from activity_relay.runtime.deliver import DeliverSettings
from activity_relay.runtime.environment import ConfigurationError
from tests.unit.runtime.conftest import DELIVER_ENV


def test_defaults_are_the_contracts_schedule_and_no_local_targets() -> None:
    settings = DeliverSettings.from_env(DELIVER_ENV)

    assert settings.schedule.delays == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert settings.allow_local_targets is False
    assert settings.concurrency == 10
    assert settings.max_receives == 100
    assert settings.secret_key_arn is None


def test_a_schedule_longer_than_the_queue_s_receive_limit_is_refused() -> None:
    # 8 attempts cannot fit a queue that moves a message away after its 5th receive
    with pytest.raises(ConfigurationError, match="8 attempts do not fit") as refused:
        DeliverSettings.from_env(DELIVER_ENV | {"WEBHOOK_MAX_RECEIVES": "5"})

    assert "WEBHOOK_MAX_RECEIVES" in str(refused.value)


def test_local_targets_only_when_asked_for_explicitly() -> None:
    assert DeliverSettings.from_env(
        DELIVER_ENV | {"WEBHOOK_ALLOW_LOCAL_TARGETS": "true"}
    ).allow_local_targets
