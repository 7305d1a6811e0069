"""The webhook receiver (functions/receive_webhooks): its settings and its runtime.

A signed LeadLex webhook → the contact on the contact queue (core/webhooks_in/). The signing
secret is re-read when deliveries stop verifying, so a rotated secret needs no redeploy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from activity_relay.runtime.environment import (
    ConfigurationError,
    Environment,
    SecretSetting,
    SecretUnavailable,
)
from activity_relay.runtime.registry import built_once

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from activity_relay.core.webhooks_in.receiver import Reception
    from activity_relay.lambda_events import Invocation


FAILED_READ_HOLD_SECONDS = 5.0
"""After a failed read of the signing secret, requests within this many seconds fail the same
way without asking Secrets Manager again: a flood of requests to the public URL while the
secret is unreadable costs one GetSecretValue per 5 s, not one per request."""


@dataclass(frozen=True, slots=True)
class ReceiveSettings:
    contact_queue_url: str
    webhook_secret: SecretSetting

    @classmethod
    def from_env(cls, variables: Mapping[str, str]) -> ReceiveSettings:
        env = Environment(variables)
        return cls(
            contact_queue_url=env.required("CONTACT_QUEUE_URL"),
            webhook_secret=env.secret(
                value_variable="LEADLEX_WEBHOOK_SECRET",
                id_variable="LEADLEX_WEBHOOK_SECRET_ID",
                json_field="secret",
            ),
        )


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One request to the Function URL, as the receiver reads it."""

    body: bytes  # as LeadLex signed it
    signature: str | None  # X-LeadLex-Signature


class ReceiveRuntime:
    """The webhook receiver's runtime: the signing secret and the contact queue."""

    def __init__(self, settings: ReceiveSettings, *, sqs: SQSClient | None = None) -> None:
        from activity_relay.adapters.sqs.batch import SqsBatchSender
        from activity_relay.adapters.sqs.contact_queue import SqsContactQueue
        from activity_relay.core.webhooks_in.receiver import WebhookReceiver
        from activity_relay.core.webhooks_in.signature import RotatingSecret
        from activity_relay.runtime.aws import AwsClients

        self.settings = settings
        self._clock = time.monotonic
        self._failed_read: tuple[float, type[Exception], str] | None = None
        # LeadLex waits 10 s for the answer: fail fast rather than retry for long.
        self._clients = AwsClients(max_attempts=2, connect_timeout=1, read_timeout=3)
        self.receiver = WebhookReceiver(
            RotatingSecret(self._load_secret, clock=time.monotonic),
            # botocore's retries (above) are all the time there is: one SendMessageBatch call.
            SqsContactQueue(
                SqsBatchSender(sqs or self._clients.sqs(), settings.contact_queue_url, attempts=1)
            ),
        )

    def process(self, request: WebhookRequest, context: Invocation) -> Reception:
        return self.receiver.receive(request.body, request.signature)

    def _load_secret(self, refresh: bool) -> str:
        """The signing secret. Unreadable for now (throttled, unreachable): ReceiverUnavailable,
        a 503 that LeadLex retries; refused for good (missing, denied): ConfigurationError, one
        line naming LEADLEX_WEBHOOK_SECRET_ID and a 500."""
        from activity_relay.core.webhooks_in.ports import ReceiverUnavailable

        now = self._clock()
        if self._failed_read is not None and now - self._failed_read[0] < FAILED_READ_HOLD_SECONDS:
            _, kind, message = self._failed_read
            raise kind(message)
        try:
            secret = self.settings.webhook_secret.read(
                refresh=refresh, connect=self._clients.secretsmanager
            )
        except SecretUnavailable as unavailable:
            self._failed_read = (now, ReceiverUnavailable, str(unavailable))
            raise ReceiverUnavailable(str(unavailable)) from None
        except ConfigurationError as refused:
            self._failed_read = (now, ConfigurationError, str(refused))
            raise
        self._failed_read = None
        return secret


@built_once
def runtime() -> ReceiveRuntime:
    """Raises ConfigurationError naming the variable; nothing is cached then."""
    return ReceiveRuntime(ReceiveSettings.from_env(os.environ))
