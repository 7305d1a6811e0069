"""Fixtures shared by every test folder."""

from collections.abc import Iterator

import pytest

from leadlex_sandbox import SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh LeadLex sandbox on an ephemeral port, no quota to speak of."""
    with SandboxServer(plan="unlimited", seed=1) as server:
        yield server
