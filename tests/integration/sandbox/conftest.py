from collections.abc import Iterator

import pytest
from sandbox_http import Api

from leadlex_sandbox import SandboxServer


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[Api]:
    """An HTTP caller of the `sandbox` fixture holding a fresh activities:read key."""
    caller = Api(sandbox, sandbox.create_key())
    yield caller
    caller.session.close()
