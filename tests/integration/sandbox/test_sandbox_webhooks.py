"""Webhook deliveries: signed raw JSON POSTs in the shape LeadLex documents."""

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leadlex_sandbox import SandboxServer

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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/leadlex"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


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
