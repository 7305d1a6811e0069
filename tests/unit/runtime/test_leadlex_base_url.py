"""The LeadLex API key travels in every request's header: the base URL must be https, in the
template's parameter and in the sync function's settings, except toward a LeadLex sandbox on
this machine (the local stack, `sam local`, the tests), which serves plain http on 127.0.0.1."""

from __future__ import annotations

import re

import pytest

from activity_relay.runtime.environment import ConfigurationError
from activity_relay.runtime.sync import SyncSettings
from relay_local.template import load_template

BASE = {
    "LEADLEX_API_KEY": "wbk_test",
    "WATERMARK_TABLE_NAME": "state",
    "ACTIVITY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:activities",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
    "CONTACT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/contacts",
}


@pytest.mark.parametrize(
    "url",
    [
        "http://data.leadlex.com/functions/v1/api-gateway",
        "http://10.0.0.5:8080",
        "http://leadlex.internal",
    ],
)
def test_http_to_anywhere_but_this_machine_is_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        SyncSettings.from_env({**BASE, "LEADLEX_API_BASE_URL": url})

    assert str(refused.value).startswith("LEADLEX_API_BASE_URL must be https")


@pytest.mark.parametrize(
    "url",
    [
        "https://data.leadlex.com/functions/v1/api-gateway",
        "http://127.0.0.1:4578",  # the local stack's sandbox (events/env.json, make local)
        "http://localhost:4578",
        "http://[::1]:4578",
    ],
)
def test_https_or_a_sandbox_on_this_machine_is_accepted(url: str) -> None:
    assert SyncSettings.from_env({**BASE, "LEADLEX_API_BASE_URL": url}).api_base_url == url


def test_the_template_parameter_accepts_https_only() -> None:
    parameter = load_template()["Parameters"]["LeadLexApiBaseUrl"]
    pattern = re.compile(parameter["AllowedPattern"])

    assert pattern.fullmatch(parameter["Default"])
    assert pattern.fullmatch("https://api.leadlex.example/gateway")
    assert not pattern.fullmatch("http://data.leadlex.com/functions/v1/api-gateway")
