"""Webhooks out on the embedded stack: contact id in → signed POSTs at registered endpoints,
and `relay webhooks …` managing them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.embedded import run_cli
from tests.support.webhook_cli import add, add_disabled, publish, pump

pytestmark = pytest.mark.e2e


def test_a_contact_id_in_becomes_signed_posts_at_two_endpoints_filtered(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    sandbox = relay.sandbox
    contact = sandbox.create_contact(activities=0)
    for activity_type in ("call", "note", "meeting", "email"):
        sandbox.add_activity(contact, activity_type=activity_type)
    with WebhookReceiver() as everything, WebhookReceiver() as calls:
        add(state_file, everything)
        add(state_file, calls, "--filter", '{"activity_type": ["call", "meeting"]}')

        assert run_cli(state_file, "enqueue", contact).status == 0
        relay.trigger.drain()
        pump(relay, lambda: len(everything.deliveries) == 4 and len(calls.deliveries) == 2)

        activities = {a["id"]: a for a in sandbox.activities(contact)}
        assert all(d.verified for d in everything.deliveries + calls.deliveries)
        assert sorted(d.webhook_id for d in everything.deliveries) == sorted(activities)
        assert sorted(d.document["activity_type"] for d in calls.deliveries) == ["call", "meeting"]
        for delivery in everything.deliveries:
            document = delivery.document
            assert document["event_id"] == delivery.webhook_id
            assert document["contact_id"] == contact
            assert document["activity"] == activities[delivery.webhook_id]


def test_500_twice_then_200_is_retried_and_delivered_once(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    contact = relay.sandbox.create_contact(activities=1)
    with WebhookReceiver(answers=[500, 500, 200]) as flaky:
        endpoint_id = add(state_file, flaky)
        run_cli(state_file, "enqueue", contact)
        relay.trigger.drain()
        pump(relay, lambda: len(flaky.deliveries) == 3)

        assert [d.answered for d in flaky.deliveries] == [500, 500, 200]
        assert len({d.webhook_id for d in flaky.deliveries}) == 1
        shown = run_cli(state_file, "webhooks", "show", endpoint_id, "--json")
        attempts = json.loads(shown.out)["attempts"]
        assert [(a["attempt"], a["status"], a["action"]) for a in reversed(attempts)] == [
            (1, 500, "retry"),
            (2, 500, "retry"),
            (3, 200, "delivered"),
        ]


def test_manage_endpoints_with_the_cli(relay: EmbeddedRelay, state_file: Path) -> None:
    with WebhookReceiver() as receiver:
        endpoint_id = add(state_file, receiver, "--description", "CRM mirror")

        listed = run_cli(state_file, "webhooks", "list")
        assert endpoint_id in listed.out
        assert "CRM mirror" in listed.out
        assert receiver.secret not in listed.out  # the secret is shown once, at add

        # test: a signed webhook.test now
        assert run_cli(state_file, "webhooks", "test", endpoint_id).status == 0
        pump(relay, lambda: len(receiver.deliveries) == 1)
        (delivery,) = receiver.deliveries
        assert delivery.verified
        assert delivery.document["event_type"] == "webhook.test"

        # rotate-secret: the old and the new secret both verify the next delivery
        old = receiver.secret
        rotated = run_cli(state_file, "webhooks", "rotate-secret", endpoint_id, "--json")
        new = json.loads(rotated.out)["secret"]
        assert new != old
        run_cli(state_file, "webhooks", "test", endpoint_id)
        pump(relay, lambda: len(receiver.deliveries) == 2)
        assert len(receiver.deliveries[1].signature.split(" ")) == 2
        assert receiver.deliveries[1].verified  # with the old secret
        receiver.secret = new
        run_cli(state_file, "webhooks", "test", endpoint_id)
        pump(relay, lambda: len(receiver.deliveries) == 3)
        assert receiver.deliveries[2].verified  # with the new one

        # disable: deliveries are parked unsent; enable sends them
        assert run_cli(state_file, "webhooks", "disable", endpoint_id).status == 0
        (missed,) = publish(relay, 1)
        pump(relay, lambda: relay.drain_webhooks() == 0)
        assert len(receiver.deliveries) == 3
        enabled = run_cli(state_file, "webhooks", "enable", endpoint_id)
        assert "1 delivery(ies) it missed queued" in enabled.out
        pump(relay, lambda: len(receiver.deliveries) == 4)
        assert receiver.deliveries[3].webhook_id == missed

        assert run_cli(state_file, "webhooks", "remove", endpoint_id).status == 0
        assert "0 endpoint(s)" in run_cli(state_file, "webhooks", "list").out


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["add", "ftp://example.com/x"], "not a URL"),
        (["add", "https://example.com/x", "--filter", "{"], "--filter is not JSON"),
        (["add", "https://example.com/x", "--filter", '{"title": ["x"]}'], "not one of"),
        (["show", "../etc"], "not an endpoint id"),
        (["show", "ep_" + "0" * 32], "no endpoint"),
        (["enable", "ep_" + "0" * 32], "no endpoint"),
        (["redrive"], "name an endpoint, or pass --events"),
        (["redrive", "ep_" + "0" * 32, "--events"], "name an endpoint, or pass --events"),
        (["replay", "ep_" + "0" * 32, "--since", "1h"], "no endpoint"),
    ],
)
def test_bad_input_gets_a_clear_error(state_file: Path, argv: list[str], complaint: str) -> None:
    result = run_cli(state_file, "webhooks", *argv)

    assert result.status == 2
    assert complaint in result.err


def test_what_is_published_while_an_endpoint_is_disabled_arrives_once_after_enable(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver() as receiver:
        endpoint_id = add_disabled(state_file, receiver)

        ids = publish(relay, 12)
        pump(relay, lambda: relay.drain_webhooks() == 0)
        shown = json.loads(run_cli(state_file, "webhooks", "show", endpoint_id, "--json").out)
        assert (shown["enabled"], shown["parked"], receiver.deliveries) == (False, 12, [])

        enabled = run_cli(state_file, "webhooks", "enable", endpoint_id)
        assert "12 delivery(ies) it missed queued" in enabled.out
        pump(relay, lambda: len(receiver.deliveries) == 12)
        pump(relay, lambda: relay.drain_webhooks() == 0)

        assert sorted(d.webhook_id for d in receiver.deliveries) == sorted(ids)  # none twice
        assert all(d.verified for d in receiver.deliveries)


def test_skip_missed_drops_what_was_published_while_disabled(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver() as receiver:
        endpoint_id = add_disabled(state_file, receiver)
        publish(relay, 3)
        pump(relay, lambda: relay.drain_webhooks() == 0)

        enabled = run_cli(state_file, "webhooks", "enable", endpoint_id, "--skip-missed")
        assert "3 missed delivery(ies) dropped" in enabled.out
        later = publish(relay, 1)
        pump(relay, lambda: len(receiver.deliveries) == 1)
        pump(relay, lambda: relay.drain_webhooks() == 0)

        assert [d.webhook_id for d in receiver.deliveries] == later


def test_a_time_range_is_replayed_with_the_same_webhook_ids_and_a_filter(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver() as receiver:
        endpoint_id = add(state_file, receiver)
        calls = publish(relay, 3, "call")
        notes = publish(relay, 2, "note")
        pump(relay, lambda: len(receiver.deliveries) == 5)

        replayed = run_cli(
            state_file,
            "webhooks",
            "replay",
            endpoint_id,
            "--since",
            "10m",
            "--filter",
            '{"activity_type": ["call"]}',
            "--json",
        )
        assert json.loads(replayed.out) == {"queued": 3, "not_queued": 0}
        pump(relay, lambda: len(receiver.deliveries) == 8)

        again = [d.webhook_id for d in receiver.deliveries[5:]]
        assert sorted(again) == sorted(calls)
        assert all(d.verified for d in receiver.deliveries)
        assert not set(again) & set(notes)
        # Nothing from before the range
        empty = run_cli(
            state_file, "webhooks", "replay", endpoint_id, "--since", "2h", "--until", "1h"
        )
        assert "replaying 0 event(s)" in empty.out


def test_a_dead_lettered_event_that_reached_no_endpoint_is_fanned_out_again(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver() as receiver:
        add(state_file, receiver)
        # An event the fan-out failed on: SQS moved it to the dead-letter queue, no endpoint
        body = json.dumps(
            {
                "schema_version": "1.0",
                "event_id": "act_lost",
                "event_type": "activity.created",
                "contact_id": "123e4567-e89b-12d3-a456-426614174000",
                "activity_type": "call",
                "occurred_at": "2026-03-01T10:00:00Z",
                "activity": {"id": "act_lost"},
            }
        )
        relay.sqs.send_message(
            QueueUrl=relay.stack.outputs["WebhookDeadLetterQueueUrl"],
            MessageBody=body,
            MessageAttributes={"activity_type": {"DataType": "String", "StringValue": "call"}},
        )

        moved = run_cli(state_file, "webhooks", "redrive", "--events")
        assert "redrove 1 event(s) to the fan-out" in moved.out
        pump(relay, lambda: len(receiver.deliveries) == 1)

        assert receiver.deliveries[0].webhook_id == "act_lost"
        assert receiver.deliveries[0].verified


def test_migrate_seals_secrets_stored_in_the_clear_and_deletes_old_rows(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    from activity_relay.core.webhooks_out.signing import SealedSecret
    from tests.support.webhooks_out import make_endpoint

    with WebhookReceiver() as receiver:
        # An endpoint as an older stack stored it: its secret in the clear, attempts beside it
        legacy = make_endpoint(receiver.url)
        receiver.secret = legacy.secrets[0].value  # type: ignore[union-attr]
        store = relay.endpoint_store()
        store.add(legacy)
        relay.session().client("dynamodb", endpoint_url=relay.endpoint_url).put_item(
            TableName=relay.stack.outputs["WebhookEndpointTableName"],
            Item={
                "endpoint_id": {"S": legacy.endpoint_id},
                "item": {"S": "attempt#2026-03-01T09:00:00+00:00#act_0#1"},
            },
        )
        assert (
            "1 endpoint(s) to seal, 1 old row(s)"
            in run_cli(state_file, "webhooks", "migrate", "--dry-run").out
        )

        migrated = run_cli(state_file, "webhooks", "migrate")
        assert "sealed the secrets of 1 endpoint(s); deleted 1 old row(s)" in migrated.out
        stored = store.get(legacy.endpoint_id)
        assert stored is not None
        assert all(isinstance(s, SealedSecret) for s in stored.secrets)

        # It still signs with the same secret, now unsealed by the delivery function
        run_cli(state_file, "webhooks", "test", legacy.endpoint_id)
        pump(relay, lambda: len(receiver.deliveries) == 1)
        assert receiver.deliveries[0].verified
        assert (
            "0 endpoint(s) to seal, 0 old row(s)"
            in run_cli(state_file, "webhooks", "migrate", "--dry-run").out
        )


def test_a_dead_lettered_delivery_is_redriven_to_its_endpoint(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    with WebhookReceiver(answers=[410, 200]) as receiver:
        endpoint_id = add(state_file, receiver)
        (event_id,) = publish(relay, 1)
        pump(relay, lambda: len(receiver.deliveries) == 1)
        pump(relay, lambda: relay.drain_webhooks() == 0)
        assert not json.loads(run_cli(state_file, "webhooks", "show", endpoint_id, "--json").out)[
            "enabled"
        ]

        run_cli(state_file, "webhooks", "enable", endpoint_id)
        redriven = run_cli(state_file, "webhooks", "redrive", endpoint_id)
        assert f"redrove 1 delivery(ies) to {endpoint_id}" in redriven.out
        pump(relay, lambda: len(receiver.deliveries) == 2)

        assert [d.webhook_id for d in receiver.deliveries] == [event_id, event_id]
        assert [d.answered for d in receiver.deliveries] == [410, 200]


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (["--since", "yesterday"], "--since: not an ISO 8601 time or 90m / 6h / 3d"),
        (["--since", "1h", "--until", "2h"], "--since must be before --until"),
        (["--since", "1h", "--filter", "{"], "--filter is not JSON"),
        (["--since", "1h", "--filter", '{"amount": [{"numeric": [">", 1]}]}'], "not one of"),
    ],
)
def test_a_bad_replay_is_refused_and_queues_nothing(
    relay: EmbeddedRelay, state_file: Path, options: list[str], complaint: str
) -> None:
    with WebhookReceiver() as receiver:
        endpoint_id = add(state_file, receiver)
        publish(relay, 1)
        pump(relay, lambda: len(receiver.deliveries) == 1)

        result = run_cli(state_file, "webhooks", "replay", endpoint_id, *options)
        pump(relay, lambda: relay.drain_webhooks() == 0)

        assert result.status == 2
        assert complaint in result.err
        assert len(receiver.deliveries) == 1
