"""A batch of SQS messages → one sync per contact, in parallel → what becomes of each message.

A message that names no contact goes to the dead-letter queue with its reason. Messages for
the same contact share one sync. Contacts are synced concurrently (bounded), sharing one
LeadLex connection pool. What LeadLex answers for one contact can settle the rest of the batch
too: a refused key, a persistent per-minute limit or an exhausted daily quota stop further
requests at once. Contacts put off by the daily quota are recorded and acknowledged; the
scheduled sweep enqueues them again after the reset.

With pacing (core/quota/pacing.py), contacts arriving while the day's budget is ahead of its line
are not synced either: they are recorded as waiting since their first message (a deferral due at
once, so the sweep releases them longest-waiting first) and their messages acknowledged. More
messages for a waiting contact keep its place; the one sync the sweep releases covers them all.

A contact whose lease another invocation holds is not synced twice at once: its message is
acknowledged when the holder began after it was sent (the holder covers it), else the contact
goes back on the contact queue, delayed until the holder's lease expires, and the message is
acknowledged. That spends no receive count, which is for failures; only when the queue cannot
take it does the message itself go back.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from activity_relay.core.contracts.contact_queue import (
    MAX_DELAY_SECONDS,
    ContactQueue,
    InvalidMessage,
    Purpose,
    QueuedContact,
    read_body,
)
from activity_relay.core.model import (
    AuthenticationFailed,
    PermissionDenied,
    QuotaExhausted,
    RateLimited,
    SourceError,
)
from activity_relay.core.quota.pacing import PacePolicy, admit
from activity_relay.core.quota.ports import Deferrals, QuotaSnapshot
from activity_relay.core.sync.engine import SyncEngine, SyncOutcome, SyncStatus
from activity_relay.core.sync.listing import Tally
from activity_relay.core.sync.messages import ContactMessage, Disposition, MessageResult
from activity_relay.core.sync.packing import PackingPublisher
from activity_relay.core.sync.ports import LeaseHeld, PublishFailed, RejectedMessages, StateConflict

logger = logging.getLogger(__name__)

# Below this share of the invocation's time no contact is started and no request is sent:
# what is in flight keeps the rest to publish and checkpoint.
TIME_RESERVE_SHARE = 0.2
TIME_RESERVE_MIN_MS = 3_000


@dataclass(frozen=True, slots=True)
class _Settled:
    """What became of one contact's sync; its messages share it."""

    disposition: Disposition
    published: int = 0
    requests: int = 0
    reason: str | None = None


class _Halt(Exception):
    """This batch stops sending requests: the reason applies to every contact left."""

    def __init__(self, reason: str, disposition: Disposition) -> None:
        super().__init__(reason)
        self.disposition = disposition


class _Batch:
    """What one batch has learnt that spares the rest of it: shared by the worker threads."""

    def __init__(self, remaining_ms: Callable[[], int], now: datetime) -> None:
        self._remaining_ms = remaining_ms
        remaining = remaining_ms()
        self._reserve_ms = max(TIME_RESERVE_MIN_MS, int(remaining * TIME_RESERVE_SHARE))
        # When the invocation will have been cut off, at the latest: its leases expire then.
        self.deadline = now + timedelta(milliseconds=remaining)
        self._lock = threading.Lock()
        self.halt: _Halt | None = None
        self.quota_resets_at: datetime | None = None
        self.credentials_refused = False

    def out_of_time(self) -> bool:
        return self._remaining_ms() < self._reserve_ms

    def stop(self, halt: _Halt) -> bool:
        """Halt the batch; True for the first reason given."""
        with self._lock:
            if self.halt is not None:
                return False
            self.halt = halt
            return True


