"""The embedded relay as the end-to-end tests drive it (tests/e2e/conftest.py starts it): the
type of the `start_relay` fixture, and the relay CLI run in-process against its stack."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from relay_cli import main as cli
from relay_local.embedded import EmbeddedRelay


class StartRelay(Protocol):
    def __call__(self, **options: Any) -> EmbeddedRelay: ...


@dataclass
class CliResult:
    status: int
    out: str
    err: str


def run_cli(state_file: Path, *argv: str, env: dict[str, str] | None = None) -> CliResult:
    """`relay --state-file ... ARGV` in-process; the environment is only what `env` holds."""
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["--state-file", str(state_file), *argv], env=env or {}, out=out, err=err)
    return CliResult(status, out.getvalue(), err.getvalue())


def refuse_the_sync_key(relay: EmbeddedRelay) -> str:
    """Give the sync function a key LeadLex has revoked, so every sync fails as an auth failure
    does; returns the good key, which `relay.update_function_environment` puts back."""
    good_key = os.environ["LEADLEX_API_KEY"]
    revoked = relay.sandbox.create_key()
    relay.sandbox.revoke_key(revoked)
    relay.update_function_environment({"LEADLEX_API_KEY": revoked})
    return good_key
