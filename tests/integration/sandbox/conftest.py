from collections.abc import Iterator

import pytest

from leadlex_sandbox import SandboxServer
from tests.support.sandbox_http import Api


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[Api]:
    """An HTTP caller of the `sandbox` fixture holding a fresh activities:read key."""
    caller = Api(sandbox, sandbox.create_key())
    yield caller
    caller.session.close()
