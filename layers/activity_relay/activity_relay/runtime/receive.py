"""The webhook receiver (functions/receive_webhooks): its settings and its runtime.

A signed LeadLex webhook → the event of the activity it carries, published at once (the fast
path, WEBHOOK_FAST_PATH=on), or the contact on the contact queue (core/webhooks_in/). The
signing secret is re-read when deliveries stop verifying, so a rotated secret needs no redeploy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from activity_relay.runtime.environment import (
    Channels,
    ConfigurationError,
    Environment,
    SecretSetting,
    SecretUnavailable,
    utc_now,
)
from activity_relay.runtime.registry import built_once

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from activity_relay.core.webhooks_in.fast_path import FastPath
    from activity_relay.core.webhooks_in.receiver import Reception
    from activity_relay.lambda_events import Invocation
    from activity_relay.runtime.aws import AwsClients

DEFAULT_REPLAY_HORIZON_HOURS = 72
"""Outlasts LeadLex's retries of one delivery (undocumented, exponential: hours, not days)."""
DEFAULT_RECONCILE_WINDOW_MINUTES = 1440


@dataclass(frozen=True, slots=True)
class FastPathSettings:
    """What the fast path publishes to, and what it accounts in."""

    state_table_name: str  # WATERMARK_TABLE_NAME, the sync function's
    channels: Channels
    reconcile_window: timedelta


FAILED_READ_HOLD_SECONDS = 5.0
"""After a failed read of the signing secret, requests within this many seconds fail the same
way without asking Secrets Manager again: a flood of requests to the public URL while the
secret is unreadable costs one GetSecretValue per 5 s, not one per request."""


@dataclass(frozen=True, slots=True)
class ReceiveSettings:
    contact_queue_url: str
    webhook_secret: SecretSetting
    fast_path: FastPathSettings | None  # None: WEBHOOK_FAST_PATH=off, every contact enqueued
    replay_horizon: timedelta | None  # None: no delivery is too old

    @classmethod
    def from_env(cls, variables: Mapping[str, str]) -> ReceiveSettings:
        env = Environment(variables)
        contact_queue_url = env.required("CONTACT_QUEUE_URL")
        webhook_secret = env.secret(
            value_variable="LEADLEX_WEBHOOK_SECRET",
            id_variable="LEADLEX_WEBHOOK_SECRET_ID",
            json_field="secret",
        )
        fast_path = None
        if env.choice("WEBHOOK_FAST_PATH", default="on", choices=("on", "off")) == "on":
            window = env.integer(
                "RECONCILE_WINDOW_MINUTES",
                default=DEFAULT_RECONCILE_WINDOW_MINUTES,
                low=1,
                high=24 * 60,
            )
            fast_path = FastPathSettings(
                state_table_name=env.required("WATERMARK_TABLE_NAME"),
                channels=env.channels(),
                reconcile_window=timedelta(minutes=window),
            )
        horizon = env.integer(
            "WEBHOOK_REPLAY_HORIZON_HOURS", default=DEFAULT_REPLAY_HORIZON_HOURS, low=0
        )
        return cls(
            contact_queue_url=contact_queue_url,
            webhook_secret=webhook_secret,
            fast_path=fast_path,
            replay_horizon=timedelta(hours=horizon) if horizon else None,
        )


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One request to the Function URL, as the receiver reads it."""

    body: bytes  # as LeadLex signed it
    signature: str | None  # X-LeadLex-Signature


class ReceiveRuntime:
    """The webhook receiver's runtime: the signing secret, the contact queue, and (fast path on)
    the state table and the publishers."""

    def __init__(
        self,
        settings: ReceiveSettings,
        *,
        sqs: SQSClient | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        from activity_relay.adapters.sqs.batch import SqsBatchSender
        from activity_relay.adapters.sqs.contact_queue import SqsContactQueue
        from activity_relay.core.webhooks_in.receiver import WebhookReceiver
        from activity_relay.core.webhooks_in.signature import RotatingSecret
        from activity_relay.runtime.aws import AwsClients

        self.settings = settings
        self._monotonic = time.monotonic
        self._failed_read: tuple[float, type[Exception], str] | None = None
        # LeadLex waits 10 s for the answer: fail fast rather than retry for long.
        self._clients = AwsClients(max_attempts=2, connect_timeout=1, read_timeout=3)
        # botocore's retries (above) are all the time there is: one SendMessageBatch call.
        sender = SqsBatchSender(sqs or self._clients.sqs(), settings.contact_queue_url, attempts=1)
        self.receiver = WebhookReceiver(
            RotatingSecret(self._load_secret, clock=time.monotonic),
            SqsContactQueue(sender),
            fast_path=(
                _fast_path(settings.fast_path, self._clients, clock)
                if settings.fast_path is not None
                else None
            ),
            replay_horizon=settings.replay_horizon,
            clock=clock,
        )

    def process(self, request: WebhookRequest, context: Invocation) -> Reception:
        return self.receiver.receive(request.body, request.signature)

    def _load_secret(self, refresh: bool) -> str:
        """The signing secret. Unreadable for now (throttled, unreachable): ReceiverUnavailable,
        a 503 that LeadLex retries; refused for good (missing, denied): ConfigurationError, one
        line naming LEADLEX_WEBHOOK_SECRET_ID and a 500."""
        from activity_relay.core.webhooks_in.ports import ReceiverUnavailable

        now = self._monotonic()
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


def _fast_path(
    settings: FastPathSettings, clients: AwsClients, clock: Callable[[], datetime]
) -> FastPath:
    from activity_relay.adapters.dynamodb.ledger import DynamoDbWebhookLedger
    from activity_relay.adapters.publishers.batching import RetryPolicy
    from activity_relay.core.webhooks_in.fast_path import FastPath
    from activity_relay.runtime.sync import build_publisher

    # One retry of what a batch call failed, briefly: LeadLex retries the whole delivery.
    retry = RetryPolicy(attempts=2, base_delay=0.05, max_delay=0.2)
    return FastPath(
        DynamoDbWebhookLedger(clients.dynamodb(), settings.state_table_name),
        build_publisher(settings.channels, clients, retry),
        clock=clock,
        reconcile_window=settings.reconcile_window,
    )


@built_once
def runtime() -> ReceiveRuntime:
    """Raises ConfigurationError naming the variable; nothing is cached then."""
    return ReceiveRuntime(ReceiveSettings.from_env(os.environ))
