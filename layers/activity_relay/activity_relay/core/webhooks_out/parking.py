"""What an endpoint missed while disabled, sent after `relay webhooks enable`: each parked
delivery is held, queued, then removed — so a process killed at any point loses nothing (a
hold ends, and the next enable takes what it held), and the deliverer that found the endpoint
enabled meanwhile never sends what an enable holds (it sends once, whoever takes it).

A delivery queued and then not removed (killed between the two) is queued again by the next
enable: at worst sent twice after a failure, with the same `webhook-id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import batched

from activity_relay.core.webhooks_out.ports import Delivery, DeliveryLedger, DeliveryQueue

HOLD = timedelta(minutes=2)
"""Long enough to queue a chunk; a hold left by a process that died ends after this."""
CHUNK = 100
"""Deliveries queued at a time by enable."""


@dataclass(frozen=True, slots=True)
class Resumed:
    queued: int = 0
    dropped: int = 0
    unsent: int = 0  # could not be queued: parked again, for the next enable


def resume_parked(
    ledger: DeliveryLedger,
    queue: DeliveryQueue,
    endpoint_id: str,
    *,
    now: datetime,
    drop: bool = False,
) -> Resumed:
    """Queue (or with `drop`, remove) every delivery parked for the endpoint."""
    queued = dropped = unsent = 0
    for chunk in batched(list(ledger.parked(endpoint_id)), CHUNK):
        if drop:
            dropped += sum(
                ledger.claim_parked(endpoint_id, p.event_id, now=now) is not None for p in chunk
            )
            continue
        until = now + HOLD
        held = [
            taken
            for parked in chunk
            # None: taken by the deliverer that found the endpoint enabled, or held by another
            # enable
            if (taken := ledger.hold_parked(endpoint_id, parked.event_id, until=until, now=now))
            is not None
        ]
        deliveries = [Delivery(endpoint_id, parked.body) for parked in held]
        failed = {id(delivery) for delivery, _ in queue.enqueue(deliveries)}
        for delivery, parked in zip(deliveries, held, strict=True):
            if id(delivery) in failed:
                ledger.park(delivery, parked.event_id, parked.parked_at)  # the hold lifted
                unsent += 1
            else:
                ledger.release_parked(endpoint_id, parked.event_id)
                queued += 1
    return Resumed(queued, dropped, unsent)
