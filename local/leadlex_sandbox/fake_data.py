"""Deterministic, realistic-looking activity content drawn from a seeded RNG."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

ACTIVITY_TYPES = ("call", "email_sent", "meeting", "note", "ai_action")

USERS = (
    ("user_3f9a21c7", "Alex Smith"),
    ("user_8b4d0e12", "Priya Natarajan"),
    ("user_c61e9f04", "Tomás Herrera"),
    ("user_0d7b5a39", "Mei Lin"),
)

FIRST_NAMES = ("Jane", "Omar", "Lena", "Carlos", "Aiko", "Noah", "Fatima", "Lukas")
LAST_NAMES = ("Doe", "Haddad", "Novak", "Ruiz", "Tanaka", "Okafor", "Berg", "Moreau")
DEAL_NAMES = ("Q3 renewal", "Enterprise upgrade", "Pilot expansion", "Annual licence")

_DESCRIPTIONS = {
    "call": ("Discovery call", "Follow-up call about pricing", "Left a voicemail"),
    "email_sent": ("Sent introductory email", "Sent proposal", "Sent meeting recap"),
    "meeting": ("Product demo", "Quarterly business review", "On-site workshop"),
    "note": ("Prefers email over phone", "Budget approved for next quarter", "Met at expo"),
    "ai_action": ("Drafted follow-up email", "Summarised call transcript", "Scored lead"),
}

# Seeded activities are spread over this much history before the clock's now.
HISTORY = timedelta(days=365)


def random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def activity_id(rng: random.Random) -> str:
    return f"act_{random_uuid(rng)}"


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _metadata(rng: random.Random, activity_type: str) -> dict[str, Any] | None:
    if activity_type == "note" or rng.random() < 0.2:
        return None
    if activity_type == "call":
        return {
            "duration_seconds": rng.randrange(30, 3600),
            "outcome": rng.choice(("connected", "voicemail", "no_answer")),
        }
    if activity_type == "email_sent":
        return {"subject": rng.choice(("Hello", "Proposal", "Next steps")), "opened": False}
    if activity_type == "meeting":
        return {
            "duration_minutes": rng.choice((15, 30, 45, 60)),
            "location": rng.choice(("Zoom", "Office", "Phone")),
        }
    return {"model": "leadlex-assist-1", "confidence": round(rng.random(), 2)}


def activity_fields(rng: random.Random, contact_id: str, contact_name: str) -> dict[str, Any]:
    """Every field of an activity except id and created_date, which the caller owns."""
    activity_type = rng.choice(ACTIVITY_TYPES)
    user_id, user_name = rng.choice(USERS)
    if rng.random() < 0.25:
        entity_type, entity_id, entity_name = "deal", random_uuid(rng), rng.choice(DEAL_NAMES)
    else:
        entity_type, entity_id, entity_name = "contact", contact_id, contact_name
    return {
        "activity_type": activity_type,
        "description": rng.choice(_DESCRIPTIONS[activity_type]),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "entity_name": entity_name,
        "metadata": _metadata(rng, activity_type),
        "user_id": user_id,
        "user_name": user_name,
    }


def past_moment(rng: random.Random, now: datetime) -> datetime:
    """A whole second within HISTORY before `now`."""
    moment = now - timedelta(seconds=rng.randrange(1, int(HISTORY.total_seconds())))
    return moment.replace(microsecond=0)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as the API's examples write it; sub-seconds only if present."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
