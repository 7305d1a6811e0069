"""The contact queue's messages, written once: what a body may say, what the relay's own
messages add to it, and the one port every sender uses.

Accepted (CONTRACT.md): a contact UUID, surrounding whitespace ignored, or the JSON object
`{"contact_id": "<uuid>"}`. Anything else is rejected, never retried. The relay's own messages
are that object with one field added:

* `"continuation": true`: a sync that stopped at a checkpoint carries on in a later invocation;
* `"released": true`: the sweep released a contact that waited for the paced budget, having
  spent a unit of it on this message, so the sync syncs it without pacing it again.

A message from a LeadLex webhook is the bare id, with the message attributes `origin` and
`activity_id` for whoever reads the queue or its dead letters; the sync reads the body only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from activity_relay.core.model import parse_contact_id

MAX_REASON_BODY = 80
MAX_DELAY_SECONDS = 900  # SQS's longest DelaySeconds
MAX_ATTRIBUTE_CHARS = 256
# The characters SQS allows in a message body or attribute value.
_SQS_TEXT = re.compile("[\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
CONTINUATION_FIELD = "continuation"
RELEASED_FIELD = "released"
WEBHOOK_ORIGIN = "leadlex_webhook"


class InvalidMessage(Exception):
    """The message cannot name a contact; str() is the rejection reason."""


# --- What the relay sends ------------------------------------------------------------------------


class Purpose(Enum):
    """Why a message is sent, which decides its body and attributes."""

    REQUEST = "request"  # the bare id: a person, a program, or a contact requeued
    WEBHOOK = "webhook"  # the bare id, with the LeadLex webhook's attributes
    CONTINUATION = "continuation"
    RELEASE = "release"


@dataclass(frozen=True, slots=True)
class QueuedContact:
    """One message for the contact queue."""

    contact_id: str
    purpose: Purpose = Purpose.REQUEST
    delay_seconds: int | None = None
    """None: the queue's own delivery delay applies (it gathers a burst of webhooks into one
    sync); the relay's own messages name theirs, 0 included."""
    activity_id: str | None = None  # the webhook's activity, if it named one

    @classmethod
    def continuation(cls, contact_id: str, *, delay_seconds: int) -> QueuedContact:
        """A sync's continuation: always an explicit delay, held to what SQS allows, so that
        the queue's own delay does not hold up work already under way."""
        delay = max(0, min(MAX_DELAY_SECONDS, delay_seconds))
        return cls(contact_id, Purpose.CONTINUATION, delay_seconds=delay)

    @property
    def body(self) -> str:
        if self.purpose is Purpose.CONTINUATION:
            return continuation_body(self.contact_id)
        if self.purpose is Purpose.RELEASE:
            return release_body(self.contact_id)
        return self.contact_id

    @property
    def attributes(self) -> Mapping[str, str]:
        """String message attributes (SQS refuses empty ones, so none is)."""
        if self.purpose is not Purpose.WEBHOOK:
            return {}
        attributes = {"origin": WEBHOOK_ORIGIN}
        activity_id = (self.activity_id or "")[:MAX_ATTRIBUTE_CHARS]
        # An id SQS would refuse must not keep the message (and the webhook) from being taken:
        # the attribute is for people reading the queue, the sync reads the body only.
        if activity_id and _SQS_TEXT.fullmatch(activity_id):
            attributes["activity_id"] = activity_id
        return attributes


class ContactQueue(Protocol):
    """The contact queue, as everything that feeds it sees it."""

    def send(self, messages: Sequence[QueuedContact]) -> list[QueuedContact]:
        """Send each as its own message; return those not sent (SQS refused them, or could
        not be reached), never raising for them."""
        ...


def continuation_body(contact_id: str) -> str:
    """The body of the message that continues a contact's sync in a later invocation."""
    return json.dumps({"contact_id": contact_id, CONTINUATION_FIELD: True}, separators=(",", ":"))


def release_body(contact_id: str) -> str:
    """The body of a message the sweep sends for a contact it released."""
    return json.dumps({"contact_id": contact_id, RELEASED_FIELD: True}, separators=(",", ":"))


# --- What a received body says --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRequest:
    contact_id: str
    continuation: bool = False  # queued by a sync that stopped at a checkpoint
    released: bool = False  # sent by the sweep, which spent the paced budget's unit on it


def read_body(body: str) -> ContactRequest:
    """The contact a message names, and what the relay's own fields say; InvalidMessage else."""
    contact_id = contact_id_from_body(body)
    text = body.strip()
    if not text.startswith("{"):
        return ContactRequest(contact_id)
    document = json.loads(text)  # valid: contact_id_from_body read it
    return ContactRequest(
        contact_id,
        continuation=document.get(CONTINUATION_FIELD) is True,
        released=document.get(RELEASED_FIELD) is True,
    )


def contact_id_from_body(body: str) -> str:
    text = body.strip()
    if not text:
        raise InvalidMessage("empty body")
    if text.startswith("{"):
        return _from_json(text)
    try:
        return parse_contact_id(text)
    except ValueError:
        raise InvalidMessage(
            f"body is neither a contact UUID nor a JSON object: {_preview(text)}"
        ) from None


def _from_json(text: str) -> str:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidMessage(f"body is not valid JSON: {error.msg}") from None
    if not isinstance(document, dict):
        raise InvalidMessage("JSON body is not an object")
    value = document.get("contact_id")
    if not isinstance(value, str):
        raise InvalidMessage("JSON body has no string contact_id")
    try:
        return parse_contact_id(value)
    except ValueError:
        raise InvalidMessage(f"contact_id is not a UUID: {_preview(value)}") from None


def _preview(text: str) -> str:
    return repr(text if len(text) <= MAX_REASON_BODY else text[:MAX_REASON_BODY] + "…")
