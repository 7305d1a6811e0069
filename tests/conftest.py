"""Fixtures shared by every test folder."""

import os
from collections.abc import Iterator

import pytest

from leadlex_sandbox import SandboxServer
from relay_local.stack import load_template


def _powertools_environment() -> None:
    """Powertools reads its service and namespace when the handlers' shared Logger and Metrics
    are created, at import: give the test process the variables template.yaml's Globals give
    every function, before any test module imports a handler."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    for name, value in variables.items():
        if name.startswith("POWERTOOLS_") and isinstance(value, str):
            os.environ.setdefault(name, value)


_powertools_environment()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh LeadLex sandbox on an ephemeral port, no quota to speak of."""
    with SandboxServer(plan="unlimited", seed=1) as server:
        yield server
