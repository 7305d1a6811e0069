"""The relay's view of the outside world: small interfaces and the errors they raise.

Adapters (leadlex.py, state.py, publish.py) implement them against real services; tests
implement them in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from activity_relay.model import ActivityEvent, ActivityPage, ContactState


class ActivitySource(Protocol):
    """A contact's activities, newest first, in pages of `page_size`."""

    @property
    def page_size(self) -> int: ...

    def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
        """Page `page` (1-based). Raises a SourceError subclass."""
        ...


class StateStore(Protocol):
    """Per-contact sync state, written with optimistic concurrency."""

    def load(self, contact_id: str) -> ContactState | None: ...

    def save(self, state: ContactState) -> ContactState:
        """Store `state` if the stored version is still `state.version`; return it one
        version on. Raises StateConflict when another writer got there first."""
        ...

    def record_not_found(self, contact_id: str, at: datetime) -> None: ...


class Publisher(Protocol):
    def publish(self, events: Sequence[ActivityEvent]) -> None:
        """Deliver `events` in order. Raises PublishFailed naming how many of the leading
        events were delivered."""
        ...


class RejectedMessages(Protocol):
    """Where messages that name no contact go, with the reason, instead of being retried."""

    def reject(self, *, message_id: str, body: str, reason: str) -> None: ...


class RelayError(Exception):
    """Base of the errors the relay expects and handles."""


class SourceError(RelayError):
    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class ContactNotFound(SourceError):
    """404: the contact does not exist (or not in this workspace). Not worth a retry."""


class AuthenticationFailed(SourceError):
    """401: the key is unknown, expired or revoked."""


class PermissionDenied(SourceError):
    """403: the key lacks the activities:read scope."""


class TransientSourceError(SourceError):
    """5xx, dropped connections, timeouts, 429 beyond our retries: try again later."""


class MalformedResponse(TransientSourceError):
    """The API answered something that is not a valid page. Never read as a short page."""


class ListingChanged(TransientSourceError):
    """The list kept changing while the engine searched it for backdated activities."""


class StateConflict(RelayError):
    """Another sync of the same contact stored its state first."""


class PublishFailed(RelayError):
    def __init__(self, message: str, *, delivered: int) -> None:
        super().__init__(message)
        self.delivered = delivered