@dataclass(eq=False, kw_only=True, slots=True)
class BatchSync:
    engine: SyncEngine
    rejected: RejectedMessages
    deferrals: Deferrals
    queue: ContactQueue
    clock: Callable[[], datetime]
    concurrency: int = 10
    quota: Callable[[], QuotaSnapshot | None] = lambda: None
    pacing: PacePolicy | None = None
    packing: PackingPublisher | None = None

    def process(
        self, messages: Sequence[ContactMessage], remaining_ms: Callable[[], int]
    ) -> tuple[list[MessageResult], bool]:
        """Results for every message, and whether LeadLex refused the key."""
        batch = _Batch(remaining_ms, self.clock())
        results: list[MessageResult] = []
        by_contact: dict[str, list[ContactMessage]] = {}
        continuing: set[str] = set()
        retried: set[str] = set()
        released: set[str] = set()
        for message in messages:
            try:
                request = read_body(message.body)
            except InvalidMessage as invalid:
                results.append(self._reject(message, str(invalid)))
            else:
                by_contact.setdefault(request.contact_id, []).append(message)
                if request.continuation:
                    continuing.add(request.contact_id)
                if request.released:
                    released.add(request.contact_id)
                # A message back from a failed or killed invocation may be all that is left of
                # a continuing sync (its continuation never sent): it resumes, too.
                if message.receive_count > 1:
                    retried.add(request.contact_id)
        for contact_id, group in self._paced(by_contact, continuing | retried | released):
            del by_contact[contact_id]
            results.extend(self._wait(contact_id, group))

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            syncs = [
                (
                    contact_id,
                    group,
                    pool.submit(
                        self._sync,
                        contact_id,
                        group,
                        (contact_id in continuing, contact_id in retried),
                        batch,
                    ),
                )
                for contact_id, group in by_contact.items()
            ]
            for contact_id, group, future in syncs:
                settled = future.result()
                results.extend(
                    MessageResult(
                        message.message_id,
                        settled.disposition,
                        contact_id,
                        # Counted once per contact, not once per message.
                        settled.published if index == 0 else 0,
                        settled.requests if index == 0 else 0,
                        settled.reason,
                    )
                    for index, message in enumerate(group)
                )
        self._share_quota()
        return results, batch.credentials_refused

    def _paced(
        self, by_contact: dict[str, list[ContactMessage]], exempt: set[str]
    ) -> list[tuple[str, list[ContactMessage]]]:
        """The contacts that must wait for the budget: arrivals beyond the allowance, the
        latest-asking first. The sweep's releases were granted their unit, and a continuation
        carries on a sync already under way: neither waits. No DynamoDB call is made for the
        decision (the allowance comes from the quota LeadLex reported last, which every
        container and the sweep share)."""
        if self.pacing is None:
            return []
        going_on = [c for c in by_contact if c in exempt]
        arrivals = sorted(
            (c for c in by_contact if c not in exempt),
            key=lambda c: _asked_at(by_contact[c]) or self.clock(),
        )
        allowed = admit(
            self.quota(), self.clock(), self.pacing, contacts=len(going_on) + len(arrivals)
        )
        admitted = max(0, allowed - len(going_on))
        return [(c, by_contact[c]) for c in arrivals[admitted:]]

    def _wait(self, contact_id: str, group: list[ContactMessage]) -> list[MessageResult]:
        since = _asked_at(group) or self.clock()
        try:
            self.deferrals.wait(contact_id, since)
        except Exception as failure:
            logger.exception("contact %s could not be recorded as waiting", contact_id)
            return [
                MessageResult(m.message_id, Disposition.RETRY, contact_id, reason=str(failure))
                for m in group
            ]
        reason = "paced: waits for the day's budget, released by the sweep"
        logger.info("contact %s %s", contact_id, reason)
        return [
            MessageResult(m.message_id, Disposition.DEFERRED, contact_id, reason=reason)
            for m in group
        ]

    def _reject(self, message: ContactMessage, reason: str) -> MessageResult:
        try:
            self.rejected.reject(message_id=message.message_id, body=message.body, reason=reason)
        except Exception:
            logger.exception("message %s could not be moved aside", message.message_id)
            return MessageResult(message.message_id, Disposition.RETRY, reason=reason)
        logger.warning("message %s rejected: %s", message.message_id, reason)
        return MessageResult(message.message_id, Disposition.REJECTED, reason=reason)

    def _sync(
        self,
        contact_id: str,
        group: list[ContactMessage],
        resumes: tuple[bool, bool],
        batch: _Batch,
    ) -> _Settled:
        sent = [m.sent_at for m in group if m.sent_at is not None]
        tally = Tally()
        try:
            if batch.halt is not None:
                raise batch.halt
            if batch.out_of_time():
                raise _Halt("not started: the invocation is running out of time", Disposition.RETRY)
            with self.packing.running() if self.packing else nullcontext():
                outcome = self.engine.sync(
                    contact_id,
                    started_at=self.clock(),
                    requested_at=max(sent) if len(sent) == len(group) else None,
                    continuation=resumes[0],
                    retried=resumes[1],
                    out_of_time=batch.out_of_time,
                    deadline=batch.deadline,
                    tally=tally,
                )
            if outcome.status is SyncStatus.CONTINUED:
                return self._continued(contact_id, outcome, batch)
        except _Halt as halt:
            return self._halted(contact_id, halt, batch)
        except LeaseHeld as held:
            return self._held_elsewhere(contact_id, held, resumes[0])
        except QuotaExhausted as exhausted:
            batch.quota_resets_at = exhausted.resets_at
            deferral = _Halt(
                f"daily quota exhausted until {exhausted.resets_at}", Disposition.DEFERRED
            )
            batch.stop(deferral)
            return self._halted(contact_id, deferral, batch, tally.requests)
        except (AuthenticationFailed, PermissionDenied) as refusal:
            batch.credentials_refused = True
            self._note_failure(contact_id, f"LeadLex refused the API key: {refusal}")
            if batch.stop(_Halt(f"LeadLex refused the API key: {refusal}", Disposition.RETRY)):
                logger.error(
                    "LeadLex refused the API key (%s, request %s); this batch's messages "
                    "return to the queue until the key is fixed",
                    refusal,
                    refusal.request_id,
                )
            return _Settled(Disposition.RETRY, requests=tally.requests, reason=str(refusal))
        except RateLimited as limited:
            batch.stop(_Halt(f"rate limited: {limited}", Disposition.RETRY))
            return self._retry(contact_id, limited, tally.requests)
        except (SourceError, StateConflict, PublishFailed) as failure:
            return self._retry(contact_id, failure, tally.requests)
        except Exception as bug:
            logger.exception(
                "contact %s: unexpected failure after %d LeadLex requests",
                contact_id,
                tally.requests,
            )
            self._note_failure(contact_id, f"unexpected {type(bug).__name__}: {bug}")
            return _Settled(Disposition.RETRY, requests=tally.requests, reason=repr(bug))
        return self._synced(contact_id, outcome)

    def _continued(self, contact_id: str, outcome: SyncOutcome, batch: _Batch) -> _Settled:
        if outcome.continue_after:
            # The per-minute window is spent: the rest of the batch would only meet 429s.
            batch.stop(_Halt("rate limited: the per-minute window is spent", Disposition.RETRY))
        continuation = QueuedContact.continuation(contact_id, delay_seconds=outcome.continue_after)
        if not self._requeued(continuation):
            # The checkpoint holds: the message coming back resumes from it, reading nothing
            # twice; only its receive count pays for the failure.
            reason = "its continuation could not be queued"
            logger.error("contact %s: %s", contact_id, reason)
            return _Settled(Disposition.RETRY, outcome.published, outcome.requests, reason)
        logger.info(
            "contact %s continues in %d s: %d published, %d LeadLex requests this time",
            contact_id,
            outcome.continue_after,
            outcome.published,
            outcome.requests,
        )
        return _Settled(
            Disposition.CONTINUED, published=outcome.published, requests=outcome.requests
        )

    def _halted(self, contact_id: str, halt: _Halt, batch: _Batch, requests: int = 0) -> _Settled:
        if halt.disposition is Disposition.DEFERRED:
            assert batch.quota_resets_at is not None
            try:
                self.deferrals.defer(contact_id, batch.quota_resets_at)
            except Exception as failure:
                logger.exception("contact %s could not be deferred", contact_id)
                return _Settled(Disposition.RETRY, requests=requests, reason=str(failure))
            logger.info(
                "contact %s deferred after %d LeadLex requests: %s", contact_id, requests, halt
            )
        return _Settled(halt.disposition, requests=requests, reason=str(halt))

    def _held_elsewhere(self, contact_id: str, held: LeaseHeld, continuation: bool) -> _Settled:
        """Another invocation is syncing the contact, and began before this message was sent:
        sync again once it is done, without spending a receive count. A continuation goes back
        as a continuation, so that it still carries its sync on."""
        seconds = (held.lease.expires_at - self.clock()).total_seconds()
        delay = min(MAX_DELAY_SECONDS, max(1, math.ceil(seconds)))
        message = (
            QueuedContact.continuation(contact_id, delay_seconds=delay)
            if continuation
            else QueuedContact(contact_id, Purpose.REQUEST, delay_seconds=delay)
        )
        if not self._requeued(message):
            return self._retry(contact_id, held, 0)
        logger.info(
            "contact %s is being synced by another invocation: enqueued again in %d s",
            contact_id,
            delay,
        )
        return _Settled(Disposition.REQUEUED, reason=str(held))

    def _requeued(self, message: QueuedContact) -> bool:
        """Whether the contact queue took `message`."""
        try:
            return not self.queue.send([message])
        except Exception:
            logger.warning("contact %s could not be enqueued", message.contact_id, exc_info=True)
            return False

    def _retry(self, contact_id: str, failure: Exception, requests: int) -> _Settled:
        logger.warning(
            "contact %s not synced after %d LeadLex requests, its messages return to the queue: "
            "%s: %s",
            contact_id,
            requests,
            type(failure).__name__,
            failure,
        )
        self._note_failure(contact_id, f"{type(failure).__name__}: {failure}")
        return _Settled(Disposition.RETRY, requests=requests, reason=str(failure))

    def _note_failure(self, contact_id: str, reason: str) -> None:
        """For people asking why (`relay state`): one write, and never a reason to fail the
        message a second way."""
        try:
            self.engine.store.record_failure(contact_id, reason, self.clock())
        except Exception:
            logger.warning("contact %s: could not record its failure", contact_id, exc_info=True)

    def _synced(self, contact_id: str, outcome: SyncOutcome) -> _Settled:
        disposition = {
            SyncStatus.SYNCED: Disposition.SYNCED,
            SyncStatus.COALESCED: Disposition.COALESCED,
            SyncStatus.COVERED: Disposition.COVERED,
            SyncStatus.NOT_FOUND: Disposition.NOT_FOUND,
        }[outcome.status]
        logger.info(
            "contact %s %s: %d published, %d LeadLex requests",
            contact_id,
            disposition.value,
            outcome.published,
            outcome.requests,
        )
        return _Settled(disposition, published=outcome.published, requests=outcome.requests)

    def _share_quota(self) -> None:
        snapshot = self.quota()
        if snapshot is None:
            return
        try:
            self.deferrals.record_quota(snapshot)
        except Exception:
            # Only an optimisation for other containers and the sweep: never fail messages.
            logger.warning("could not record the quota observation", exc_info=True)


def _asked_at(group: Sequence[ContactMessage]) -> datetime | None:
    """When the contact first asked for a sync, as far as its messages tell."""
    sent = [m.sent_at for m in group if m.sent_at is not None]
    return min(sent) if sent else None
