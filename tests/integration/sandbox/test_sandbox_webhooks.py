"""Webhook deliveries: signed raw JSON POSTs in the shape LeadLex documents."""

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from leadlex_sandbox import SandboxServer
from loopback import LoopbackServer

SECRET = "whsec_test"


@dataclass
class Receiver:
    url: str
    status: int = 200
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP endpoint that records what it receives and answers `receiver.status`."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.deliveries.append((dict(self.headers), body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with LoopbackServer(Handler, poll_interval=0.02) as server:
        state.url = f"{server.url}/hooks/leadlex"
        yield state


def test_a_delivery_is_signed_and_shaped_as_documented(
    sandbox: SandboxServer, receiver: Receiver
) -> None:
    contact = sandbox.create_contact()
    activity = sandbox.add_activity(contact, activity_type="call")

    status = sandbox.deliver_webhook(receiver.url, SECRET, activity=activity)

    assert status == 200
    [(headers, body)] = receiver.deliveries
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-LeadLex-Signature"] == f"sha256={expected}"
    assert headers["User-Agent"] == "LeadLex-Webhook/1.0"
    assert headers["Content-Type"] == "application/json"
    uuid.UUID(headers["X-LeadLex-Delivery-ID"])
    datetime.fromisoformat(headers["X-LeadLex-Timestamp"])
    payload = json.loads(body)
    assert payload["event"] == "activity.created"
    assert payload["workspace_id"] == sandbox.workspace_id
    assert payload["timestamp"] == headers["X-LeadLex-Timestamp"]
    assert payload["data"]["activity"] == {**activity, "contact_id": contact}


def test_each_delivery_has_its_own_id_and_the_receivers_status_is_returned(
    sandbox: SandboxServer, receiver: Receiver
) -> None:
    contact = sandbox.create_contact(activities=1)
    receiver.status = 500

    statuses = [sandbox.deliver_webhook(receiver.url, SECRET, contact_id=contact) for _ in "ab"]

    assert statuses == [500, 500]
    ids = {headers["X-LeadLex-Delivery-ID"] for headers, _ in receiver.deliveries}
    assert len(ids) == 2
    assert [d.status for d in sandbox.webhook_deliveries] == [500, 500]


def test_a_forged_signature_can_be_sent(sandbox: SandboxServer, receiver: Receiver) -> None:
    contact = sandbox.create_contact(activities=1)

    sandbox.deliver_webhook(receiver.url, SECRET, contact_id=contact, signature="sha256=00")

    assert receiver.deliveries[0][0]["X-LeadLex-Signature"] == "sha256=00"


def test_registered_webhooks_hear_of_every_added_activity(
    sandbox: SandboxServer, receiver: Receiver
) -> None:
    contact = sandbox.create_contact(activities=3)  # seeded before registration: not sent
    sandbox.register_webhook(receiver.url, SECRET)

    added = [sandbox.add_activity(contact) for _ in range(2)]

    sent = [json.loads(body)["data"]["activity"]["id"] for _, body in receiver.deliveries]
    assert sent == [activity["id"] for activity in added]


def test_an_unreachable_registered_webhook_does_not_break_adding(sandbox: SandboxServer) -> None:
    sandbox.register_webhook("http://127.0.0.1:9/unreachable", SECRET)
    contact = sandbox.create_contact()

    activity = sandbox.add_activity(contact)

    assert sandbox.activities(contact) == [activity]
    assert [d.status for d in sandbox.webhook_deliveries] == [None]


def test_an_activity_can_be_added_without_its_webhook_or_its_webhook_lost(
    sandbox: SandboxServer, receiver: Receiver
) -> None:
    # Given a registered webhook, and LeadLex set to lose the next delivery
    sandbox.register_webhook(receiver.url, SECRET)
    contact = sandbox.create_contact()
    sandbox.faults.lose_webhooks_next(1)
    assert sandbox.faults.pending()["lose_webhooks_next"] == 1

    # When three activities are added: one without a webhook, one lost, one sent
    quiet = sandbox.add_activity(contact, webhook=False)
    lost = sandbox.add_activity(contact)
    sent = sandbox.add_activity(contact)

    # Then only the last one's webhook went out, and all three are listed
    assert [json.loads(body)["data"]["activity"]["id"] for _, body in receiver.deliveries] == [
        sent["id"]
    ]
    assert {a["id"] for a in sandbox.activities(contact)} == {quiet["id"], lost["id"], sent["id"]}
    assert sandbox.faults.pending()["lose_webhooks_next"] == 0


# --- POST /v1/webhooks: registration as LeadLex documents it ------------------------------------


def register(sandbox: SandboxServer, body: object, key: str | None = None) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}/v1/webhooks",
        json=body,
        headers={"Authorization": f"Bearer {key or sandbox.create_key()}"},
        timeout=5,
    )


def test_registering_returns_the_secret_that_signs_every_delivery(
    sandbox: SandboxServer, receiver: Receiver
) -> None:
    # Given a webhook registered for activity.created through the API
    response = register(
        sandbox, {"url": receiver.url, "events": ["activity.created"], "description": "relay"}
    )
    assert response.status_code == 201
    registered = response.json()["data"]
    assert registered["secret"].startswith("whsec_")
    assert registered["url"] == receiver.url
    assert registered["events"] == ["activity.created"]
    assert registered["active"] is True
    # When an activity is logged
    contact = sandbox.create_contact()
    activity = sandbox.add_activity(contact)
    # Then it is delivered, signed with that secret
    [(headers, body)] = receiver.deliveries
    expected = hmac.new(registered["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-LeadLex-Signature"] == f"sha256={expected}"
    assert json.loads(body)["data"]["activity"]["id"] == activity["id"]
    assert "secret" not in sandbox.registered_webhooks[0]


def test_the_same_url_twice_is_409_duplicate_webhook(
    sandbox: SandboxServer, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "events": ["activity.created"]}
    assert register(sandbox, body).status_code == 201

    second = register(sandbox, body)

    assert second.status_code == 409
    assert second.json()["error"]["code"] == "duplicate_webhook"
    assert len(sandbox.registered_webhooks) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/x", "events": ["activity.created"]},
        {"url": "http://example.com/x", "events": ["activity.created"]},
        {"url": "https://example.com/x", "events": []},
        {"url": "https://example.com/x", "events": ["Activity Created"]},
        {"events": ["activity.created"]},
        ["https://example.com/x"],
    ],
    ids=["ftp", "plain http", "no events", "bad event name", "no url", "not an object"],
)
def test_an_invalid_registration_is_400_validation_error(
    sandbox: SandboxServer, body: object
) -> None:
    response = register(sandbox, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert sandbox.registered_webhooks == []


def test_registering_needs_a_valid_key(sandbox: SandboxServer) -> None:
    response = register(
        sandbox, {"url": "https://example.com/x", "events": ["activity.created"]}, key="wbk_nope"
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_key"


def test_only_subscribed_active_webhooks_hear_of_activities(
    sandbox: SandboxServer, receiver: Receiver
) -> None:
    register(sandbox, {"url": receiver.url + "/deals", "events": ["deal.created"]})
    register(
        sandbox, {"url": receiver.url + "/off", "events": ["activity.created"], "active": False}
    )

    sandbox.add_activity(sandbox.create_contact())

    assert receiver.deliveries == []
