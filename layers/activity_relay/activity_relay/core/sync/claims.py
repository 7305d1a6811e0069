"""What a sync leaves out of its publishing because the webhook fast path published it.

LeadLex's `activity.created` webhook may carry an activity that the receiver publishes at once
(core/webhooks_in/fast_path.py), accounted in the contact's state as a claim: being published,
or published. Before a sync publishes a slice it says so in the state (`announce`), which makes
the fast path leave those activities to it, and reads the claims back in the same write: the
state table decides, item by item, which of the two got there first, so an activity goes out
once. What a webhook published is accounted for like anything the sync published, but not
published again.

A claim still being published is waited for, briefly (the receiver takes a few hundred
milliseconds); one that stays unpublished, or that no receiver has finished within
PENDING_FRESH (its invocation is over: it crashed), is published by the sync, as the contract
allows after a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime

from activity_relay.core.model import Activity, WebhookClaim, id_hash
from activity_relay.core.sync.ports import Lease, StateStore

PENDING_WAIT = 3.0
"""Seconds a sync waits, at most, for claims a receiver is publishing right now."""
PENDING_POLL = 0.2


@dataclass(eq=False, slots=True)
class PublishGate:
    """One sync's view of the webhook claims of its contact, slice by slice."""

    store: StateStore
    contact_id: str
    lease: Lease
    _: KW_ONLY
    clock: Callable[[], datetime]
    pause: Callable[[float], None]
    matched: set[int] = field(default_factory=set, init=False)
    """Claims of activities this sync accounted for: its final save settles them."""

    def to_publish(self, activities: Iterable[Activity]) -> list[Activity]:
        """`activities` (about to be published, oldest first) without those a webhook published."""
        candidates = list(activities)
        if not candidates:
            return []
        claims = self.store.announce(self.contact_id, self.lease, candidates)
        waited = 0.0
        while waited < PENDING_WAIT and self._in_flight(claims, candidates):
            self.pause(PENDING_POLL)
            waited += PENDING_POLL
            claims = self.store.webhook_claims(self.contact_id)
        published_by_webhook = set()
        for activity in candidates:
            claim = claims.get(id_hash(activity.id))
            if claim is None:
                continue
            self.matched.add(claim.id_hash)
            if claim.published:
                published_by_webhook.add(activity.id)
        return [a for a in candidates if a.id not in published_by_webhook]

    def _in_flight(self, claims: dict[int, WebhookClaim], activities: list[Activity]) -> bool:
        now = self.clock()
        return any(
            (claim := claims.get(id_hash(activity.id))) is not None and claim.in_flight(now)
            for activity in activities
        )


def settled_claims(claims_at_begin: dict[int, WebhookClaim], gate: PublishGate) -> frozenset[int]:
    """The claims a complete sync's final save removes: those it met itself, and those already
    published when it began (their activities existed then, so the sync has accounted for
    them)."""
    published = {h for h, claim in claims_at_begin.items() if claim.published}
    return frozenset(published | gate.matched)
