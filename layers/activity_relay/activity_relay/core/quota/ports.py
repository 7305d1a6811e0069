"""What the quota capability needs of the world: the last observation of LeadLex's daily quota
and the deferred contacts the sweep releases (both kept in the state table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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

    def reconciliations(self, now: datetime, limit: int) -> list[str]:
        """Up to `limit` contacts whose webhooks carried their activities and whose
        reconciliation (a poll proving nothing was missed) is due, longest-due first."""
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
