"""The two webhook functions on the template's stack (moto) with real HTTP receivers: topic →
event queue (raw) → fan_out_webhooks (event kept, one delivery per endpoint) → delivery queue →
deliver_webhooks (sealed secret unsealed with KMS, each POST counted first, retries, dead
letters)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activity_relay.runtime import registry
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.webhook_functions import Webhooks, deploy_webhook_functions

pytestmark = pytest.mark.integration


@pytest.fixture
def webhooks(stack_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhooks]:
    stack = stack_factory(parameter_overrides={"WebhookRetrySchedule": "1s,1s"})
    yield deploy_webhook_functions(stack, monkeypatch, POWERTOOLS_TRACE_DISABLED="true")
    registry.reset()


def test_an_event_reaches_every_matching_endpoint_signed_and_byte_for_byte(
    webhooks: Webhooks, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver() as everything, WebhookReceiver() as calls_only:
        webhooks.register(everything)
        webhooks.register(calls_only, filter_policy={"activity_type": ["call", "meeting"]})

        note = webhooks.publish("act_note", "note")
        call = webhooks.publish("act_call", "call")
        webhooks.until(lambda: len(everything.deliveries) == 2 and len(calls_only.deliveries) == 1)

        assert all(d.verified for d in everything.deliveries + calls_only.deliveries)
        assert sorted(d.body for d in everything.deliveries) == sorted([note, call])
        assert [(d.webhook_id, d.body) for d in calls_only.deliveries] == [("act_call", call)]
    output = capsys.readouterr().out
    assert '"WebhookDeliveriesQueued"' in output
    assert '"WebhookDelivered"' in output
    # Both events were kept for replays, as published
    now = datetime.now(UTC)
    kept = sorted(e.body for e in webhooks.events_table.between(now - timedelta(hours=1), now))
    assert kept == sorted([note, call])


def test_a_250_kb_event_matching_ten_endpoints_reaches_all_ten(webhooks: Webhooks) -> None:
    receivers = [WebhookReceiver() for _ in range(10)]
    for receiver in receivers:
        receiver.start()
    try:
        for receiver in receivers:
            webhooks.register(receiver)
        body = webhooks.publish("act_big", "call", description="d" * 250_000)

        webhooks.until(lambda: all(r.deliveries for r in receivers), timeout=30)

        assert all([d.body for d in r.deliveries] == [body] for r in receivers)
        assert all(r.deliveries[0].verified for r in receivers)
        assert webhooks.dead_letters() == []
    finally:
        for receiver in receivers:
            receiver.stop()


def test_500_twice_then_200_is_retried_and_each_post_counted(
    webhooks: Webhooks, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver(answers=[500, 500, 200]) as flaky:
        endpoint = webhooks.register(flaky)

        webhooks.publish("act_1", "call")
        webhooks.until(lambda: len(flaky.deliveries) == 3)

        assert [d.answered for d in flaky.deliveries] == [500, 500, 200]
        assert all(d.verified for d in flaky.deliveries)
        gaps = [
            b.received_at - a.received_at
            for a, b in zip(flaky.deliveries, flaky.deliveries[1:], strict=False)
        ]
        assert all(gap >= 0.85 for gap in gaps), gaps  # the 1 s steps, less 10 % jitter
        attempts = webhooks.ledger.attempts(endpoint.endpoint_id)
        assert [(a.attempt, a.status, a.action) for a in reversed(attempts)] == [
            (1, 500, "retry"),
            (2, 500, "retry"),
            (3, 200, "delivered"),
        ]
        assert webhooks.dead_letters() == []
    output = capsys.readouterr().out
    assert '"WebhookRetried"' in output
    assert '"WebhookFailureStreak"' in output


def test_after_the_last_attempt_the_delivery_is_dead_lettered_with_its_status(
    webhooks: Webhooks,
) -> None:
    with WebhookReceiver(answers=[503]) as down:
        endpoint = webhooks.register(down)

        body = webhooks.publish("act_1", "call")
        letters: list[dict[str, Any]] = []
        webhooks.until(lambda: bool(letters.extend(webhooks.dead_letters()) or letters))

        assert len(down.deliveries) == 3  # 1 s, 1 s: three attempts
        assert letters == [
            {
                "body": body,
                "webhook_endpoint_id": endpoint.endpoint_id,
                "event_id": "act_1",
                "last_status": "503",
                "reason": "503 after 3 attempt(s)",
                "attempts": "3",
            }
        ]


def test_a_delivery_without_its_endpoint_is_dead_lettered_alone_and_the_batch_goes_out(
    webhooks: Webhooks, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver() as receiver:
        endpoint = webhooks.register(receiver)
        queue = webhooks.stack.outputs["WebhookDeliveryQueueUrl"]
        good = [webhooks.publish(f"act_{n}", "call") for n in (1, 2)]
        webhooks.fan_out.drain()
        # A poison delivery in the same batch: no webhook_endpoint_id attribute
        webhooks.sqs.send_message(QueueUrl=queue, MessageBody=good[0])

        webhooks.until(lambda: len(receiver.deliveries) == 2)
        (letter,) = webhooks.dead_letters()

        assert sorted(d.body for d in receiver.deliveries) == sorted(good)
        assert letter["reason"] == "the delivery names no endpoint"
        assert "webhook_endpoint_id" not in letter
        assert endpoint.endpoint_id
    assert '"WebhookDeadLettered"' in capsys.readouterr().out


def test_410_disables_the_endpoint_and_later_events_are_parked_for_it(
    webhooks: Webhooks, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver(answers=[410]) as gone:
        endpoint = webhooks.register(gone)

        webhooks.publish("act_1", "call")
        webhooks.until(lambda: bool(webhooks.dead_letters()))
        webhooks.publish("act_2", "call")
        webhooks.until(lambda: any(True for _ in webhooks.ledger.parked(endpoint.endpoint_id)))

        stored = webhooks.store.get(endpoint.endpoint_id)
        assert stored is not None
        assert not stored.enabled
        assert len(gone.deliveries) == 1
        assert [p.event_id for p in webhooks.ledger.parked(endpoint.endpoint_id)] == ["act_2"]
    output = capsys.readouterr().out
    assert '"WebhookEndpointDisabled"' in output
    assert '"WebhookDeliveriesParked"' in output
