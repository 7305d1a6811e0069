"""The local pipeline as `make demo` and `make local` run it: moto's server over HTTP, the
LeadLex sandbox, the SQS trigger calling the handler in-process, and the relay CLI.

    def test_something(start_relay: StartRelay) -> None:
        relay = start_relay(parameter_overrides={"MaxReceiveCount": 2}, visibility_timeout=1)
        relay.sandbox.create_contact(...); relay.trigger.drain(); relay.received()

    run_cli(relay, "enqueue", contact_id)      # the relay CLI against that stack
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from relay_cli import main as cli
from relay_local.embedded import EmbeddedRelay


class StartRelay(Protocol):
    def __call__(self, **options: Any) -> EmbeddedRelay: ...


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


@dataclass
class CliResult:
    status: int
    out: str
    err: str


@pytest.fixture
def state_file(relay: EmbeddedRelay, tmp_path: Path) -> Path:
    """The state file `make local` writes, for this test's stack."""
    path = tmp_path / "relay-local.json"
    relay.write_state_file(path)
    return path


def run_cli(state_file: Path, *argv: str, env: dict[str, str] | None = None) -> CliResult:
    """`relay --state-file ... ARGV` in-process; the environment is only what `env` holds."""
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["--state-file", str(state_file), *argv], env=env or {}, out=out, err=err)
    return CliResult(status, out.getvalue(), err.getvalue())
