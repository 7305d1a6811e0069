"""What delivery refuses for good, with nothing sent and no retry: addresses that Python calls
global but are not (IPv4-compatible IPv6, site-local fec0::/10), whether written in the URL or
answered by DNS, and hosts that cannot be encoded for DNS. A local stack that allows local
targets still delivers to loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3.util.connection

from activity_relay.adapters.http_delivery import HardenedSender
from activity_relay.core.webhooks_out.delivery import Fate
from activity_relay.core.webhooks_out.ports import Delivery
from relay_local.fakes.webhooks_out import MemoryEndpointStore, RecordedWebhookDeadLetters
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.webhooks_out import make_endpoint, sending_deliverer

pytestmark = pytest.mark.integration

HEADERS = {"webhook-id": "act_1", "content-type": "application/json"}


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection urllib3 opens, recorded and refused (nothing may leave)."""
    opened: list[tuple[str, int]] = []

    def recording(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append(address)
        raise ConnectionRefusedError("test: no connection may be opened")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", recording)
    monkeypatch.setattr("urllib3.connection.connection.create_connection", recording)
    return opened


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Names → the one address DNS answers for them (others resolve as usual)."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            address = answers[host]
            if ":" in address:
                return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return answers


@pytest.mark.parametrize("address", ["::127.0.0.1", "::a9fe:a9fe", "fec0::1"])
def test_a_name_resolving_to_what_python_calls_global_is_refused(
    address: str, dns: dict[str, str], connections: list[tuple[str, int]]
) -> None:
    # Given DNS answering an IPv4-compatible or a site-local IPv6 address for a public name
    dns["hooks.customer.example"] = address

    outcome = HardenedSender().post("https://hooks.customer.example/in", b"{}", HEADERS)

    assert outcome.blocked
    assert "refused: hooks.customer.example resolves to" in (outcome.error or "")
    assert "not a public" in (outcome.error or "")
    assert connections == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://[::127.0.0.1]/hook", "carries the IPv4 address 127.0.0.1"),
        ("https://[fec0::1]/hook", "site-local IPv6 address"),
        ("https://\u2603.example/hook", "cannot be encoded for DNS"),
        ("https://" + "a" * 64 + ".example/hook", "not a DNS name"),
    ],
)
def test_a_url_that_fails_the_registration_rules_is_refused_before_any_lookup(
    url: str, reason: str, dns: dict[str, str], connections: list[tuple[str, int]]
) -> None:
    outcome = HardenedSender().post(url, b"{}", HEADERS)

    assert outcome.blocked
    assert reason in (outcome.error or "")
    assert connections == []


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def test_an_unencodable_host_is_dead_lettered_at_once_not_retried() -> None:
    # Given an endpoint whose host no IDNA encoding accepts (stored before the rules existed)
    store = MemoryEndpointStore()
    endpoint = store.add(make_endpoint("https://\u2603.example/hook"))
    dead_letters = RecordedWebhookDeadLetters()
    deliverer = sending_deliverer(
        store,
        HardenedSender(),
        schedule="5s,5m,30m,2h,5h,10h,10h",
        dead_letters=dead_letters,
    )

    (result,) = deliverer.deliver(
        [Delivery(endpoint.endpoint_id, '{"event_id": "act_1"}', "m1")], lambda: 60_000
    )

    # Then its first attempt dead-letters it: eight attempts would fail the same way
    assert result.fate is Fate.DEAD_LETTERED
    assert result.outcome is not None
    assert result.outcome.blocked


def test_a_local_stack_allowing_local_targets_still_delivers_to_loopback(
    receiver: WebhookReceiver,
) -> None:
    outcome = HardenedSender(allow_local=True).post(receiver.url, b"{}", HEADERS)

    assert outcome.status == 200
    assert receiver.requests == 1
