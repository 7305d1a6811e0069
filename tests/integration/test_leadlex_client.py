"""The LeadLex client against the sandbox over real HTTP: pages, errors, retries, secrecy."""

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from activity_relay.adapters.leadlex import LeadLexClient, RequestRejected
from activity_relay.core.model import (
    AuthenticationFailed,
    ContactNotFound,
    MalformedResponse,
    PermissionDenied,
    QuotaExhausted,
    RateLimited,
    SourceError,
    TransientSourceError,
)
from activity_relay.core.quota.reserve import QuotaGuard
from leadlex_sandbox import Plan, SandboxServer

UNKNOWN_CONTACT = "00000000-0000-4000-8000-000000000000"


def make_client(sandbox: SandboxServer, key: str | None = None, **options: Any) -> LeadLexClient:
    """A client of `sandbox` whose retries back off for microseconds, not seconds."""
    options = {"backoff_factor": 0.001, "backoff_jitter": 0.001, **options}
    return LeadLexClient(
        key if key is not None else sandbox.create_key(), sandbox.base_url, **options
    )


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[LeadLexClient]:
    with make_client(sandbox) as leadlex:
        yield leadlex


@pytest.fixture
def contact(sandbox: SandboxServer) -> str:
    return sandbox.create_contact(activities=230)


