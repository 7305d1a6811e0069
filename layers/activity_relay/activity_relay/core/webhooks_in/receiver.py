"""LeadLex webhooks in: verify a delivery (signature.py), read it (payload.py), and either
publish the activity it carries at once (fast_path.py) or put its contact on the queue.

Nothing else happens here, so that the answer comes well within LeadLex's 10 s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from activity_relay.core.contracts.contact_queue import ContactQueue, Purpose, QueuedContact
from activity_relay.core.webhooks_in.fast_path import FastPath, FastPathOutcome
from activity_relay.core.webhooks_in.payload import (
    MAX_BODY_BYTES,
    Ignored,
    MalformedPayload,
    Notification,
    read_notification,
)
from activity_relay.core.webhooks_in.ports import ReceiverUnavailable
from activity_relay.core.webhooks_in.signature import RotatingSecret


class Outcome(StrEnum):
    PUBLISHED = "published"  # the activity's event went out (the fast path)
    DUPLICATE = "duplicate"  # published already, or being published by another receiver
    ENQUEUED = "enqueued"  # the contact went on the queue, for a poll
    IGNORED = "ignored"
    UNAUTHORIZED = "unauthorized"
    MALFORMED = "malformed"
    EXPIRED = "expired"  # signed longer ago than the replay horizon


@dataclass(frozen=True, slots=True)
class Reception:
    """What became of one delivery; `detail` is the signature problem, the ignored reason,
    what is malformed or why the fast path left it to a poll — never a secret or a digest."""

    outcome: Outcome
    detail: str | None = None
    contact_id: str | None = None
    activity_id: str | None = None
    event: str | None = None


class WebhookReceiver:
    """Verify the signature, read the delivery, then publish its activity or enqueue its
    contact. `fast_path` None: every contact goes on the queue (WEBHOOK_FAST_PATH=off).
    `replay_horizon` None: a delivery is never too old."""

    def __init__(
        self,
        secret: RotatingSecret,
        queue: ContactQueue,
        *,
        fast_path: FastPath | None = None,
        replay_horizon: timedelta | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if replay_horizon is not None and clock is None:
            raise ValueError("a replay horizon needs a clock")
        self._secret = secret
        self._queue = queue
        self._fast_path = fast_path
        self._replay_horizon = replay_horizon
        self._clock = clock

    def receive(self, body: bytes, signature: str | None) -> Reception:
        if len(body) > MAX_BODY_BYTES:
            # Not worth hashing: no payload of ours is this large.
            return Reception(Outcome.MALFORMED, f"body over {MAX_BODY_BYTES} bytes")
        problem = self._secret.verify(body, signature)
        if problem is not None:
            return Reception(Outcome.UNAUTHORIZED, str(problem))
        try:
            notification = read_notification(body)
        except MalformedPayload as malformed:
            return Reception(Outcome.MALFORMED, str(malformed))
        if isinstance(notification, Ignored):
            return Reception(Outcome.IGNORED, str(notification.reason), event=notification.event)
        if self._expired(notification):
            return Reception(
                Outcome.EXPIRED,
                f"signed longer ago than the replay horizon ({self._replay_horizon})",
                contact_id=notification.contact_id,
                activity_id=notification.activity_id,
            )
        reason = notification.unusable
        if self._fast_path is not None and notification.activity is not None:
            published = self._fast_path.publish(notification.contact_id, notification.activity)
            if published.outcome is FastPathOutcome.PUBLISHED:
                return self._reception(Outcome.PUBLISHED, notification)
            if published.outcome is not FastPathOutcome.LEFT_TO_A_POLL:
                return self._reception(Outcome.DUPLICATE, notification, str(published.outcome))
            reason = published.reason
        self._enqueue(notification)
        return self._reception(
            Outcome.ENQUEUED, notification, reason if self._fast_path is not None else None
        )

    def _expired(self, notification: Notification) -> bool:
        if self._replay_horizon is None or notification.signed_at is None:
            return False  # judged as before: no horizon, or a delivery that says no time
        assert self._clock is not None
        return self._clock() - notification.signed_at > self._replay_horizon

    def _enqueue(self, notification: Notification) -> None:
        message = QueuedContact(
            notification.contact_id, Purpose.WEBHOOK, activity_id=notification.activity_id
        )
        if self._queue.send([message]):
            raise ReceiverUnavailable("the contact queue did not take the message")

    @staticmethod
    def _reception(
        outcome: Outcome, notification: Notification, detail: str | None = None
    ) -> Reception:
        return Reception(
            outcome,
            detail,
            contact_id=notification.contact_id,
            activity_id=notification.activity_id,
        )
