"""What a sync needs of the world: the activity source, the state store and its lease, the
publishers, and where rejected messages go; and the errors a sync raises.

The modules of activity_relay.adapters implement them against real services, and relay_local's
fakes in memory; tests/contract holds each fake to its adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from activity_relay.core.model import (
    Activity,
    ActivityEvent,
    ActivityPage,
    ContactState,
    RelayError,
    TransientSourceError,
    WebhookClaim,
)


class ActivitySource(Protocol):
    """A contact's activities, newest first, in pages of `page_size`."""

    @property
    def page_size(self) -> int: ...

    def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
        """Page `page` (1-based). Raises a SourceError subclass."""
        ...


@dataclass(frozen=True, slots=True)
class Lease:
    """One sync's hold on its contact: no other sync of the contact starts before it is
    released or `expires_at` (the holder's deadline) has passed."""

    holder: str  # unique to one sync
    taken_at: datetime  # when the holder began: it reads the list only after this moment
    expires_at: datetime


class StateStore(Protocol):
    """Per-contact sync state, written with optimistic concurrency, and the lease that lets
    one sync of a contact run at a time."""

    def load(self, contact_id: str) -> ContactState | None: ...

    def begin(
        self, contact_id: str, lease: Lease, *, covered_after: datetime | None = None
    ) -> ContactState | None:
        """Take the contact's lease (free, expired at `lease.taken_at`, or this holder's) and
        return its state, in one step. Raises Covered, taking nothing, when the last successful
        sync started after `covered_after`; LeaseHeld when another sync holds the lease."""
        ...

    def save(self, state: ContactState, lease: Lease | None = None) -> ContactState:
        """Store `state` if the stored version is still `state.version`, releasing `lease`;
        return it one version on. Raises StateConflict when another writer got there first or
        another sync holds the lease. The save ends what `announce` said (its activities are in
        `state.seen` now) and removes `state.settled_claims`."""
        ...

    def announce(
        self, contact_id: str, lease: Lease, activities: Sequence[Activity]
    ) -> dict[int, WebhookClaim]:
        """Say that the lease's sync is about to publish `activities`, so that the webhook fast
        path leaves them to it, and return the webhook claims the contact holds now. Raises
        StateConflict when the lease is no longer this sync's."""
        ...

    def webhook_claims(self, contact_id: str) -> dict[int, WebhookClaim]:
        """The webhook claims the contact holds now."""
        ...

    def release(self, contact_id: str, lease: Lease) -> None:
        """Give the lease up without saving (a sync that failed); a no-op if it is not held."""
        ...

    def record_not_found(self, contact_id: str, at: datetime, lease: Lease | None = None) -> None:
        """Remember the API's 404, releasing `lease`."""
        ...

    def record_failure(self, contact_id: str, reason: str, at: datetime) -> None:
        """Remember why the contact's latest failed sync failed, for people asking (`relay
        state`); the relay never reads it back. Touches neither the state nor its version."""
        ...


class Publisher(Protocol):
    def publish(self, events: Sequence[ActivityEvent]) -> None:
        """Deliver `events` in order. Raises PublishFailed naming how many of the leading
        events were delivered."""
        ...


class RejectedMessages(Protocol):
    """Where messages that name no contact go, with the reason, instead of being retried."""

    def reject(self, *, message_id: str, body: str, reason: str) -> None: ...


class ListingChanged(TransientSourceError):
    """The list kept changing while the engine searched it for backdated activities."""


class OutOfTime(TransientSourceError):
    """The invocation is near its end: no further request is started."""


class StateConflict(RelayError):
    """Another sync of the same contact stored its state first."""


class Covered(RelayError):
    """The contact's last successful sync started after the request: nothing to do."""

    def __init__(self, message: str, *, last_sync_started_at: datetime) -> None:
        super().__init__(message)
        self.last_sync_started_at = last_sync_started_at


class LeaseHeld(RelayError):
    """Another sync of the contact holds its lease (`lease`, as stored)."""

    def __init__(self, message: str, *, lease: Lease) -> None:
        super().__init__(message)
        self.lease = lease


class PublishFailed(RelayError):
    def __init__(self, message: str, *, delivered: int) -> None:
        super().__init__(message)
        self.delivered = delivered
