"""Webhooks out on the embedded stack as the e2e tests drive them: an endpoint registered with
`relay webhooks add`, the webhook functions run until something happened, events published."""

from __future__ import annotations

import json
import time
from pathlib import Path

from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.embedded import run_cli


def add(state_file: Path, receiver: WebhookReceiver, *options: str) -> str:
    result = run_cli(state_file, "webhooks", "add", receiver.url, "--json", *options)
    assert result.status == 0, result.err
    registered = json.loads(result.out)
    receiver.secret = registered["secret"]
    return str(registered["endpoint_id"])


def add_disabled(state_file: Path, receiver: WebhookReceiver) -> str:
    """An endpoint registered, then disabled by hand (`relay webhooks disable`): its id."""
    endpoint_id = add(state_file, receiver)
    assert run_cli(state_file, "webhooks", "disable", endpoint_id).status == 0
    return endpoint_id


def pump(relay: EmbeddedRelay, done: object, timeout: float = 20.0) -> None:
    """Run the webhook function's triggers until `done()` (retries wait their seconds)."""
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting for deliveries"
        relay.drain_webhooks()
        time.sleep(0.1)


def publish(relay: EmbeddedRelay, activities: int, activity_type: str = "call") -> list[str]:
    """New activities of one contact, synced: their events on the topic; their ids."""
    sandbox = relay.sandbox
    contact = sandbox.create_contact(activities=0)
    for _ in range(activities):
        sandbox.add_activity(contact, activity_type=activity_type)
    relay.sqs.send_message(QueueUrl=relay.stack.contact_queue_url, MessageBody=contact)
    relay.trigger.drain()
    return [a["id"] for a in sandbox.activities(contact)]
