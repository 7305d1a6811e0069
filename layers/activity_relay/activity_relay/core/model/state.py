"""What the relay remembers of one contact between syncs: every capability reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from activity_relay.core.model.fingerprint import Fingerprint


@dataclass(frozen=True, slots=True)
class Backfill:
    """A sync that reads a contact's list from its oldest end up, slice by slice, and so can
    stop at any slice and continue in a later invocation.

    `read_from_end` counts activities from the end of the newest-first list: activities added
    at the top do not move it, so the next slice is found again whatever arrived meanwhile.
    """

    read_from_end: int
    total: int | None  # meta.total at the last checkpoint: where to look for the next page
    first_sync: bool  # what it reads is a new contact's history: INITIAL_SYNC applies
    checkpointed_at: datetime
    # A first sync under INITIAL_SYNC=<date> still looking down from the top for the date:
    # above this position (from the end) the list holds only activities to publish.
    scanned_to: int | None = None
    # Reading the history a first sync left unread, up to this position (from the end), and
    # what that read has accounted for so far.
    unread_until: int | None = None
    unread_seen: Fingerprint | None = None
    # Stopped by the exhausted daily quota: no continuation carries it on, so the next message
    # for the contact (the sweep's, after the reset) resumes it whenever it comes.
    parked: bool = False


PENDING_FRESH = timedelta(seconds=15)
"""A receiver's claim older than this outlived its invocation (the receiver's timeout, 8 s)."""


@dataclass(frozen=True, slots=True)
class WebhookClaim:
    """An activity the webhook fast path took on for a contact: being published (`published`
    False, since `claimed_at`), or published. Keyed by the activity id's hash (`id_hash`), as the
    fingerprint keys what it remembers, so that any id LeadLex sends can be stored."""

    id_hash: int
    created_micros: int
    claimed_at: datetime
    published: bool = False

    def in_flight(self, now: datetime) -> bool:
        """Being published by a receiver that may still be running: not older than
        PENDING_FRESH. An older unpublished claim outlived its receiver (it crashed)."""
        return not self.published and now - self.claimed_at < PENDING_FRESH


@dataclass(frozen=True, slots=True)
class ContactState:
    """What the relay remembers of one contact between syncs."""

    contact_id: str
    seen: Fingerprint  # every activity published, or excluded by INITIAL_SYNC
    version: int = 0  # the store's optimistic-concurrency counter; 0 = never stored
    last_sync_started_at: datetime | None = None
    backfill: Backfill | None = None  # a sync under way over several invocations
    # What the webhook fast path published or is publishing, by id hash, as last read.
    claims: Mapping[int, WebhookClaim] = field(default_factory=dict)
    # Claims a save removes: their activities are accounted for in `seen` now.
    settled_claims: frozenset[int] = frozenset()
