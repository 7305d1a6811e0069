"""The local pipeline as `make demo` and `make local` run it: moto's server over HTTP, the
LeadLex sandbox, the SQS trigger calling the handler in-process, and the relay CLI.

    def test_something(start_relay: StartRelay) -> None:
        relay = start_relay(parameter_overrides={"MaxReceiveCount": 2}, visibility_timeout=1)
        relay.sandbox.create_contact(...); relay.trigger.drain(); relay.received()

    run_cli(state_file, "enqueue", contact_id)   # the relay CLI against that stack

StartRelay and run_cli live in tests/support/embedded.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relay_local.embedded import EmbeddedRelay
from tests.support.embedded import StartRelay


@pytest.fixture
def start_relay(monkeypatch: pytest.MonkeyPatch) -> Iterator[StartRelay]:
    """Start embedded relays (on ephemeral ports); every one is stopped after the test."""
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    started: list[EmbeddedRelay] = []

    def start(**options: Any) -> EmbeddedRelay:
        options.setdefault("metrics", False)
        relay = EmbeddedRelay(**options).start()
        started.append(relay)
        return relay

    yield start
    for relay in reversed(started):
        relay.stop()


@pytest.fixture
def relay(start_relay: StartRelay) -> EmbeddedRelay:
    return start_relay()


@pytest.fixture
def state_file(relay: EmbeddedRelay, tmp_path: Path) -> Path:
    """The state file `make local` writes, for this test's stack."""
    path = tmp_path / "relay-local.json"
    relay.write_state_file(path)
    return path