def test_pages_are_fetched_and_validated(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    pages = [client.fetch_page(contact, number) for number in (1, 2, 3)]

    assert client.page_size == 100
    assert [(p.number, p.per_page, p.total, len(p.activities)) for p in pages] == [
        (1, 100, 230, 100),
        (2, 100, 230, 100),
        (3, 100, 230, 30),
    ]
    listed = [activity.raw for page in pages for activity in page.activities]
    assert listed == sandbox.activities(contact)
    assert all(activity.activity_type for page in pages for activity in page.activities)
    assert next(r.query for r in sandbox.request_log) == {"page": "1", "per_page": "100"}


def test_a_page_past_the_end_is_empty(client: LeadLexClient, contact: str) -> None:
    page = client.fetch_page(contact, 4)

    assert page.activities == ()
    assert page.total == 230


def test_the_type_field_may_be_named_type(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    sandbox.type_field = "type"

    page = client.fetch_page(contact, 1)

    assert all(
        a.activity_type in {"call", "email_sent", "meeting", "note", "ai_action"}
        for a in page.activities
    )
    assert all("type" in a.raw for a in page.activities)


def test_the_contact_id_is_canonicalised_before_use(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    client.fetch_page(f"  {contact.upper()} ", 1)

    assert sandbox.request_log[0].path == f"/v1/contacts/{contact}/activities"


def test_the_rate_limit_headers_are_remembered(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    sandbox.plan = "pro"
    assert client.quota.snapshot() is None

    client.fetch_page(contact, 1)
    client.fetch_page(contact, 2)

    snapshot = client.quota.snapshot()
    assert snapshot is not None
    assert (snapshot.limit, snapshot.remaining) == (1000, 998)
    assert snapshot.resets_at.timestamp() > time.time()


@pytest.mark.parametrize("how", ["unknown", "expired", "revoked"])
def test_an_invalid_key_fails_authentication(
    sandbox: SandboxServer, contact: str, how: str
) -> None:
    key = "wbk_live_unknown" if how == "unknown" else sandbox.create_key(expires_in=60)
    if how == "expired":
        sandbox.clock.advance(61)
    if how == "revoked":
        sandbox.revoke_key(key)

    with make_client(sandbox, key) as leadlex, pytest.raises(AuthenticationFailed) as failure:
        leadlex.fetch_page(contact, 1)

    assert failure.value.request_id is not None
    assert failure.value.request_id.startswith("req_")
    assert sandbox.total_requests == 1  # not retried


def test_a_key_without_the_scope_is_denied(sandbox: SandboxServer, contact: str) -> None:
    with (
        make_client(sandbox, sandbox.create_key(scopes=[])) as leadlex,
        pytest.raises(PermissionDenied, match="insufficient_permissions"),
    ):
        leadlex.fetch_page(contact, 1)


def test_an_unknown_contact_is_not_found(sandbox: SandboxServer, client: LeadLexClient) -> None:
    with pytest.raises(ContactNotFound) as failure:
        client.fetch_page(UNKNOWN_CONTACT, 1)

    assert not isinstance(failure.value, TransientSourceError)
    assert sandbox.total_requests == failure.value.requests == 1  # a 404 spends quota too


def test_a_wrong_base_url_is_not_mistaken_for_a_missing_contact(sandbox: SandboxServer) -> None:
    with (
        LeadLexClient(sandbox.create_key(), f"{sandbox.base_url}/oops") as leadlex,
        pytest.raises(RequestRejected, match="base URL"),
    ):
        leadlex.fetch_page(UNKNOWN_CONTACT, 1)


@pytest.mark.parametrize(
    "bad_id", ["not-a-uuid", "../../admin", "", "123e4567e89b12d3a456426614174000"]
)
def test_a_bad_contact_id_is_never_sent(
    sandbox: SandboxServer, client: LeadLexClient, bad_id: str
) -> None:
    with pytest.raises(RequestRejected) as failure:
        client.fetch_page(bad_id, 1)

    assert sandbox.request_log == []
    assert failure.value.requests == 0


def test_a_page_number_below_one_is_refused(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    with pytest.raises(ValueError, match="page"):
        client.fetch_page(contact, 0)

    assert sandbox.request_log == []


def test_a_validation_error_is_rejected_not_retried(sandbox: SandboxServer, contact: str) -> None:
    """per_page beyond what this sandbox allows stands in for any 400 the API might send."""
    with make_client(sandbox, per_page=100) as leadlex:
        leadlex.per_page = 101  # a misconfiguration the constructor would refuse
        with pytest.raises(RequestRejected, match="validation_error") as failure:
            leadlex.fetch_page(contact, 1)

    assert not isinstance(failure.value, TransientSourceError)
    assert sandbox.total_requests == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(
    sandbox: SandboxServer, client: LeadLexClient, contact: str, status: int
) -> None:
    sandbox.faults.fail_next(2, status=status)

    page = client.fetch_page(contact, 1)

    assert len(page.activities) == 100
    assert [r.status for r in sandbox.request_log] == [status, status, 200]
    assert page.requests == 3  # LeadLex received three


def test_persistent_server_errors_become_transient(sandbox: SandboxServer, contact: str) -> None:
    sandbox.faults.fail_next(10, status=503)

    with make_client(sandbox, retries=2) as leadlex, pytest.raises(TransientSourceError) as failure:
        leadlex.fetch_page(contact, 1)

    assert "503" in str(failure.value)
    assert failure.value.request_id is not None
    assert sandbox.total_requests == failure.value.requests == 3


def test_a_dropped_connection_is_retried(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    sandbox.faults.drop_next(2)

    page = client.fetch_page(contact, 1)

    assert page.total == 230
    assert [r.status for r in sandbox.request_log] == [None, None, 200]
    assert page.requests == 3


def test_connections_that_keep_dropping_become_transient(
    sandbox: SandboxServer, contact: str
) -> None:
    sandbox.faults.drop_next(10)

    with (
        make_client(sandbox, retries=1) as leadlex,
        pytest.raises(TransientSourceError) as failure,
    ):
        leadlex.fetch_page(contact, 1)

    assert sandbox.total_requests == failure.value.requests == 2


def test_a_slow_answer_times_out_as_transient(sandbox: SandboxServer, contact: str) -> None:
    sandbox.faults.latency = 0.3

    with (
        make_client(sandbox, retries=0, timeout=(1.0, 0.1)) as leadlex,
        pytest.raises(TransientSourceError, match="Timeout"),
    ):
        leadlex.fetch_page(contact, 1)


def test_an_unreachable_api_is_transient() -> None:
    with (
        LeadLexClient("wbk_live_x", "http://127.0.0.1:9", retries=0) as leadlex,
        pytest.raises(TransientSourceError),
    ):
        leadlex.fetch_page(UNKNOWN_CONTACT, 1)


def test_malformed_json_is_a_malformed_response(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    sandbox.faults.malform_next(1)

    with pytest.raises(MalformedResponse, match="not JSON") as failure:
        client.fetch_page(contact, 1)

    assert isinstance(failure.value, TransientSourceError)
    assert failure.value.request_id is not None
    assert client.fetch_page(contact, 1).total == 230


def drop_last_activity(body: dict[str, Any]) -> None:
    body["data"]["activities"].pop()


def set_total(value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(body: dict[str, Any]) -> None:
        body["meta"]["total"] = value

    return mutate


def replace(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for name in parents:
            target = target[int(name)] if isinstance(target, list) else target[name]
        target[last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (drop_last_activity, "holds 99 activities"),
        (set_total(-1), "meta.total"),
        (set_total("230"), "meta.total"),
        (set_total(True), "meta.total"),
        (replace("data.activities", {}), "data.activities"),
        (replace("meta.page", 2), "meta.page"),
        (replace("meta.per_page", 50), "meta.per_page"),
        (lambda body: body.pop("meta"), "meta"),
        (lambda body: body["data"]["activities"].append(body["data"]["activities"][0]), "101"),
        (lambda body: body["data"]["activities"].__setitem__(0, "act_1"), "not a JSON object"),
        (lambda body: body["data"]["activities"][0].pop("id"), "id"),
        (lambda body: body["data"]["activities"][0].update(created_date=None), "created_date"),
        (lambda body: body["data"]["activities"][0].update(created_date="yesterday"), "created"),
    ],
)
def test_a_page_breaking_the_contract_is_malformed(
    sandbox: SandboxServer,
    client: LeadLexClient,
    contact: str,
    mutate: Callable[[dict[str, Any]], None],
    reason: str,
) -> None:
    """A page is never silently short, mis-numbered or holding an invalid activity."""
    sandbox.faults.mutate_next(mutate)

    with pytest.raises(MalformedResponse, match=reason):
        client.fetch_page(contact, 1)


def test_a_short_last_page_is_fine_when_the_total_says_so(
    sandbox: SandboxServer, client: LeadLexClient
) -> None:
    contact = sandbox.create_contact(activities=100)

    def shorten_consistently(body: dict[str, Any]) -> None:
        drop_last_activity(body)
        set_total(99)(body)

    sandbox.faults.mutate_next(shorten_consistently)

    assert len(client.fetch_page(contact, 1).activities) == 99


def test_a_per_minute_429_is_final_at_once(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    """Given a 429 with no Retry-After (the per-minute window), no request is spent on it."""
    sandbox.faults.fail_next(2, status=429)

    with pytest.raises(RateLimited) as limited:
        client.fetch_page(contact, 1)

    assert [r.status for r in sandbox.request_log] == [429]
    assert limited.value.requests == 1


def test_the_real_per_minute_limit_costs_one_refused_request(sandbox: SandboxServer) -> None:
    sandbox.plan = Plan("slow", per_day=1_000, per_minute=2)
    sandbox.clock.set(sandbox.clock.now().replace(second=0), frozen=True)
    contact = sandbox.create_contact(activities=5)
    with make_client(sandbox, retries=3) as leadlex:
        leadlex.fetch_page(contact, 1)
        leadlex.fetch_page(contact, 1)
        with pytest.raises(RateLimited):
            leadlex.fetch_page(contact, 1)
    assert [r.status for r in sandbox.request_log] == [200, 200, 429]


def test_retry_after_is_honoured(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    """Given a 429 asking for one second, the retry waits that second, not the tiny backoff."""
    sandbox.faults.fail_next(1, status=429, retry_after=1)

    started = time.monotonic()
    client.fetch_page(contact, 1)

    assert time.monotonic() - started >= 0.95
    assert sandbox.total_requests == 2


def test_persistent_rate_limiting_is_transient_and_says_so(
    sandbox: SandboxServer, contact: str
) -> None:
    sandbox.faults.fail_next(5, status=429, retry_after=0)

    with make_client(sandbox, retries=2) as leadlex, pytest.raises(TransientSourceError) as failure:
        leadlex.fetch_page(contact, 1)

    assert "rate limited" in str(failure.value)
    assert sandbox.total_requests == 3


def sandbox_clock(sandbox: SandboxServer) -> Callable[[], float]:
    return lambda: sandbox.clock.now().timestamp()


def test_an_exhausted_daily_quota_is_final_until_the_reset(
    sandbox: SandboxServer, contact: str
) -> None:
    """Once the day's quota is gone, no request is sent before UTC midnight."""
    sandbox.clock.set(datetime(2026, 11, 26, 23, 50, tzinfo=UTC))
    sandbox.plan = Plan("tiny", per_day=1, per_minute=100)
    with make_client(sandbox, retries=3, clock=sandbox_clock(sandbox)) as leadlex:
        leadlex.fetch_page(contact, 1)
        with pytest.raises(QuotaExhausted) as exhausted:
            leadlex.fetch_page(contact, 2)
        assert exhausted.value.resets_at == datetime(2026, 11, 27, tzinfo=UTC)
        assert [r.status for r in sandbox.request_log] == [200], "nothing was sent"

        # When the window resets, requests flow again
        sandbox.clock.set(datetime(2026, 11, 27, 0, 0, 5, tzinfo=UTC))
        assert leadlex.fetch_page(contact, 1).total > 0


def test_a_429_with_no_quota_left_is_quota_exhaustion_not_retried(
    sandbox: SandboxServer, contact: str
) -> None:
    sandbox.plan = Plan("tiny", per_day=1, per_minute=100)
    with make_client(sandbox) as other:
        other.fetch_page(contact, 1)  # another container spent the day's quota
    sandbox.reset_stats()
    with make_client(sandbox, retries=3) as leadlex, pytest.raises(QuotaExhausted) as failure:
        leadlex.fetch_page(contact, 1)
    assert [r.status for r in sandbox.request_log] == [429]
    assert failure.value.requests == 1


def test_the_reserve_is_never_spent(sandbox: SandboxServer, contact: str) -> None:
    sandbox.plan = Plan("small", per_day=5, per_minute=100)
    with make_client(sandbox, quota=QuotaGuard(reserve=2)) as leadlex:
        for _ in range(3):
            leadlex.fetch_page(contact, 1)
        with pytest.raises(QuotaExhausted, match="reserve 2") as failure:
            leadlex.fetch_page(contact, 1)
    assert sandbox.total_requests == 3
    assert failure.value.requests == 0


def test_a_persistent_per_minute_limit_is_rate_limited(
    sandbox: SandboxServer, contact: str
) -> None:
    sandbox.plan = Plan("slow", per_day=1000, per_minute=1)
    with make_client(sandbox, retries=2) as leadlex:
        leadlex.fetch_page(contact, 1)
        with pytest.raises(RateLimited, match="rate limited"):
            leadlex.fetch_page(contact, 1)


def test_the_quota_is_shared_as_a_snapshot_and_seeds_a_cold_client(
    sandbox: SandboxServer, contact: str
) -> None:
    sandbox.plan = Plan("small", per_day=3, per_minute=100)
    with make_client(sandbox, clock=sandbox_clock(sandbox)) as warm:
        warm.fetch_page(contact, 1)
        warm.fetch_page(contact, 1)
        warm.fetch_page(contact, 1)
        snapshot = warm.quota.snapshot()
    assert snapshot is not None
    assert (snapshot.limit, snapshot.remaining) == (3, 0)

    with make_client(sandbox, clock=sandbox_clock(sandbox)) as cold:
        cold.quota.seed(snapshot)
        with pytest.raises(QuotaExhausted):
            cold.fetch_page(contact, 1)
    assert sandbox.total_requests == 3


def test_the_key_never_appears_in_logs_errors_or_reprs(
    sandbox: SandboxServer, contact: str, caplog: pytest.LogCaptureFixture
) -> None:
    key = sandbox.create_key()
    caplog.set_level(logging.DEBUG)
    texts = []
    with make_client(sandbox, key, retries=1) as leadlex:
        texts.append(repr(leadlex))
        for arrange in (
            lambda: None,
            lambda: sandbox.faults.fail_next(5, status=500),
            lambda: sandbox.faults.drop_next(5),
            lambda: sandbox.faults.malform_next(1),
        ):
            sandbox.faults.reset()
            arrange()
            with pytest.raises(SourceError) as failure:
                leadlex.fetch_page(contact if sandbox.total_requests else UNKNOWN_CONTACT, 1)
            texts += [str(failure.value), repr(failure.value), str(failure.value.__cause__)]
        sandbox.faults.reset()
        sandbox.revoke_key(key)
        with pytest.raises(AuthenticationFailed) as failure:
            leadlex.fetch_page(contact, 1)
        texts.append(str(failure.value))

    assert caplog.records
    texts += [record.getMessage() for record in caplog.records]
    assert all(key not in text for text in texts)
    assert key[len("wbk_live_") :] not in caplog.text


def test_a_failure_logs_status_code_contact_and_request_id(
    sandbox: SandboxServer, client: LeadLexClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="activity_relay.adapters.leadlex")

    with pytest.raises(ContactNotFound) as failure:
        client.fetch_page(UNKNOWN_CONTACT, 1)

    [record] = caplog.records
    message = record.getMessage()
    assert "status=404" in message
    assert "code=not_found" in message
    assert f"contact_id={UNKNOWN_CONTACT}" in message
    assert f"request_id={failure.value.request_id}" in message


def test_one_session_and_connection_serve_many_pages(
    sandbox: SandboxServer, client: LeadLexClient, contact: str
) -> None:
    session = client.session

    for number in (1, 2, 3, 1, 2):
        client.fetch_page(contact, number)

    assert client.session is session
    assert sandbox.connections_opened == 1


def test_the_constructor_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="per_page"):
        LeadLexClient("wbk_live_x", per_page=101)
    with pytest.raises(ValueError, match="api_key"):
        LeadLexClient("")
