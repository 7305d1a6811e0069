"""The sandbox's webhooks: where deliveries go, how one is signed and sent, what each became.

Two kinds of target: URLs given to the admin interface (`register_webhook`), which get every
event, and registrations through the API (POST /v1/webhooks, webhook_registration.py), which get
their events while active. A URL is registered once, whichever the kind.

A delivery is the documented POST: a JSON body `{"event", "timestamp", "workspace_id", "data":
{"activity": {..., "contact_id"}}}` signed with HMAC-SHA256 of the secret (X-LeadLex-Signature:
sha256=<hex>), with X-LeadLex-Timestamp and X-LeadLex-Delivery-ID.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from leadlex_sandbox import fake_data
from leadlex_sandbox.webhook_registration import Registration


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    url: str
    event: str
    delivery_id: str
    activity_id: str | None
    status: int | None  # None: the receiver could not be reached


class Webhooks:
    """The targets and the record of deliveries. Not thread-safe: the sandbox's lock guards it.

    `rng` is the sandbox's own generator: a registration's id and secret come from it.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._admin: list[tuple[str, str]] = []
        # Registered through the API (POST /v1/webhooks), by URL: events filter deliveries.
        self._registrations: dict[str, tuple[Registration, str, str]] = {}
        self._deliveries: list[WebhookDelivery] = []

    def add(self, url: str, secret: str) -> None:
        """An admin target: every event goes to `url`."""
        self._admin.append((url, secret))

    def clear(self) -> None:
        self._admin.clear()
        self._registrations.clear()

    def has(self, url: str) -> bool:
        return url in self._registrations or any(known == url for known, _ in self._admin)

    def register(self, registration: Registration) -> tuple[str, str]:
        """A registration through the API: its new id and signing secret."""
        webhook_id = f"wh_{fake_data.random_uuid(self._rng)}"
        secret = f"whsec_{self._rng.getrandbits(192):048x}"
        self._registrations[registration.url] = (registration, secret, webhook_id)
        return webhook_id, secret

    def registered(self) -> list[dict[str, Any]]:
        """The API's registrations (id, url, events, active), without their secrets."""
        return [
            {
                "id": webhook_id,
                "url": registration.url,
                "events": sorted(registration.events),
                "active": registration.active,
            }
            for registration, _, webhook_id in self._registrations.values()
        ]

    def targets(self, event: str) -> list[tuple[str, str]]:
        """(url, secret) of every target `event` goes to: the admin ones, then the API's."""
        return list(self._admin) + [
            (registration.url, secret)
            for registration, secret, _ in self._registrations.values()
            if registration.active and event in registration.events
        ]

    def record(self, delivery: WebhookDelivery) -> None:
        self._deliveries.append(delivery)

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        return list(self._deliveries)


def deliver(
    url: str,
    secret: str,
    event: str,
    activity: Mapping[str, Any],
    contact_id: str | None,
    *,
    workspace_id: str,
    timestamp: str,
    signature: str | None,
    timeout: float,
    record: Callable[[WebhookDelivery], None],
) -> int:
    """POST one signed delivery to `url`, `record` what became of it, return the status code.

    `signature` replaces the computed header value. Connection failures are recorded (status
    None) and raise OSError.
    """
    payload = {
        "event": event,
        "timestamp": timestamp,
        "workspace_id": workspace_id,
        "data": {"activity": {**activity, "contact_id": contact_id}},
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    delivery_id = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "LeadLex-Webhook/1.0",
        "X-LeadLex-Signature": signature if signature is not None else sign(secret, body),
        "X-LeadLex-Timestamp": timestamp,
        "X-LeadLex-Delivery-ID": delivery_id,
    }
    activity_id = activity.get("id")
    try:
        status = post(url, body, headers, timeout)
    except OSError:
        record(WebhookDelivery(url, event, delivery_id, activity_id, None))
        raise
    record(WebhookDelivery(url, event, delivery_id, activity_id, status))
    return status


def sign(secret: str, body: bytes) -> str:
    """The X-LeadLex-Signature of `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    parts = urlsplit(url)
    connection_class: type[http.client.HTTPConnection]
    if parts.scheme == "https":
        connection_class = http.client.HTTPSConnection
    elif parts.scheme == "http":
        connection_class = http.client.HTTPConnection
    else:
        raise ValueError(f"webhook URL must be http(s): {url!r}")
    connection = connection_class(parts.netloc, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        connection.request("POST", target, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()
