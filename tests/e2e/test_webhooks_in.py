"""LeadLex webhooks in, end to end on the embedded stack: an activity logged in the sandbox → a
signed webhook → the receiver's Function URL → the event at the subscribers at once (the fast
path), or → the contact queue → the sync → the subscribers (the fast path off), with no manual
enqueue."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest
import requests

from relay_local.embedded import EmbeddedRelay, Received
from relay_local.template import load_template
from tests.support.embedded import StartRelay, run_cli

pytestmark = pytest.mark.e2e


def wait_for(
    relay: EmbeddedRelay, count: int, *, timeout: float = 60, subscriber: str = "bus"
) -> list[Received]:
    """What the subscriber received, once it holds `count` events (or the time is up); what
    the others received meanwhile is dropped."""
    return [r for r in wait_for_all(relay, count, timeout=timeout) if r.subscriber == subscriber]


def wait_for_all(relay: EmbeddedRelay, count: int, *, timeout: float = 60) -> list[Received]:
    """What every subscriber received, once the bus's subscriber holds `count` events."""
    received: list[Received] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        received += relay.received()
        if sum(r.subscriber == "bus" for r in received) >= count:
            break
        time.sleep(0.2)
    return received


@pytest.fixture
def relay(start_relay: StartRelay) -> EmbeddedRelay:
    """The local stack with its webhook receiver, served and registered in LeadLex; the
    `state_file` fixture (tests/e2e/conftest.py) points the relay CLI at it."""
    return start_relay(webhooks=True)


def test_with_the_fast_path_off_an_activity_logged_in_leadlex_reaches_the_subscribers_by_a_sync(
    start_relay: StartRelay,
) -> None:
    # Given the relay with its webhook receiver registered with LeadLex (the sandbox), the
    # fast path off: today's behaviour, the webhook only enqueues its contact
    relay = start_relay(webhooks=True, parameter_overrides={"WebhookFastPath": "off"})
    assert relay.receiver.registered
    contact = relay.sandbox.create_contact(activities=2)  # seeded: no webhook
    # When an activity is logged in LeadLex
    activity = relay.sandbox.add_activity(contact, activity_type="call")
    # Then LeadLex's signed delivery was accepted and the contact is on the queue: one sync
    # publishes the contact's history, the new call included; nobody enqueued anything
    assert [d.status for d in relay.sandbox.webhook_deliveries] == [202]
    results = relay.trigger.drain()
    assert [len(r.received) for r in results] == [1]
    received = relay.received()
    bus = {str(r.document["event_id"]) for r in received if r.subscriber == "bus"}
    topic = [str(r.document["event_id"]) for r in received if r.subscriber == "topic"]
    assert bus == {a["id"] for a in relay.sandbox.activities(contact)}
    assert activity["id"] in topic  # a call passes the topic's filter policy


def test_the_fast_path_publishes_the_activity_a_webhook_carries_with_no_leadlex_request(
    start_relay: StartRelay,
) -> None:
    # Given the relay as the template deploys it (the fast path on), and a contact it never
    # synced whose history holds two activities (seeded: no webhook)
    relay = start_relay(webhooks=True)
    contact = relay.sandbox.create_contact(activities=2)
    history = {a["id"] for a in relay.sandbox.activities(contact)}
    relay.sandbox.reset_stats()

    # When an activity is logged in LeadLex
    activity = relay.sandbox.add_activity(contact, activity_type="call")

    # Then its event reaches both channels from the webhook alone: no LeadLex request, nothing
    # on the contact queue
    received = wait_for_all(relay, 1)
    (event,) = [r for r in received if r.subscriber == "bus"]
    assert event.document["event_id"] == activity["id"]
    assert event.document["origin"] == "webhook"
    assert event.document["activity"] == activity | {"contact_id": contact}
    assert [d.status for d in relay.sandbox.webhook_deliveries] == [202]
    assert relay.sandbox.listing_requests(contact) == 0
    assert relay.trigger.drain() == []
    topic = [r.document["event_id"] for r in received if r.subscriber == "topic"]
    assert topic == [activity["id"]]

    # And when the contact's reconciliation polls it, its history goes out and the webhook's
    # activity does not go out again
    relay.sqs.send_message(QueueUrl=relay.stack.contact_queue_url, MessageBody=contact)
    relay.trigger.drain()
    bus = [str(r.document["event_id"]) for r in relay.received() if r.subscriber == "bus"]
    assert sorted(bus) == sorted(history)
    assert relay.sandbox.listing_requests(contact) == 1


def test_with_the_fast_path_a_burst_of_20_webhooks_costs_no_request(
    start_relay: StartRelay,
) -> None:
    relay = start_relay(webhooks=True)
    sandbox = relay.sandbox
    contact = sandbox.create_contact(activities=5)
    sandbox.reset_stats()

    burst = [sandbox.add_activity(contact) for _ in range(20)]

    received = wait_for(relay, 20)
    assert sorted(str(r.document["event_id"]) for r in received) == sorted(a["id"] for a in burst)
    assert [d.status for d in sandbox.webhook_deliveries[-20:]] == [202] * 20
    assert sandbox.listing_requests(contact) == 0
    # And the same deliveries again (LeadLex's retries, a replay) publish nothing twice
    secret = (
        relay.session()
        .client("secretsmanager", endpoint_url=relay.endpoint_url)
        .get_secret_value(SecretId=relay.stack.outputs["WebhookSecretArn"])["SecretString"]
    )
    for activity in burst[:5]:
        assert sandbox.deliver_webhook(relay.receiver.url, secret, activity=activity) == 202
    assert [r for r in relay.received() if r.subscriber == "bus"] == []


