"""One deadline per attempt (point 4), over real HTTP on 127.0.0.1: DNS, connect, headers and
body together within the timeout; an attempt given up sends nothing afterwards; a batch with a
hanging endpoint settles every delivery within the invocation, and the healthy ones are
acknowledged once (never returned to be sent again)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3.util.connection

from activity_relay.adapters.http_delivery import HardenedSender
from activity_relay.core.webhooks_out.delivery import Fate
from activity_relay.core.webhooks_out.ports import Delivery
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.slow_endpoints import drip_endpoint, hanging_endpoint, requests_of
from tests.support.webhooks_out import (
    MemoryEndpointStore,
    document,
    make_endpoint,
    sending_deliverer,
)

HEADERS = {"webhook-id": "act_1", "content-type": "application/json"}


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def test_a_slow_drip_answer_is_cut_off_at_the_deadline() -> None:
    # Each header line comes 0.5 s after the last: no single read ever waits 1 s
    with drip_endpoint(interval=0.5, lines=12) as server:
        started = time.monotonic()
        outcome = HardenedSender(allow_local=True, timeout_seconds=1.0).post(
            f"{server.url}/hooks", b"{}", HEADERS
        )
        took = time.monotonic() - started

    assert outcome.status is None
    assert outcome.error == "timeout after 1 s"
    assert 0.95 <= took < 1.5, took


def test_a_hanging_endpoint_is_given_up_at_the_deadline(release: threading.Event) -> None:
    with hanging_endpoint(release) as server:
        started = time.monotonic()
        outcome = HardenedSender(allow_local=True, timeout_seconds=0.8).post(
            f"{server.url}/hooks", b"{}", HEADERS
        )
        took = time.monotonic() - started

    assert outcome.error == "timeout after 0.8 s"
    assert took < 1.3, took


def test_slow_name_resolution_counts_and_nothing_is_sent_once_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a resolver that takes 2 s to answer for the endpoint's name
    real = socket.getaddrinfo
    opened: list[tuple[str, int]] = []
    original = urllib3.util.connection.create_connection

    def slow(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "slow-dns.example":
            time.sleep(2)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    def recording(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append(address)
        return original(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    monkeypatch.setattr("urllib3.connection.connection.create_connection", recording)
    with WebhookReceiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        started = time.monotonic()
        outcome = HardenedSender(allow_local=True, timeout_seconds=0.5).post(
            f"http://slow-dns.example:{port}/hooks", b"{}", HEADERS
        )
        took = time.monotonic() - started
        time.sleep(2)  # the resolver answers meanwhile

        assert outcome.error == "timeout after 0.5 s"
        assert took < 1.0, took
        # The attempt was given up: it neither connects nor sends when DNS comes back
        assert opened == []
        assert receiver.requests == 0


def test_a_kept_alive_connection_is_reused_within_the_deadline() -> None:
    with WebhookReceiver() as receiver:
        sender = HardenedSender(allow_local=True, timeout_seconds=2)
        outcomes = [sender.post(receiver.url, b"{}", HEADERS) for _ in range(5)]

    assert [o.status for o in outcomes] == [200] * 5
    assert receiver.requests == 5


def test_one_hanging_endpoint_neither_holds_the_batch_past_its_deadline_nor_resends_others(
    release: threading.Event,
) -> None:
    # Given a batch with a delivery to a hanging endpoint, one to a drip endpoint, and two
    # to a healthy one, in an invocation with 25 s left and attempts of 1.5 s
    store = MemoryEndpointStore()
    with (
        hanging_endpoint(release) as hanging,
        drip_endpoint(interval=0.4, lines=20) as drip,
        WebhookReceiver() as healthy,
    ):
        stuck = store.add(make_endpoint(f"{hanging.url}/in"))
        slow = store.add(make_endpoint(f"{drip.url}/in"))
        fine = store.add(make_endpoint(healthy.url))
        deliverer = sending_deliverer(store, HardenedSender(allow_local=True, timeout_seconds=1.5))
        deadline = time.monotonic() + 25

        started = time.monotonic()
        results = deliverer.deliver(
            [
                Delivery(stuck.endpoint_id, document("act_1"), "m1"),
                Delivery(slow.endpoint_id, document("act_2"), "m2"),
                Delivery(fine.endpoint_id, document("act_3"), "m3"),
                Delivery(fine.endpoint_id, document("act_4"), "m4"),
            ],
            lambda: int((deadline - time.monotonic()) * 1000),
        )
        took = time.monotonic() - started

        # Then all four settle within about one attempt's deadline: the healthy two at once
        assert took < 2.5, took
        assert [r.fate for r in results] == [Fate.RETRY, Fate.RETRY, Fate.DELIVERED, Fate.DELIVERED]
        assert all(r.acknowledged for r in results[2:])
        assert sorted(d.webhook_id for d in healthy.deliveries) == ["act_3", "act_4"]
        assert all(d.received_at - started < 1.0 for d in healthy.deliveries)
        assert len(requests_of(hanging)) == 1
        assert len(requests_of(drip)) == 1
