"""Helpers for specifying the sandbox over real HTTP (tests/integration/sandbox/)."""

from typing import Any

import requests

from leadlex_sandbox import SandboxServer


class Api:
    """A plain HTTP caller of one sandbox, authenticated with one key."""

    def __init__(self, sandbox: SandboxServer, key: str) -> None:
        self.sandbox = sandbox
        self.key = key
        self.session = requests.Session()

    def list(self, contact_id: str, key: str | None = None, **params: Any) -> requests.Response:
        token = self.key if key is None else key
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.get(
            f"{self.sandbox.base_url}/v1/contacts/{contact_id}/activities",
            params=params,
            headers=headers,
            timeout=5,
        )

    def admin(self, method: str, path: str, body: object = None) -> requests.Response:
        return self.session.request(method, f"{self.sandbox.admin_url}{path}", json=body, timeout=5)


def error_code(response: requests.Response) -> str:
    """The code of an error envelope, checking the envelope has exactly its documented shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    code: str = body["error"]["code"]
    return code
