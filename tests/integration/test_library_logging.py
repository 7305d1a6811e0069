"""At DEBUG (Lambda's ApplicationLogLevel=DEBUG sets the root logger so), botocore would log a
GetSecretValue's response body, the secret with it, and urllib3 every URL it requests: the
layer holds their loggers at INFO (activity_relay/observability.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import boto3
import pytest

from activity_relay.adapters.secrets import forget_secrets, read_secret
from activity_relay.observability import QUIET_LIBRARIES, hold_library_loggers

pytestmark = pytest.mark.integration

SECRET = "wbk_live_do-not-log-me-8f3a"


@pytest.fixture
def root_at_debug() -> Iterator[None]:
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", *QUIET_LIBRARIES)}
    root.setLevel(logging.DEBUG)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_a_secret_read_at_debug_logs_no_secret(
    aws_mock: None, root_at_debug: None, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the root logger at DEBUG when the handler's modules are imported
    hold_library_loggers()
    boto3.client("secretsmanager").create_secret(Name="leadlex/key", SecretString=SECRET)
    forget_secrets()

    with caplog.at_level(logging.DEBUG):
        assert read_secret("leadlex/key", connect=lambda: boto3.client("secretsmanager")) == SECRET

    assert SECRET not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith("botocore") and r.levelno < 20]
    forget_secrets()


def test_the_libraries_are_never_chattier_than_the_root() -> None:
    root = logging.getLogger()
    saved = root.level
    try:
        root.setLevel(logging.WARNING)
        hold_library_loggers()
        assert logging.getLogger("botocore").level == logging.WARNING
    finally:
        root.setLevel(saved)
        hold_library_loggers()
