"""The local stack's log lines name the function that wrote them, also while several
functions run at once (make local polls every queue from its own thread)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from activity_relay.observability import PACKAGE_LOGGER
from activity_relay.observability import logger as powertools_logger
from relay_local.embedded import EmbeddedRelay
from tests.support.embedded import run_cli
from tests.support.slow_endpoints import hanging_endpoint, requests_of

pytestmark = pytest.mark.e2e


class Collected(logging.Handler):
    """Log lines as the functions print them (Powertools' JSON), parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(powertools_logger.registered_formatter)
        self.lines: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def labels(self, text: str) -> set[str]:
        """The function names on the lines whose message contains `text`."""
        return {line["function_name"] for line in self.lines if text in line["message"]}


@pytest.fixture
def function_logs() -> Iterator[Collected]:
    collected = Collected()
    loggers = [logging.getLogger(PACKAGE_LOGGER), powertools_logger._logger]
    for logger in loggers:
        logger.addHandler(collected)
    yield collected
    for logger in loggers:
        logger.removeHandler(collected)


def wait_for(condition: Callable[[], object], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_each_line_names_its_function_while_a_delivery_is_in_flight(
    relay: EmbeddedRelay, state_file: Path, function_logs: Collected
) -> None:
    release = threading.Event()
    with hanging_endpoint(release) as endpoint:
        # Given a webhook delivery in flight (its endpoint has not answered yet)
        assert run_cli(state_file, "webhooks", "add", endpoint.url).status == 0
        relay.start_webhooks()
        first = relay.sandbox.create_contact(activities=1)
        assert run_cli(state_file, "enqueue", first).status == 0
        relay.trigger.drain()
        wait_for(lambda: requests_of(endpoint))

        # When another contact is synced meanwhile, and the endpoint answers half a second later
        second = relay.sandbox.create_contact(activities=1)
        assert run_cli(state_file, "enqueue", second).status == 0
        threading.Timer(0.5, release.set).start()
        relay.trigger.drain()
        wait_for(lambda: function_logs.labels("webhook attempt"))
        release.set()

    # Then every sync line names the sync function, every attempt the delivery function
    stack = relay.stack.stack_name
    assert function_logs.labels("synced") == {f"{stack}-SyncActivitiesFunction"}
    assert function_logs.labels("webhook attempt") == {f"{stack}-DeliverWebhooksFunction"}
