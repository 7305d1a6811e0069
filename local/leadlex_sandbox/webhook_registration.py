"""`POST /v1/webhooks`: what LeadLex documents of registering a webhook, checked as it would be.

Body `{"url": "https://...", "events": ["activity.created", ...], "description": "...",
"active": true}`; the answer (201) carries the signing `secret`, once. The same URL twice is
`409 duplicate_webhook`. One leniency: `http://` is accepted for loopback hosts, so that a
receiver on 127.0.0.1 (the local stack's Function URL) can be registered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

EVENT_NAME = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class Registration:
    url: str
    events: frozenset[str]
    description: str
    active: bool


def parse_registration(body: bytes) -> Registration:
    """The registration a request body asks for; ValueError with the API's message otherwise."""
    try:
        data: Any = json.loads(body or b"null")
    except ValueError:
        raise ValueError("Body must be JSON.") from None
    if not isinstance(data, dict):
        raise ValueError("Body must be a JSON object.")
    url = data.get("url")
    if not isinstance(url, str) or not url:
        raise ValueError("url is required.")
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if not parts.hostname or (parts.scheme != "https" and not loopback):
        raise ValueError("url must be an https URL.")
    events = data.get("events")
    if (
        not isinstance(events, list)
        or not events
        or not all(isinstance(e, str) and EVENT_NAME.match(e) for e in events)
    ):
        raise ValueError(
            'events must be a non-empty list of event names, e.g. ["activity.created"].'
        )
    description = data.get("description", "")
    active = data.get("active", True)
    if not isinstance(description, str) or not isinstance(active, bool):
        raise ValueError("description must be a string and active a boolean.")
    return Registration(url, frozenset(events), description, active)
