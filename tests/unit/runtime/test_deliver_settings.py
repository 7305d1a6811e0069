"""The webhook function's settings: read once, a bad value named in one clear error."""

from __future__ import annotations

import pytest

from activity_relay.runtime.deliver import DeliverSettings
from tests.support.settings import assert_refused

BASE = {
    "WEBHOOK_ENDPOINT_TABLE_NAME": "endpoints",
    "WEBHOOK_DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/stack-WebhookDeliveryQueue-AbC",
    "WEBHOOK_DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
}


def test_defaults_are_the_contracts_schedule_and_no_local_targets() -> None:
    settings = DeliverSettings.from_env(BASE)

    assert settings.schedule.delays == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert settings.allow_local_targets is False
    assert settings.concurrency == 10
    assert settings.delivery_queue_name == "stack-WebhookDeliveryQueue-AbC"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"WEBHOOK_ENDPOINT_TABLE_NAME": ""}, "WEBHOOK_ENDPOINT_TABLE_NAME"),
        ({"WEBHOOK_DELIVERY_QUEUE_URL": " "}, "WEBHOOK_DELIVERY_QUEUE_URL"),
        ({"WEBHOOK_RETRY_SCHEDULE": "5s,soon"}, "WEBHOOK_RETRY_SCHEDULE"),
        ({"WEBHOOK_RETRY_SCHEDULE": "13h"}, "WEBHOOK_RETRY_SCHEDULE"),
        ({"WEBHOOK_ALLOW_LOCAL_TARGETS": "yes"}, "WEBHOOK_ALLOW_LOCAL_TARGETS"),
        ({"WEBHOOK_CONCURRENCY": "0"}, "WEBHOOK_CONCURRENCY"),
    ],
)
def test_a_bad_setting_is_named(override: dict[str, str], named: str) -> None:
    assert_refused(DeliverSettings, BASE | override, named)


def test_local_targets_only_when_asked_for_explicitly() -> None:
    assert DeliverSettings.from_env(
        BASE | {"WEBHOOK_ALLOW_LOCAL_TARGETS": "true"}
    ).allow_local_targets
