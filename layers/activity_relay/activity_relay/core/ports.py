"""The relay's view of the outside world: small interfaces and the errors they raise.

The modules of activity_relay.adapters implement them against real services, and
relay_local.memory in memory; tests/contract holds each fake to its adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from activity_relay.core.model import ActivityEvent, ActivityPage, ContactState
from activity_relay.core.webhooks import AttemptOutcome, AttemptRecord, Endpoint


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
        another sync holds the lease."""
        ...

    def release(self, contact_id: str, lease: Lease) -> None:
        """Give the lease up without saving (a sync that failed); a no-op if it is not held."""
        ...

    def record_not_found(self, contact_id: str, at: datetime, lease: Lease | None = None) -> None:
        """Remember the API's 404, releasing `lease`."""
        ...


@dataclass(frozen=True, slots=True)
class QuotaSnapshot:
    """LeadLex's daily quota as last observed (X-RateLimit-* headers)."""

    limit: int | None
    remaining: int
    resets_at: datetime
    observed_at: datetime


class Deferrals(Protocol):
    """Contacts put off until the daily quota resets, and what the scheduled sweep needs."""

    def defer(self, contact_id: str, until: datetime) -> None:
        """Remember to sync `contact_id` once `until` has passed."""
        ...

    def wait(self, contact_id: str, since: datetime) -> None:
        """Record the contact as waiting for the paced budget since `since`: due at once, in
        that order. A contact already due earlier keeps its place."""
        ...

    def due(self, now: datetime, limit: int) -> list[str]:
        """Up to `limit` deferred contacts whose time has come, longest-waiting first."""
        ...

    def postpone(self, contact_ids: Sequence[str], until: datetime) -> None:
        """Contacts enqueued again: look at them once more at `until`, unless a successful
        sync (which clears the deferral) or a newer deferral comes first."""
        ...

    def stale(self, synced_before: datetime, limit: int) -> list[str]:
        """Up to `limit` known contacts whose last successful sync started before the cutoff."""
        ...

    def record_quota(self, snapshot: QuotaSnapshot) -> None:
        """Keep the newest observation (by observed_at) for other containers and the sweep."""
        ...

    def load_quota(self) -> QuotaSnapshot | None: ...


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
    """`requests`: the HTTP requests the failed call sent, retries included (LeadLex counts
    each against the quota); 0 when it refused to send one."""

    def __init__(self, message: str, *, request_id: str | None = None, requests: int = 1) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.requests = requests


class ContactNotFound(SourceError):
    """404: the contact does not exist (or not in this workspace). Not worth a retry."""


class AuthenticationFailed(SourceError):
    """401: the key is unknown, expired or revoked."""


class PermissionDenied(SourceError):
    """403: the key lacks the activities:read scope."""


class TransientSourceError(SourceError):
    """5xx, dropped connections, timeouts, 429 beyond our retries: try again later."""


class RateLimited(TransientSourceError):
    """429 from the per-minute window (not retried), or still refused after its Retry-After."""


class QuotaExhausted(SourceError):
    """The daily quota (less the configured reserve) is spent until `resets_at`."""

    def __init__(
        self,
        message: str,
        *,
        resets_at: datetime,
        request_id: str | None = None,
        requests: int = 1,
    ) -> None:
        super().__init__(message, request_id=request_id, requests=requests)
        self.resets_at = resets_at


class MalformedResponse(TransientSourceError):
    """The API answered something that is not a valid page. Never read as a short page."""


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


# --- Webhooks out (core/delivery.py) ---------------------------------------------------------


class EndpointStore(Protocol):
    """Registered webhook endpoints, their health and their recent attempts."""

    def enabled_endpoints(self) -> list[Endpoint]: ...

    def get(self, endpoint_id: str) -> Endpoint | None: ...

    def record_attempt(self, record: AttemptRecord) -> None: ...

    def record_success(self, endpoint_id: str, at: datetime) -> None:
        """Clear the failure streak and its start."""
        ...

    def record_failure(self, endpoint_id: str, at: datetime) -> Endpoint | None:
        """Count a failure (its start kept if one is running); the endpoint as it now is."""
        ...

    def disable(self, endpoint_id: str, reason: str, at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one endpoint: the event document exactly as published, and, once on the
    delivery queue, its receipt and which attempt this is (its receive count)."""

    endpoint_id: str
    body: str
    message_id: str = ""
    receipt: str = ""
    attempt: int = 1


class DeliveryQueue(Protocol):
    def enqueue(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Send each delivery as its own message; return those that could not be sent."""
        ...

    def postpone(self, delivery: Delivery, seconds: int) -> None:
        """Keep the received delivery hidden for `seconds` (at most 12 h): its next attempt."""
        ...


class WebhookDeadLetters(Protocol):
    def dead_letter(
        self, delivery: Delivery, *, event_id: str, last_status: str, reason: str
    ) -> None:
        """Keep the delivery (endpoint, event, last status) for `relay webhooks redrive`."""
        ...


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        """POST once; never raises for what the endpoint or the network did."""


# --- Webhooks in ---------------------------------------------------------------------------------


class ReceiverUnavailable(RelayError):
    """The secret or the queue could not be reached: the delivery is answered 503 and LeadLex
    delivers it again. The message names what failed, never a secret."""


class ContactSender(Protocol):
    """The contact queue as the webhook receiver sees it: one message per verified notification
    (the queue's own delivery delay applies)."""

    def send(self, contact_id: str, *, activity_id: str | None) -> None:
        """Raises ReceiverUnavailable when the message was not sent."""
        ...
