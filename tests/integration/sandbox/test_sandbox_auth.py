"""Keys: 401 invalid_key for missing, unknown, expired and revoked keys; 403 without scope."""

import pytest

from leadlex_sandbox import SandboxServer
from tests.support.sandbox_http import Api, error_code


@pytest.fixture
def contact(sandbox: SandboxServer) -> str:
    return sandbox.create_contact(activities=1)


@pytest.mark.parametrize("key", ["", "wbk_live_unknown"])
def test_a_missing_or_unknown_key_is_invalid(api: Api, contact: str, key: str) -> None:
    response = api.list(contact, key=key)

    assert response.status_code == 401
    assert error_code(response) == "invalid_key"


def test_a_key_must_come_as_a_bearer_token(api: Api, contact: str) -> None:
    response = api.session.get(
        f"{api.sandbox.base_url}/v1/contacts/{contact}/activities",
        headers={"Authorization": f"Basic {api.key}"},
        timeout=5,
    )

    assert response.status_code == 401


def test_a_key_expires_by_the_sandbox_clock(sandbox: SandboxServer, api: Api, contact: str) -> None:
    """Given a key valid for an hour, it works until the clock passes the hour."""
    key = sandbox.create_key(expires_in=3600)
    before = api.list(contact, key=key)

    sandbox.clock.advance(3600)
    after = api.list(contact, key=key)

    assert before.status_code == 200
    assert after.status_code == 401
    assert error_code(after) == "invalid_key"


def test_a_revoked_key_is_invalid_while_others_still_work(
    sandbox: SandboxServer, api: Api, contact: str
) -> None:
    key = sandbox.create_key()
    assert api.list(contact, key=key).status_code == 200

    sandbox.revoke_key(key)

    assert api.list(contact, key=key).status_code == 401
    assert api.list(contact).status_code == 200


def test_a_key_without_activities_read_is_forbidden(
    sandbox: SandboxServer, api: Api, contact: str
) -> None:
    key = sandbox.create_key(scopes=["contacts:read"])

    response = api.list(contact, key=key)

    assert response.status_code == 403
    assert error_code(response) == "insufficient_permissions"


def test_auth_is_checked_before_the_contact_id(api: Api) -> None:
    """An unauthenticated caller learns nothing about which ids exist or are valid."""
    assert api.list("not-a-uuid", key="wbk_live_unknown").status_code == 401
