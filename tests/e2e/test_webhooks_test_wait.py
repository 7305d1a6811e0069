"""`relay webhooks test ID --wait` on the embedded stack: the test event followed to its first
attempt, and a non-zero exit whenever it was not delivered, with the reason."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.embedded import run_cli
from tests.support.webhook_cli import add, add_disabled, pump

pytestmark = pytest.mark.e2e


def test_wait_prints_the_status_latency_and_attempt_of_a_delivered_test(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    relay.start_webhooks()
    with WebhookReceiver() as receiver:
        endpoint_id = add(state_file, receiver)

        result = run_cli(state_file, "webhooks", "test", endpoint_id, "--wait", "--timeout", "20")

        assert result.status == 0, result.out + result.err
        assert "delivered: HTTP 200 in " in result.out
        assert "ms (attempt 1)" in result.out
        (delivery,) = receiver.deliveries
        assert delivery.verified
        assert delivery.document["event_type"] == "webhook.test"


def test_wait_against_a_receiver_that_is_down_says_what_failed_and_when_it_is_retried(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver() as receiver:
        endpoint_id = add(state_file, receiver)
    relay.start_webhooks()  # the receiver has stopped: its port refuses connections

    result = run_cli(state_file, "webhooks", "test", endpoint_id, "--wait", "--timeout", "20")

    assert result.status == 1
    assert "not delivered: connection failed" in result.out
    assert "(attempt 1); it will be retried at 20" in result.out


def test_wait_says_a_410_dead_lettered_the_test_and_disables_the_endpoint(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    relay.start_webhooks()
    with WebhookReceiver(answers=[410]) as receiver:
        endpoint_id = add(state_file, receiver)

        result = run_cli(state_file, "webhooks", "test", endpoint_id, "--wait", "--timeout", "20")

    assert result.status == 1
    assert "not delivered: answered HTTP 410 in " in result.out
    assert f"dead-lettered (`relay webhooks redrive {endpoint_id}` sends it again)" in result.out
    assert "a 410 disables the endpoint" in result.out


def test_a_disabled_endpoint_gets_no_test_and_the_command_fails_saying_so(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver() as receiver:
        endpoint_id = add_disabled(state_file, receiver)

        waited = run_cli(state_file, "webhooks", "test", endpoint_id, "--wait")
        plain = run_cli(state_file, "webhooks", "test", endpoint_id)
        pump(relay, lambda: relay.drain_webhooks() == 0)

        for result in (waited, plain):
            assert result.status == 2
            assert f"{endpoint_id} is disabled (by hand): no test sent" in result.err
        assert receiver.requests == 0
        assert (
            "0 delivery(ies) it missed"
            in run_cli(state_file, "webhooks", "enable", endpoint_id).out
        )


def test_wait_says_the_test_was_parked_when_the_endpoint_is_disabled_before_it_goes_out(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    deliveries = relay.stack.outputs["WebhookDeliveryQueueUrl"]
    with WebhookReceiver() as receiver, ThreadPoolExecutor(1) as pool:
        endpoint_id = add(state_file, receiver)
        waiting = pool.submit(
            run_cli, state_file, "webhooks", "test", endpoint_id, "--wait", "--timeout", "20"
        )
        deadline = time.monotonic() + 10
        while not _visible(relay, deliveries):  # queued, not yet attempted
            assert time.monotonic() < deadline, "the test was never queued"
            time.sleep(0.05)
        run_cli(state_file, "webhooks", "disable", endpoint_id)
        relay.drain_webhooks()
        result = waiting.result(timeout=30)

    assert result.status == 1
    assert (
        "the endpoint was disabled (by hand) before it went out; it is parked until" in result.out
    )
    assert receiver.requests == 0


def _visible(relay: EmbeddedRelay, queue_url: str) -> int:
    attributes = relay.sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_wait_gives_up_after_its_timeout_when_no_delivery_function_runs(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver() as receiver:
        endpoint_id = add(state_file, receiver)

        result = run_cli(state_file, "webhooks", "test", endpoint_id, "--wait", "--timeout", "1")

    assert result.status == 1
    assert "not delivered: no attempt within 1 s; the delivery is still queued" in result.out
