"""What the webhook receiver needs of the world beyond the contact queue (whose port is
core/contracts/contact_queue.py) and the publishers (core/sync/ports.py): the contact's state as
the fast path reads and claims it, and the error it answers 503 with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from activity_relay.core.model import Fingerprint, RelayError, WebhookClaim


class ReceiverUnavailable(RelayError):
    """The secret, the queue, the state or the publishers could not be reached: the delivery is
    answered 503 and LeadLex delivers it again. The message names what failed, never a
    secret."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A contact's state as the fast path reads it."""

    version: int | None  # None: no sync has saved the contact yet
    seen: Fingerprint | None
    claims: Mapping[int, WebhookClaim] = field(default_factory=dict)
    publishing: frozenset[int] = frozenset()  # what a sync said it is publishing right now


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """Take an activity on for a contact: write `claim` if the contact is still at `version`
    (None: no sync has saved it yet), holds no claim for the activity (or still `replacing`, a
    claim whose receiver died) and no sync announced it; and schedule the contact's
    reconciliation at `reconcile_at` unless something is scheduled already."""

    contact_id: str
    claim: WebhookClaim
    version: int | None
    replacing: WebhookClaim | None
    reconcile_at: datetime


class WebhookLedger(Protocol):
    """The state table as the fast path uses it: every write is conditional, so that what a
    webhook publishes and what a sync publishes never overlap."""

    def look(self, contact_id: str) -> LedgerEntry:
        """The contact's state now (a consistent read)."""
        ...

    def claim(self, request: ClaimRequest) -> bool:
        """Take the activity on as `request` says. False, writing nothing, when a condition
        failed."""
        ...

    def confirm(self, contact_id: str, claim: WebhookClaim) -> None:
        """The claimed activity is published (a no-op if the claim is no longer this one)."""
        ...

    def withdraw(self, contact_id: str, claim: WebhookClaim) -> None:
        """Give the claim up, unpublished (a no-op if it is no longer this one)."""
        ...
