"""Activities as the API lists them, their pages, ids and timestamps, and the unit we publish."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def parse_contact_id(value: str) -> str:
    """The canonical (lower-case, hyphenated) form of a contact UUID; ValueError otherwise."""
    text = value.strip()
    parsed = uuid.UUID(text)
    canonical = str(parsed)
    if text.lower() != canonical:
        # uuid.UUID also accepts braces, URNs and bare hex; the contract names one form only.
        raise ValueError(f"not a hyphenated UUID: {text!r}")
    return canonical


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime (naive input is taken as UTC)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def epoch_micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class Activity:
    """One activity as the API returned it, plus the fields the relay reasons about."""

    id: str
    created_micros: int  # created_date in microseconds since the epoch: the list's sort key
    created_date: str
    activity_type: str | None
    entity_type: str | None
    raw: Mapping[str, Any]

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Activity:
        """Validate one activity object; ValueError names what is wrong."""
        activity_id = raw.get("id")
        if not isinstance(activity_id, str) or not activity_id:
            raise ValueError("activity without a string id")
        created_date = raw.get("created_date")
        if not isinstance(created_date, str):
            raise ValueError(f"activity {activity_id}: created_date missing or not a string")
        try:
            created = parse_timestamp(created_date)
        except ValueError as error:
            raise ValueError(
                f"activity {activity_id}: bad created_date {created_date!r}"
            ) from error
        # The docs disagree on the name of the type field; accept either.
        activity_type = raw.get("activity_type", raw.get("type"))
        entity_type = raw.get("entity_type")
        return cls(
            id=activity_id,
            created_micros=epoch_micros(created),
            created_date=created_date,
            activity_type=activity_type if isinstance(activity_type, str) else None,
            entity_type=entity_type if isinstance(entity_type, str) else None,
            raw=raw,
        )

    @property
    def order_key(self) -> tuple[int, str]:
        """Oldest first: created_date, then id."""
        return (self.created_micros, self.id)


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """One page of a contact's activities, newest first, with the list's size when it was read."""

    number: int
    per_page: int
    total: int
    activities: tuple[Activity, ...]
    requests: int = 1  # HTTP requests it took, retries included


POLL = "poll"
WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """One new activity of one contact: the unit the publishers deliver. `origin` says which
    path found it: a poll of the API's list, or the LeadLex webhook that carried it."""

    contact_id: str
    activity: Activity
    origin: str = POLL

    @property
    def event_id(self) -> str:
        return self.activity.id


@dataclass(frozen=True, slots=True)
class InitialSync:
    """Which of a new contact's existing activities its first sync publishes."""

    mode: str  # "all", "none" or "since"
    since_micros: int | None = None

    @classmethod
    def parse(cls, text: str) -> InitialSync:
        value = text.strip()
        if value.lower() in ("all", "none"):
            return cls(mode=value.lower())
        try:
            since = parse_timestamp(value)
        except ValueError:
            raise ValueError(f"expected 'all', 'none' or an ISO 8601 date, got {text!r}") from None
        return cls(mode="since", since_micros=epoch_micros(since))

    def publishes(self, activity: Activity) -> bool:
        if self.mode == "since":
            assert self.since_micros is not None
            return activity.created_micros >= self.since_micros
        return self.mode == "all"
