"""Outbound webhook POSTs over real HTTP: SSRF refusals (nothing sent), no redirects, bounded
responses, timeouts, and one hanging endpoint not delaying another."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import urllib3.util.connection

from activity_relay.adapters.http_delivery import HardenedSender
from activity_relay.core.webhooks_out.delivery import Fate
from activity_relay.core.webhooks_out.ports import Delivery
from activity_relay.core.webhooks_out.signing import SigningSecret, generate_secret
from loopback import LoopbackServer
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.webhooks_out import (
    MemoryEndpointStore,
    make_endpoint,
    sending_deliverer,
)

pytestmark = pytest.mark.integration

HEADERS = {"webhook-id": "act_1", "content-type": "application/json"}


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection urllib3 opens, recorded (and then made as usual)."""
    opened: list[tuple[str, int]] = []
    original = urllib3.util.connection.create_connection

    def recording(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append(address)
        return original(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", recording)
    monkeypatch.setattr("urllib3.connection.connection.create_connection", recording)
    return opened


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def port_of(receiver: WebhookReceiver) -> int:
    return int(receiver.url.split(":")[2].split("/")[0])


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("10.0.0.1", "10.0.0.1"),
        ("169.254.169.254", "169.254.169.254"),
        ("[::1]", "::1"),
        ("100.64.0.1", "100.64.0.1"),
        ("[fd00:ec2::254]", "fd00:ec2::254"),
        ("192.168.1.20", "192.168.1.20"),
        ("[::ffff:127.0.0.1]", "127.0.0.1"),
    ],
)
def test_private_loopback_and_metadata_addresses_are_refused_and_nothing_is_sent(
    host: str, address: str, connections: list[tuple[str, int]]
) -> None:
    outcome = HardenedSender().post(f"https://{host}/hooks", b"{}", HEADERS)

    assert outcome.blocked
    assert outcome.status is None
    # A literal address is refused before any lookup (core/webhooks_out/targets.py).
    assert address in (outcome.error or "")
    assert "not a public address" in (outcome.error or "")
    assert connections == []


def test_a_hostname_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, connections: list[tuple[str, int]]
) -> None:
    # Given DNS that answers a private address for a public-looking name
    real = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.customer.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    outcome = HardenedSender().post("https://hooks.customer.example/in", b"{}", HEADERS)

    assert outcome.blocked
    assert (
        outcome.error
        == "refused: hooks.customer.example resolves to 10.1.2.3, not a public address"
    )
    assert connections == []


def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch, connections: list[tuple[str, int]], receiver: WebhookReceiver
) -> None:
    # Given a name that resolves to loopback once, and to a private address on a second lookup
    answers = iter(["127.0.0.1", "10.9.9.9"])
    real = socket.getaddrinfo

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)

    outcome = HardenedSender(allow_local=True).post(
        f"http://rebind.example:{port_of(receiver)}/hooks", b"{}", HEADERS
    )

    assert outcome.status == 200
    assert connections == [("127.0.0.1", port_of(receiver))]


def test_a_redirect_to_a_private_address_is_not_followed(
    connections: list[tuple[str, int]],
) -> None:
    # Given an endpoint (on loopback, allowed here) that redirects to a second server
    with WebhookReceiver() as private, WebhookReceiver(redirect_to="") as redirecting:
        redirecting.redirect_to = private.url
        outcome = HardenedSender(allow_local=True).post(redirecting.url, b"{}", HEADERS)

        assert outcome.status == 302
        assert outcome.error == f"redirect to {private.url} not followed"
        assert private.requests == 0
        assert connections == [("127.0.0.1", port_of(redirecting))]


def test_plain_http_is_refused_unless_the_stack_allows_local_targets(
    receiver: WebhookReceiver, connections: list[tuple[str, int]]
) -> None:
    refused = HardenedSender().post(receiver.url, b"{}", HEADERS)
    allowed = HardenedSender(allow_local=True).post(receiver.url, b"{}", HEADERS)

    assert refused.blocked
    assert refused.error == f"refused: webhook URLs must be https: {receiver.url!r}"
    assert allowed.status == 200
    assert receiver.requests == 1


def test_allowing_local_targets_allows_loopback_only() -> None:
    outcome = HardenedSender(allow_local=True).post("http://10.0.0.1/hooks", b"{}", HEADERS)

    assert outcome.blocked
    assert "10.0.0.1" in (outcome.error or "")


class _Endless(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(10**9))
        self.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(16_000):
                self.wfile.write(chunk)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_huge_response_body_is_read_only_up_to_the_limit() -> None:
    with LoopbackServer(_Endless) as server:
        started = time.monotonic()
        outcome = HardenedSender(allow_local=True, timeout_seconds=5).post(
            f"{server.url}/", b"{}", HEADERS
        )
        assert outcome.status == 200
        assert time.monotonic() - started < 3  # a gigabyte would take longer


def test_an_endpoint_that_does_not_answer_times_out() -> None:
    with WebhookReceiver(hang_seconds=5) as hanging:
        outcome = HardenedSender(allow_local=True, timeout_seconds=0.5).post(
            hanging.url, b"{}", HEADERS
        )

    assert outcome.status is None
    assert outcome.error == "timeout after 0.5 s"


def test_an_endpoint_hanging_until_the_timeout_does_not_delay_another() -> None:
    # Given two endpoints, one of which holds every request without answering
    store = MemoryEndpointStore()
    with WebhookReceiver(hang_seconds=10) as hanging, WebhookReceiver() as healthy:
        secret = generate_secret()
        healthy.secret = secret
        slow = store.add(make_endpoint(hanging.url))
        fast = store.add(make_endpoint(healthy.url, secrets=(SigningSecret(secret),)))
        body = '{"event_id": "act_1"}'
        deliverer = sending_deliverer(store, HardenedSender(allow_local=True, timeout_seconds=1.5))

        # When one batch carries a delivery to each (the hanging one first)
        started = time.monotonic()
        results = deliverer.deliver(
            [Delivery(slow.endpoint_id, body, "m1"), Delivery(fast.endpoint_id, body, "m2")],
            lambda: 60_000,
        )

        # Then the healthy endpoint had its verified delivery at once, not after the timeout
        (received,) = healthy.deliveries
        assert received.verified
        assert received.received_at - started < 1.0
        assert [r.fate for r in results] == [Fate.RETRY, Fate.DELIVERED]
        assert results[0].outcome is not None
        assert results[0].outcome.error == "timeout after 1.5 s"
