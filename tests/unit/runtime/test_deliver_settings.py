"""The webhook delivery function's settings: read once, a bad value named in one clear error."""

from __future__ import annotations

import pytest

from activity_relay.runtime.deliver import DeliverSettings
from activity_relay.runtime.environment import ConfigurationError
from tests.support.settings import WEBHOOK_ROUTES_ENV, assert_refused

BASE = WEBHOOK_ROUTES_ENV | {"WEBHOOK_ATTEMPT_TABLE_NAME": "attempts"}


def test_defaults_are_the_contracts_schedule_and_no_local_targets() -> None:
    settings = DeliverSettings.from_env(BASE)

    assert settings.schedule.delays == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert settings.allow_local_targets is False
    assert settings.concurrency == 10
    assert settings.max_receives == 100
    assert settings.secret_key_arn is None


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"WEBHOOK_ENDPOINT_TABLE_NAME": ""}, "WEBHOOK_ENDPOINT_TABLE_NAME"),
        ({"WEBHOOK_ATTEMPT_TABLE_NAME": ""}, "WEBHOOK_ATTEMPT_TABLE_NAME"),
        ({"WEBHOOK_DELIVERY_QUEUE_URL": " "}, "WEBHOOK_DELIVERY_QUEUE_URL"),
        ({"WEBHOOK_RETRY_SCHEDULE": "5s,soon"}, "WEBHOOK_RETRY_SCHEDULE"),
        ({"WEBHOOK_RETRY_SCHEDULE": "13h"}, "WEBHOOK_RETRY_SCHEDULE"),
        ({"WEBHOOK_ALLOW_LOCAL_TARGETS": "yes"}, "WEBHOOK_ALLOW_LOCAL_TARGETS"),
        ({"WEBHOOK_CONCURRENCY": "0"}, "WEBHOOK_CONCURRENCY"),
        ({"WEBHOOK_MAX_RECEIVES": "0"}, "WEBHOOK_MAX_RECEIVES"),
        ({"WEBHOOK_EVENT_RETENTION_DAYS": "x"}, "WEBHOOK_EVENT_RETENTION_DAYS"),
    ],
)
def test_a_bad_setting_is_named(override: dict[str, str], named: str) -> None:
    assert_refused(DeliverSettings, BASE | override, named)


def test_a_schedule_longer_than_the_queue_s_receive_limit_is_refused() -> None:
    # 8 attempts cannot fit a queue that moves a message away after its 5th receive
    with pytest.raises(ConfigurationError, match="8 attempts do not fit") as refused:
        DeliverSettings.from_env(BASE | {"WEBHOOK_MAX_RECEIVES": "5"})

    assert "WEBHOOK_MAX_RECEIVES" in str(refused.value)


def test_local_targets_only_when_asked_for_explicitly() -> None:
    assert DeliverSettings.from_env(
        BASE | {"WEBHOOK_ALLOW_LOCAL_TARGETS": "true"}
    ).allow_local_targets
