"""What LeadLex's answers become: the errors of the activity source, which the sync handles and
the quota raises alike."""

from __future__ import annotations

from datetime import datetime


class RelayError(Exception):
    """Base of the errors the relay expects and handles."""


class SourceError(RelayError):
    """`requests`: the HTTP requests the failed call sent, retries included (LeadLex counts
    each against the quota); 0 when it refused to send one."""

    def __init__(self, message: str, *, request_id: str | None = None, requests: int = 1) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.requests = requests


class ContactNotFound(SourceError):
    """404: the contact does not exist (or not in this workspace). Not worth a retry."""


class AuthenticationFailed(SourceError):
    """401: the key is unknown, expired or revoked."""


class PermissionDenied(SourceError):
    """403: the key lacks the activities:read scope."""


class TransientSourceError(SourceError):
    """5xx, dropped connections, timeouts, 429 beyond our retries: try again later."""


class RateLimited(TransientSourceError):
    """429 from the per-minute window (not retried), or still refused after its Retry-After."""


class QuotaExhausted(SourceError):
    """The daily quota (less the configured reserve) is spent until `resets_at`."""

    def __init__(
        self,
        message: str,
        *,
        resets_at: datetime,
        request_id: str | None = None,
        requests: int = 1,
    ) -> None:
        super().__init__(message, request_id=request_id, requests=requests)
        self.resets_at = resets_at


class MalformedResponse(TransientSourceError):
    """The API answered something that is not a valid page. Never read as a short page."""
