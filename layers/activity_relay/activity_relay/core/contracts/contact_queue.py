"""An SQS message body → the contact it names, or the reason it is rejected.

Accepted (CONTRACT.md): a contact UUID, surrounding whitespace ignored, or the JSON object
`{"contact_id": "<uuid>"}`. Anything else is rejected, never retried. The relay's own
continuation messages are that object with `"continuation": true` added.

The sweep's messages add `"released": true`: the contact waited for the paced budget and the
sweep has spent a unit of it on this message, so the relay syncs it without pacing it again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from activity_relay.core.model import parse_contact_id

MAX_REASON_BODY = 80


class InvalidMessage(Exception):
    """The message cannot name a contact; str() is the rejection reason."""


@dataclass(frozen=True, slots=True)
class ContactRequest:
    contact_id: str
    continuation: bool = False  # queued by a sync that stopped at a checkpoint


def continuation_body(contact_id: str) -> str:
    """The body of the message that continues a contact's sync in a later invocation."""
    return json.dumps({"contact_id": contact_id, "continuation": True}, separators=(",", ":"))


def read_body(body: str) -> ContactRequest:
    """The contact a message names, and whether it continues a sync; InvalidMessage else."""
    contact_id = contact_id_from_body(body)
    text = body.strip()
    continuation = False
    if text.startswith("{"):
        continuation = json.loads(text).get("continuation") is True
    return ContactRequest(contact_id, continuation)


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


RELEASED_FIELD = "released"


def release_body(contact_id: str) -> str:
    """The body of a message the sweep sends for a contact it released."""
    return json.dumps({"contact_id": contact_id, RELEASED_FIELD: True})


def is_release(body: str) -> bool:
    """Whether the body is a sweep's release (a valid body is checked by contact_id_from_body)."""
    text = body.strip()
    if not text.startswith("{"):
        return False
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(document, dict) and document.get(RELEASED_FIELD) is True


class ContactQueue(Protocol):
    """The contact queue, as the sweep feeds it: one message per contact id."""

    def enqueue(
        self, contact_ids: Sequence[str], *, delays: Sequence[int] | None = None
    ) -> list[str]:
        """Send one message per id, each delivered after its delay in seconds (0-900);
        return the ids that could not be sent."""
        ...


class Continuations(Protocol):
    """Where a sync that stopped at a checkpoint asks to be continued: the contact queue."""

    def continue_later(self, contact_id: str, *, delay_seconds: int) -> None:
        """Queue the contact's continuation message, delivered after `delay_seconds` (0-900).
        Raises when it could not be queued."""
        ...
