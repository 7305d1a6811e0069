"""One SQS message at a time: intake, then the sync, with failures sorted by what they mean.

A rejected message goes to the dead-letter queue with its reason and is acknowledged. An
unknown contact is acknowledged (the engine records it). Everything else that fails is
raised, so the batch processor reports the message back to SQS for another try.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from activity_relay.engine import SyncEngine, SyncOutcome
from activity_relay.intake import InvalidMessage, contact_id_from_body
from activity_relay.ports import (
    AuthenticationFailed,
    PermissionDenied,
    PublishFailed,
    RejectedMessages,
    SourceError,
    StateConflict,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContactMessage:
    message_id: str
    body: str


@dataclass(frozen=True, slots=True)
class Rejected:
    message_id: str
    reason: str


class CredentialsRefused(SourceError):
    """LeadLex refused the key earlier in this batch; not asked again for the rest of it."""


class Relay:
    def __init__(
        self,
        *,
        engine: SyncEngine,
        rejected: RejectedMessages,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._rejected = rejected
        self._clock = clock
        self._refusal: SourceError | None = None

    def begin_batch(self) -> None:
        self._refusal = None

    @property
    def credentials_refused(self) -> bool:
        return self._refusal is not None

    def handle(self, message: ContactMessage) -> SyncOutcome | Rejected:
        try:
            contact_id = contact_id_from_body(message.body)
        except InvalidMessage as invalid:
            self._rejected.reject(
                message_id=message.message_id, body=message.body, reason=str(invalid)
            )
            logger.warning("message %s rejected: %s", message.message_id, invalid)
            return Rejected(message.message_id, str(invalid))

        if self._refusal is not None:
            # Every contact would fail the same way: spare the quota.
            raise CredentialsRefused(str(self._refusal), request_id=self._refusal.request_id)
        try:
            outcome = self._engine.sync(contact_id, started_at=self._clock())
        except (AuthenticationFailed, PermissionDenied) as refusal:
            self._refusal = refusal
            logger.error(
                "LeadLex refused the API key (%s, request %s); this batch's messages return "
                "to the queue until the key is fixed",
                refusal,
                refusal.request_id,
            )
            raise
        except (SourceError, StateConflict, PublishFailed) as failure:
            logger.warning(
                "contact %s not synced, message %s returns to the queue: %s: %s",
                contact_id,
                message.message_id,
                type(failure).__name__,
                failure,
            )
            raise
        logger.info(
            "contact %s %s: %d published, %d LeadLex requests",
            contact_id,
            outcome.status.value,
            outcome.published,
            outcome.requests,
        )
        return outcome
