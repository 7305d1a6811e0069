"""What the webhook receiver raises when the world lets it down (it sends through the contact
queue's port, core/contracts/contact_queue.py)."""

from __future__ import annotations

from activity_relay.core.model import RelayError


class ReceiverUnavailable(RelayError):
    """The secret or the queue could not be reached: the delivery is answered 503 and LeadLex
    delivers it again. The message names what failed, never a secret."""
