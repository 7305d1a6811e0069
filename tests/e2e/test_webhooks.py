"""Webhooks out on the embedded stack: contact id in → signed POSTs at registered endpoints,
and `relay webhooks …` managing them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.embedded import run_cli

pytestmark = pytest.mark.e2e


def add(state_file: Path, receiver: WebhookReceiver, *options: str) -> str:
    result = run_cli(state_file, "webhooks", "add", receiver.url, "--json", *options)
    assert result.status == 0, result.err
    registered = json.loads(result.out)
    receiver.secret = registered["secret"]
    return str(registered["endpoint_id"])


def pump(relay: EmbeddedRelay, done: object, timeout: float = 20.0) -> None:
    """Run the webhook function's triggers until `done()` (retries wait their seconds)."""
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting for deliveries"
        relay.drain_webhooks()
        time.sleep(0.1)


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

        # disable: deliveries are dead-lettered unsent; enable + redrive sends them
        assert run_cli(state_file, "webhooks", "disable", endpoint_id).status == 0
        run_cli(state_file, "webhooks", "test", endpoint_id)
        pump(relay, lambda: relay.drain_webhooks() == 0)
        assert len(receiver.deliveries) == 3
        assert run_cli(state_file, "webhooks", "enable", endpoint_id).status == 0
        redriven = run_cli(state_file, "webhooks", "redrive", endpoint_id)
        assert "redrove 1 delivery(ies)" in redriven.out
        pump(relay, lambda: len(receiver.deliveries) == 4)
        assert receiver.deliveries[3].document["event_type"] == "webhook.test"

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
    ],
)
def test_bad_input_gets_a_clear_error(state_file: Path, argv: list[str], complaint: str) -> None:
    result = run_cli(state_file, "webhooks", *argv)

    assert result.status == 2
    assert complaint in result.err
