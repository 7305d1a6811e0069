"""Fixtures of the integration tests of the Lambda functions (helpers: tests/support/lambdas.py)."""

from __future__ import annotations

import pytest

from leadlex_sandbox import SandboxServer
from relay_local.template import LocalStack
from tests.support.lambdas import Subscribers, deploy_sync_function


@pytest.fixture
def relay(
    aws_stack: LocalStack, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Subscribers:
    """The sync function deployed on the template's stack, pointed at the sandbox, on a cold
    start; and the subscribers on its topic and bus. A test module adds to its environment by
    a `relay` fixture of its own that takes this one."""
    return deploy_sync_function(aws_stack, sandbox, monkeypatch)
