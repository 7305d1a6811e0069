"""What the webhook receiver needs of the world beyond the contact queue."""

from __future__ import annotations

from typing import Protocol

from activity_relay.core.model import RelayError


class ReceiverUnavailable(RelayError):
    """The secret or the queue could not be reached: the delivery is answered 503 and LeadLex
    delivers it again. The message names what failed, never a secret."""


class ContactSender(Protocol):
    """The contact queue as the webhook receiver sees it: one message per verified notification
    (the queue's own delivery delay applies)."""

    def send(self, contact_id: str, *, activity_id: str | None) -> None:
        """Raises ReceiverUnavailable when the message was not sent."""
        ...
