"""A batch's messages as the sync function reads them, and what becomes of each: the contact
queue's side of BatchSync (batch.py), which the handler turns into its partial batch response
and its metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


@dataclass(frozen=True, slots=True)
class ContactMessage:
    message_id: str
    body: str
    sent_at: datetime | None = None
    receive_count: int = 1  # ApproximateReceiveCount: above 1, it came back after a failure


class Disposition(Enum):
    SYNCED = "synced"
    COALESCED = "coalesced"  # an earlier sync already covered it: no request
    COVERED = "covered"  # a concurrent sync that began after it was sent covers it
    REQUEUED = "requeued"  # another sync held the contact: enqueued again, delayed
    NOT_FOUND = "not_found"
    DEFERRED = "deferred"  # daily quota spent or paced: recorded, synced when the sweep releases it
    CONTINUED = "continued"  # checkpointed; a continuation message of its own carries on
    REJECTED = "rejected"  # sent to the dead-letter queue with its reason
    RETRY = "retry"  # returned to the queue

    @property
    def acknowledged(self) -> bool:
        return self is not Disposition.RETRY


@dataclass(frozen=True, slots=True)
class MessageResult:
    message_id: str
    disposition: Disposition
    contact_id: str | None = None
    published: int = 0
    requests: int = 0
    reason: str | None = None
