"""A verified LeadLex delivery read: the contact it names, the activity it carries (when it
carries one the fast path can publish), and when LeadLex signed it.

The payload's shape for `activity.created` is not confirmed by LeadLex's docs, so the contact is
looked for in every place it plausibly is (`contact_candidates`), and what cannot be used is
answered, not retried. An activity is usable when it has an id, a valid `created_date` and names
its contact, the same one the delivery is filed under; anything less is left to a poll, never
published half-formed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from activity_relay.core.model import Activity, parse_contact_id, parse_timestamp

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
    """A verified `activity.created` that names a contact."""

    contact_id: str
    activity_id: str | None
    activity: Activity | None = None
    """The activity, when it is usable as an event (else `unusable` says why)."""
    unusable: str | None = None
    signed_at: datetime | None = None
    """The envelope's `timestamp`: when LeadLex sent it (signed, unlike the header)."""


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
        raw = _mapping(data.get("activity"))
        activity, unusable = usable_activity(data, contact_id)
        return Notification(
            contact_id,
            _text(raw.get("id")),
            activity,
            unusable,
            signed_at=_moment(payload.get("timestamp")),
        )
    return Ignored(IgnoredReason.INVALID_CONTACT_ID, event)


def usable_activity(data: Mapping[str, Any], contact_id: str) -> tuple[Activity | None, str | None]:
    """The activity the delivery carries, if the fast path may publish it as `contact_id`'s
    event; else None and why not."""
    raw = data.get("activity")
    if not isinstance(raw, dict):
        return None, "carries no activity"
    try:
        activity = Activity.from_api(raw)
    except ValueError as error:
        return None, str(error)
    own = [_text(raw.get("contact_id"))]
    if _text(raw.get("entity_type")) == "contact":
        own.append(_text(raw.get("entity_id")))
    named = {_canonical(c) for c in own if c is not None}
    if not named:
        return None, "the activity names no contact"
    filed_under = [_text(data.get("contact_id")), _text(_mapping(data.get("contact")).get("id"))]
    named |= {_canonical(c) for c in filed_under if c is not None}
    if named != {contact_id}:
        return None, "the activity names another contact than the one it is filed under"
    return activity, None


def _canonical(text: str) -> str | None:
    try:
        return parse_contact_id(text)
    except ValueError:
        return None


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


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
