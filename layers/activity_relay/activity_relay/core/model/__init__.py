"""The values every capability shares: activities and their pages, the contact's state and its
fingerprint, and the errors LeadLex's answers become. Imports no capability."""

from activity_relay.core.model.activity import (
    POLL,
    WEBHOOK,
    Activity,
    ActivityEvent,
    ActivityPage,
    InitialSync,
    epoch_micros,
    parse_contact_id,
    parse_timestamp,
)
from activity_relay.core.model.errors import (
    AuthenticationFailed,
    ContactNotFound,
    MalformedResponse,
    PermissionDenied,
    QuotaExhausted,
    RateLimited,
    RelayError,
    SourceError,
    TransientSourceError,
)
from activity_relay.core.model.fingerprint import Fingerprint, id_hash
from activity_relay.core.model.state import Backfill, ContactState, WebhookClaim

__all__ = [
    "POLL",
    "WEBHOOK",
    "Activity",
    "ActivityEvent",
    "ActivityPage",
    "AuthenticationFailed",
    "Backfill",
    "ContactNotFound",
    "ContactState",
    "Fingerprint",
    "InitialSync",
    "MalformedResponse",
    "PermissionDenied",
    "QuotaExhausted",
    "RateLimited",
    "RelayError",
    "SourceError",
    "TransientSourceError",
    "WebhookClaim",
    "epoch_micros",
    "id_hash",
    "parse_contact_id",
    "parse_timestamp",
]
