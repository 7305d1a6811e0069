"""Fault injection and page hooks: what tests use to break the API on purpose."""

import time

import pytest
import requests

from leadlex_sandbox import PageServed, SandboxServer
from tests.support.sandbox_http import Api, error_code


@pytest.fixture
def contact(sandbox: SandboxServer) -> str:
    return sandbox.create_contact(activities=5)


def test_added_latency_delays_responses(sandbox: SandboxServer, api: Api, contact: str) -> None:
    sandbox.faults.latency = 0.2

    started = time.perf_counter()
    response = api.list(contact)

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.2


@pytest.mark.parametrize(
    ("status", "code"), [(503, "service_unavailable"), (500, "internal_error")]
)
def test_the_next_requests_can_be_made_to_fail(
    sandbox: SandboxServer, api: Api, contact: str, status: int, code: str
) -> None:
    sandbox.faults.fail_next(2, status=status)

    responses = [api.list(contact) for _ in range(3)]

    assert [r.status_code for r in responses] == [status, status, 200]
    assert error_code(responses[0]) == code
    assert "X-Request-ID" in responses[0].headers
    assert "X-RateLimit-Remaining" in responses[0].headers


def test_an_injected_429_carries_the_given_retry_after(
    sandbox: SandboxServer, api: Api, contact: str
) -> None:
    sandbox.faults.fail_next(1, status=429, retry_after=7)

    response = api.list(contact)

    assert response.status_code == 429
    assert error_code(response) == "rate_limited"
    assert response.headers["Retry-After"] == "7"


def test_injected_failures_come_before_auth(sandbox: SandboxServer, api: Api, contact: str) -> None:
    sandbox.faults.fail_next(1, status=503)

    assert api.list(contact, key="wbk_live_unknown").status_code == 503


def test_a_random_error_rate_is_reproducible_from_the_seed(contact: str) -> None:
    """Two sandboxes with the same seed fail the same requests."""

    def pattern() -> list[int]:
        with SandboxServer(seed=7) as sandbox:
            api = Api(sandbox, sandbox.create_key())
            target = sandbox.create_contact()
            sandbox.faults.error_rate = 0.5
            statuses = [api.list(target).status_code for _ in range(40)]
            api.session.close()
        return statuses

    first, second = pattern(), pattern()

    assert first == second
    assert set(first) == {200, 503}


def test_a_malformed_body_keeps_the_status(sandbox: SandboxServer, api: Api, contact: str) -> None:
    sandbox.faults.malform_next(1)

    spoiled, healthy = api.list(contact), api.list(contact)

    assert spoiled.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        spoiled.json()
    assert healthy.json()["meta"]["total"] == 5


def test_a_dropped_connection_sends_no_response(
    sandbox: SandboxServer, api: Api, contact: str
) -> None:
    sandbox.faults.drop_next(1)

    with pytest.raises(requests.ConnectionError):
        api.list(contact)
    assert api.list(contact).status_code == 200
    assert [record.status for record in sandbox.request_log] == [None, 200]


def test_faults_can_be_reset(sandbox: SandboxServer, api: Api, contact: str) -> None:
    sandbox.faults.fail_next(3)
    sandbox.faults.error_rate = 1.0

    sandbox.faults.reset()

    assert api.list(contact).status_code == 200


def test_a_page_hook_sees_each_served_page(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact(activities=3)
    served: list[PageServed] = []
    sandbox.on_page_served(served.append)

    api.list(contact, per_page=2)
    api.list(contact, page=2, per_page=2)
    api.list(contact, key="wbk_live_unknown")  # not a page: no call

    assert [(s.contact_id, s.page, s.per_page, s.total) for s in served] == [
        (contact, 1, 2, 3),
        (contact, 2, 2, 3),
    ]
    assert len(served[0].activity_ids) == 2
    assert len(served[1].activity_ids) == 1


def test_activities_inserted_between_pages_push_older_ones_down(
    sandbox: SandboxServer, api: Api
) -> None:
    """Given 4 activities in pages of 2, two new ones logged right after page 1 was served
    make page 2 repeat page 1's activities: the offset drift a sync must survive."""
    contact = sandbox.create_contact(activities=4)
    sandbox.insert_after_page(contact, page=1, activities=[{}, {"activity_type": "call"}])

    page_1 = api.list(contact, per_page=2).json()
    page_2 = api.list(contact, page=2, per_page=2).json()
    page_1_again = api.list(contact, per_page=2).json()

    assert page_1["meta"]["total"] == 4
    assert page_2["meta"]["total"] == 6
    assert page_2["data"]["activities"] == page_1["data"]["activities"]
    assert page_1_again["data"]["activities"][0]["activity_type"] == "call"  # added last
    assert len(sandbox.activities(contact)) == 6  # the insertion fired once only
