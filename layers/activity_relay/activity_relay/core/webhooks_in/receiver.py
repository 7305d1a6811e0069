"""LeadLex webhooks in: a verified delivery (webhooks_in/signature.py) → the contact it names.

The payload's shape for `activity.created` is not confirmed by LeadLex's docs, so the contact is
looked for in every place it plausibly is (`contact_candidates`), and what cannot be used is
answered, not retried.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from activity_relay.core.contracts.contact_queue import ContactQueue, Purpose, QueuedContact
from activity_relay.core.model import parse_contact_id
from activity_relay.core.webhooks_in.ports import ReceiverUnavailable
from activity_relay.core.webhooks_in.signature import RotatingSecret

ACTIVITY_CREATED = "activity.created"
MAX_BODY_BYTES = 256 * 1024
"""Larger bodies are refused unread: no activity payload comes near it (metadata ≤ 8 KB)."""


class IgnoredReason(StrEnum):
    """Why a verified delivery enqueues nothing."""

    OTHER_EVENT = "other_event"
    NO_CONTACT = "no_contact"
    INVALID_CONTACT_ID = "invalid_contact_id"


class MalformedPayload(ValueError):
    """Not a JSON object, or over MAX_BODY_BYTES: answered 400."""


@dataclass(frozen=True, slots=True)
class Notification:
    """A verified `activity.created` that names a contact: the contact goes on the queue."""

    contact_id: str
    activity_id: str | None


@dataclass(frozen=True, slots=True)
class Ignored:
    """A verified delivery that enqueues nothing, and why (the event name when it is another)."""

    reason: IgnoredReason
    event: str | None = None


def read_notification(body: bytes) -> Notification | Ignored:
    """The contact a delivery names; MalformedPayload when it is not a JSON object."""
    if len(body) > MAX_BODY_BYTES:
        raise MalformedPayload(f"body of {len(body)} bytes is over {MAX_BODY_BYTES}")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPayload("body is not JSON") from None
    except RecursionError:
        # Signed, but nested deeper than the parser goes: no activity payload is.
        raise MalformedPayload("body is JSON nested too deeply") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("body is JSON but not an object")
    event = _text(payload.get("event")) or _text(payload.get("type"))
    # Registered for activity.created only: a payload that names no event is read as one.
    if event is not None and event != ACTIVITY_CREATED:
        return Ignored(IgnoredReason.OTHER_EVENT, event)
    data = _mapping(payload.get("data"))
    candidates = list(contact_candidates(data))
    if not candidates:
        return Ignored(IgnoredReason.NO_CONTACT, event)
    for candidate in candidates:
        try:
            contact_id = parse_contact_id(candidate)
        except ValueError:
            continue
        return Notification(contact_id, _text(_mapping(data.get("activity")).get("id")))
    return Ignored(IgnoredReason.INVALID_CONTACT_ID, event)


def contact_candidates(data: Mapping[str, Any]) -> Iterator[str]:
    """Where the contact may be, most likely first: `data.activity.contact_id`,
    `data.activity.entity_id` of an activity whose `entity_type` is `contact`,
    `data.contact_id`, `data.contact.id`. A deal's activity without a contact_id names none."""
    activity = _mapping(data.get("activity"))
    found = [_text(activity.get("contact_id"))]
    if _text(activity.get("entity_type")) == "contact":
        found.append(_text(activity.get("entity_id")))
    found += [_text(data.get("contact_id")), _text(_mapping(data.get("contact")).get("id"))]
    yield from (candidate for candidate in found if candidate is not None)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


# --- The receiver: verify, read, enqueue ----------------------------------------------------------


class Outcome(StrEnum):
    ENQUEUED = "enqueued"
    IGNORED = "ignored"
    UNAUTHORIZED = "unauthorized"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Reception:
    """What became of one delivery; `detail` is the signature problem, the ignored reason or
    what is malformed — never a secret or a digest."""

    outcome: Outcome
    detail: str | None = None
    contact_id: str | None = None
    activity_id: str | None = None
    event: str | None = None


class WebhookReceiver:
    """Verify the signature, read the contact, put it on the queue: nothing else, so that the
    answer comes well within LeadLex's 10 s."""

    def __init__(self, secret: RotatingSecret, queue: ContactQueue) -> None:
        self._secret = secret
        self._queue = queue

    def receive(self, body: bytes, signature: str | None) -> Reception:
        if len(body) > MAX_BODY_BYTES:
            # Not worth hashing: no payload of ours is this large.
            return Reception(Outcome.MALFORMED, f"body over {MAX_BODY_BYTES} bytes")
        problem = self._secret.verify(body, signature)
        if problem is not None:
            return Reception(Outcome.UNAUTHORIZED, str(problem))
        try:
            notification = read_notification(body)
        except MalformedPayload as malformed:
            return Reception(Outcome.MALFORMED, str(malformed))
        if isinstance(notification, Ignored):
            return Reception(Outcome.IGNORED, str(notification.reason), event=notification.event)
        message = QueuedContact(
            notification.contact_id, Purpose.WEBHOOK, activity_id=notification.activity_id
        )
        if self._queue.send([message]):
            raise ReceiverUnavailable("the contact queue did not take the message")
        return Reception(
            Outcome.ENQUEUED,
            contact_id=notification.contact_id,
            activity_id=notification.activity_id,
        )