def test_a_forged_delivery_is_refused_and_enqueues_nothing(start_relay: StartRelay) -> None:
    relay = start_relay(webhooks=True)
    contact = relay.sandbox.create_contact(activities=1)

    status = relay.sandbox.deliver_webhook(relay.receiver.url, "whsec_guess", contact_id=contact)

    assert status == 401
    assert relay.trigger.drain() == []


def test_the_function_url_answers_http_as_lambda_would(start_relay: StartRelay) -> None:
    relay = start_relay(webhooks=True)

    assert requests.get(relay.receiver.url, timeout=5).status_code == 405
    unsigned = requests.post(relay.receiver.url, data=b"{}", timeout=5)
    assert unsigned.status_code == 401
    assert unsigned.headers["Content-Type"] == "application/json"


def test_with_the_fast_path_off_a_burst_of_20_webhooks_for_one_contact_costs_at_most_2_requests(
    start_relay: StartRelay,
) -> None:
    # The template delays every contact id 300 s, so that a burst shares one sync. A delay of
    # 3 s on this stack shows the same mechanism: the messages of the burst become visible after
    # the burst, one sync covers them all, and the rest were sent before it started (coalesced).
    assert load_template()["Parameters"]["DeliveryDelaySeconds"]["Default"] == 300
    relay = start_relay(
        webhooks=True,
        parameter_overrides={"DeliveryDelaySeconds": 3, "WebhookFastPath": "off"},
    )
    sandbox = relay.sandbox
    contact = sandbox.create_contact(activities=5)
    sandbox.add_activity(contact)
    relay.trigger.start(wait_seconds=1)  # polling, as Lambda's event source does
    assert len(wait_for(relay, 6)) == 6  # first sync: the contact's history
    sandbox.reset_stats()

    # When LeadLex sends 20 webhooks for the contact in a burst
    burst = [sandbox.add_activity(contact) for _ in range(20)]

    # Then all 20 activities arrive, for at most 2 LeadLex requests
    received = wait_for(relay, 20)
    relay.trigger.stop()
    assert {str(r.document["event_id"]) for r in received} == {a["id"] for a in burst}
    assert [d.status for d in sandbox.webhook_deliveries[-20:]] == [202] * 20
    assert sandbox.listing_requests(contact) <= 2


def test_register_webhook_from_the_cli_stores_the_secret_the_receiver_uses(
    relay: EmbeddedRelay, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the local stack with its receiver served but not yet registered
    relay.sandbox.unregister_webhooks()
    monkeypatch.setenv("LEADLEX_API_KEY", relay.sandbox.create_key())
    # When the CLI registers it (URL, LeadLex base and secret all found from the stack)
    result = run_cli(state_file, "leadlex", "register-webhook")
    # Then the secret is in the stack's secret and deliveries signed with it are accepted
    assert result.status == 0, result.err
    assert "stored in" in result.out
    secret = (
        relay.session()
        .client("secretsmanager", endpoint_url=relay.endpoint_url)
        .get_secret_value(SecretId=relay.stack.outputs["WebhookSecretArn"])["SecretString"]
    )
    assert secret.startswith("whsec_")
    assert secret not in result.out + result.err
    contact = relay.sandbox.create_contact()
    relay.sandbox.add_activity(contact)
    assert relay.sandbox.webhook_deliveries[-1].status == 202
    # And registering the same URL again is refused with what to do
    again = run_cli(state_file, "leadlex", "register-webhook")
    assert again.status == 2, "nothing done"
    assert "409 duplicate_webhook" in again.err


def test_register_webhook_prints_the_secret_when_asked(
    relay: EmbeddedRelay, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADLEX_API_KEY", relay.sandbox.create_key())

    result = run_cli(
        state_file,
        "leadlex",
        "register-webhook",
        "--url",
        "https://example.com/h",
        "--print-secret",
    )

    assert result.status == 0, result.err
    assert "whsec_" in result.out
    assert "shown once" in result.out


def test_register_webhook_reads_the_key_from_its_secret(
    relay: EmbeddedRelay, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADLEX_API_KEY", raising=False)
    secrets = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("secretsmanager", endpoint_url=relay.endpoint_url)
    arn = secrets.create_secret(
        Name="leadlex/api-key", SecretString='{"api_key": "' + relay.sandbox.create_key() + '"}'
    )["ARN"]

    result = run_cli(
        state_file,
        "leadlex",
        "register-webhook",
        "--url",
        "https://example.com/other",
        "--api-key-secret-id",
        arn,
    )

    assert result.status == 0, result.err
    assert len(relay.sandbox.registered_webhooks) == 2


def test_register_webhook_says_when_leadlex_refuses_the_key(
    relay: EmbeddedRelay, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADLEX_API_KEY", "wbk_live_revoked")

    result = run_cli(state_file, "leadlex", "register-webhook", "--url", "https://example.com/x")

    assert result.status == 2, "nothing done"
    assert "401 invalid_key" in result.err
