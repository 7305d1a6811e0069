"""`relay webhooks listen` on the embedded stack, its webhook functions running as `make local`
runs them: a temporary endpoint on 127.0.0.1, each delivery verified and printed or forwarded,
the endpoint removed on exit."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from standardwebhooks import Webhook

from relay_cli.commands.webhook_listen import DESCRIPTION
from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.embedded import CliResult, run_cli
from tests.support.webhook_cli import publish

pytestmark = pytest.mark.e2e


@contextmanager
def listening(
    relay: EmbeddedRelay, state_file: Path, *options: str
) -> Iterator[tuple[str, Future[CliResult]]]:
    """`relay webhooks listen OPTIONS` running in a thread, once its endpoint is registered: the
    endpoint's id and the command's result to come (give it --idle, so that it ends)."""
    relay.start_webhooks()
    with ThreadPoolExecutor(1) as pool:
        listened = pool.submit(run_cli, state_file, "webhooks", "listen", *options)
        deadline = time.monotonic() + 20
        while not (ids := _listeners(relay)):
            assert not listened.done(), listened.result().err
            assert time.monotonic() < deadline, "listen registered no endpoint"
            time.sleep(0.05)
        yield ids[0], listened


def _listeners(relay: EmbeddedRelay) -> list[str]:
    endpoints = relay.endpoint_store().endpoints()
    return [e.endpoint_id for e in endpoints if e.description == DESCRIPTION and not e.removed]


def lines_of(result: CliResult, event_id: str) -> list[str]:
    return [line for line in result.out.splitlines() if event_id in line]


def test_listen_verifies_and_prints_what_its_filter_matches_then_removes_its_endpoint(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with listening(
        relay,
        state_file,
        "--filter",
        '{"activity_type": ["meeting"]}',
        "--count",
        "1",
        "--idle",
        "30",
    ) as (endpoint_id, listened):
        (call,) = publish(relay, 1, "call")
        (meeting,) = publish(relay, 1, "meeting")
        result = listened.result(timeout=60)

    assert result.status == 0, result.err
    (line,) = lines_of(result, meeting)
    assert re.search(r"activity\.created  contact [0-9a-f-]{36}  meeting  attempt 1", line)
    assert line.endswith("verified yes  answered 200")
    assert not lines_of(result, call)  # its filter
    assert f"1 delivery(ies); endpoint {endpoint_id} removed" in result.out
    assert _listeners(relay) == []
    assert "0 endpoint(s)" in run_cli(state_file, "webhooks", "list").out


def test_listen_forwards_each_verified_delivery_and_answers_what_the_target_answered(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver(answers=[500, 200]) as app:
        options = ("--forward-to", app.url, "--count", "2", "--idle", "30")
        with listening(relay, state_file, *options) as (_, listened):
            (event_id,) = publish(relay, 1)
            result = listened.result(timeout=60)

    assert result.status == 0, result.err
    first, retried = lines_of(result, event_id)  # the 500 the target answered made a retry
    assert first.endswith("attempt 1  verified yes  forwarded: 500  answered 500")
    assert retried.endswith("attempt 2  verified yes  forwarded: 200  answered 200")
    # The raw body and the relay's signature reached the target, which verifies them with the
    # secret listen printed for it.
    secret = re.search(r"secret +(whsec_\S+)", result.out).group(1)  # type: ignore[union-attr]
    assert [d.webhook_id for d in app.deliveries] == [event_id, event_id]
    for delivery in app.deliveries:
        headers = {
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": delivery.timestamp,
            "webhook-signature": delivery.signature,
        }
        assert Webhook(secret).verify(delivery.body, headers)["event_id"] == event_id


def test_a_target_that_is_down_is_answered_502_so_that_the_relay_retries(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver() as gone:
        down = gone.url  # its port refuses connections once the block is left
    options = ("--forward-to", down, "--count", "1", "--idle", "30")
    with listening(relay, state_file, *options) as (_, listened):
        (event_id,) = publish(relay, 1)
        result = listened.result(timeout=60)

    (line,) = lines_of(result, event_id)
    assert line.endswith("attempt 1  verified yes  forward failed: ConnectionError  answered 502")


def test_a_delivery_that_does_not_verify_is_answered_401_and_not_forwarded(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver() as app:
        options = ("--forward-to", app.url, "--count", "1", "--idle", "30")
        with listening(relay, state_file, *options) as (endpoint_id, listened):
            endpoint = relay.endpoint_store().get(endpoint_id)
            assert endpoint is not None
            forged = requests.post(
                endpoint.url,
                data=b'{"event_id": "act_forged", "event_type": "activity.created"}',
                headers={
                    "webhook-id": "act_forged",
                    "webhook-timestamp": str(int(time.time())),
                    "webhook-signature": "v1,Zm9yZ2Vk",
                },
                timeout=5,
            )
            result = listened.result(timeout=30)

    assert forged.status_code == 401
    (line,) = lines_of(result, "act_forged")
    assert "activity.created  contact -  -  attempt 1  verified no (" in line
    assert line.endswith("answered 401")
    assert app.requests == 0


def test_listen_refuses_a_deployed_stack_and_says_why(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path / "no-local-stack.json",
        "--region",
        "eu-west-1",
        "webhooks",
        "--webhook-table",
        "relay-WebhookEndpointTable",
        "listen",
    )

    assert result.status == 2
    assert "works on the local stack only" in result.err
    assert "a public listener is out of scope" in result.err


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (["--count", "0"], "--count must be 1 or more"),
        (["--idle", "0"], "--idle must be more than 0 seconds"),
        (["--forward-to", "ftp://example.com/x"], "--forward-to: not an http(s) URL"),
        (["--filter", "{"], "--filter is not JSON"),
    ],
)
def test_bad_listen_options_are_refused_before_anything_is_registered(
    relay: EmbeddedRelay, state_file: Path, options: list[str], complaint: str
) -> None:
    result = run_cli(state_file, "webhooks", "listen", *options)

    assert result.status == 2
    assert complaint in result.err
    assert relay.endpoint_store().endpoints() == []
