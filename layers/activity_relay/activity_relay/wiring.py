"""Settings → real adapters → the one runtime object each handler calls.

Each function has one runtime, built on its first invocation and kept for the container's life
(`sync_runtime()`, `sweep_runtime()`, `receive_runtime()`); `reset()` forgets them, for a test
or a local stack that changed the environment. This module and settings.py are the only
readers of the environment.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from activity_relay.settings import (
    ConfigurationError,
    ReceiveSettings,
    Settings,
    SweepSettings,
    WebhookSettings,
)

# Cold starts (benchmarks/cold_start.py): importing this module loads no adapter, boto3 or
# requests. Each runtime imports what it uses when it is built (the first invocation), so a
# function loads only its own: the receiver and the sweep no requests, none Powertools
# Parameters unless its secret comes from Secrets Manager.
if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    from activity_relay.core.batch import ContactMessage, MessageResult, Relay
    from activity_relay.core.sweep import SweepResult


def build_relay(settings: Settings, api_key: str) -> Relay:
    from activity_relay.adapters.dynamodb import DynamoDbStateStore
    from activity_relay.adapters.eventbridge import EventBridgePublisher
    from activity_relay.adapters.leadlex import LeadLexClient
    from activity_relay.adapters.sns import SnsPublisher
    from activity_relay.adapters.sqs import SqsContactQueue, SqsContinuations, SqsDeadLetters
    from activity_relay.core.batch import Relay
    from activity_relay.core.engine import SyncEngine
    from activity_relay.core.fanout import FanOutPublisher
    from activity_relay.core.packing import PackingPublisher
    from activity_relay.core.ports import Publisher

    clients = _AwsClients()
    publishers: list[Publisher] = []
    if settings.topic_arn is not None:
        publishers.append(SnsPublisher(clients.sns(), settings.topic_arn))
    if settings.event_bus_name is not None:
        publishers.append(
            EventBridgePublisher(clients.events(), settings.event_bus_name, settings.event_source)
        )
    store = DynamoDbStateStore(clients.dynamodb(), settings.watermark_table_name)
    leadlex = LeadLexClient(
        api_key,
        settings.api_base_url,
        quota_reserve=settings.quota_reserve,
        pool_size=settings.contact_concurrency,
    )
    known_quota = store.load_quota()
    if known_quota is not None:
        # A cold container must not spend a request to learn what another one already knows.
        leadlex.observe_quota(known_quota)
    # The syncs of one batch share their batch calls (core/packing.py).
    packing = PackingPublisher(
        publishers[0] if len(publishers) == 1 else FanOutPublisher(publishers)
    )
    engine = SyncEngine(
        source=leadlex,
        store=store,
        publisher=packing,
        initial_sync=settings.initial_sync,
    )
    sqs = clients.sqs()
    return Relay(
        engine=engine,
        rejected=SqsDeadLetters(sqs, settings.dead_letter_queue_url),
        deferrals=store,
        continuations=SqsContinuations(sqs, settings.contact_queue_url),
        clock=lambda: datetime.now(UTC),
        concurrency=settings.contact_concurrency,
        quota=leadlex.quota,
        pacing=settings.pace,
        requeue=SqsContactQueue(sqs, settings.contact_queue_url),
        packing=packing,
    )


class SyncRuntime:
    """The sync function's runtime: the relay, and the key it was built with.

    A refused key may have been rotated in Secrets Manager: the next batch rebuilds the relay
    with the key fetched afresh.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._relay: Relay | None = None
        self._refresh_key = False

    def process(
        self, messages: Sequence[ContactMessage], remaining_ms: Callable[[], int]
    ) -> list[MessageResult]:
        if self._relay is None:
            api_key = resolve_api_key(self.settings, refresh=self._refresh_key)
            self._relay, self._refresh_key = build_relay(self.settings, api_key), False
        results, credentials_refused = self._relay.process(messages, remaining_ms)
        if credentials_refused:
            self._relay, self._refresh_key = None, True
        return results


class SweepRuntime:
    """The sweep function's runtime: the deferrals (the state table) and the contact queue."""

    def __init__(self, settings: SweepSettings) -> None:
        from activity_relay.adapters.dynamodb import DynamoDbStateStore
        from activity_relay.adapters.sqs import SqsContactQueue

        clients = _AwsClients()
        self.settings = settings
        self._deferrals = DynamoDbStateStore(clients.dynamodb(), settings.watermark_table_name)
        self._queue = SqsContactQueue(
            clients.sqs(), settings.contact_queue_url, released=settings.pacing
        )

    def sweep(self) -> SweepResult:
        from activity_relay.core.sweep import sweep

        return sweep(self._deferrals, self._queue, self.settings.policy, now=datetime.now(UTC))


@cache
def sync_runtime() -> SyncRuntime:
    """Raises ConfigurationError naming the variable; nothing is cached then."""
    return SyncRuntime(Settings.from_env(os.environ))


@cache
def sweep_runtime() -> SweepRuntime:
    return SweepRuntime(SweepSettings.from_env(os.environ))


def reset() -> None:
    """Forget every runtime: the next invocation reads the environment again."""
    sync_runtime.cache_clear()
    sweep_runtime.cache_clear()
    webhook_runtime.cache_clear()
    receive_runtime.cache_clear()
    _boto3_session.cache_clear()  # its credentials, which a test or local stack may change
    if "activity_relay.adapters.secrets" in sys.modules:  # else no secret was ever read
        from activity_relay.adapters.secrets import forget_secrets

        forget_secrets()  # and the Secrets Manager client, which may point at a stack now gone


# --- The webhook receiver ------------------------------------------------------------------------


class ReceiveRuntime:
    """The webhook receiver's runtime: the signing secret (re-read when deliveries stop
    verifying) and the contact queue."""

    def __init__(self, settings: ReceiveSettings, *, sqs: SQSClient | None = None) -> None:
        from activity_relay.adapters.sqs import SqsContactSender
        from activity_relay.core.leadlex_webhooks import RotatingSecret, WebhookReceiver

        self.settings = settings
        # LeadLex waits 10 s for the answer: fail fast rather than retry for long.
        self._clients = _AwsClients(max_attempts=2, connect_timeout=1, read_timeout=3)
        client = sqs or self._clients.sqs()
        self.receiver = WebhookReceiver(
            RotatingSecret(self._load_secret, clock=time.monotonic),
            SqsContactSender(client, settings.contact_queue_url),
        )

    def _load_secret(self, refresh: bool) -> str:
        if self.settings.webhook_secret is not None:
            return self.settings.webhook_secret
        assert self.settings.webhook_secret_id is not None
        from activity_relay.adapters.secrets import SecretUnreadable, SecretUnusable, read_secret
        from activity_relay.core.ports import ReceiverUnavailable

        try:
            return read_secret(
                self.settings.webhook_secret_id,
                json_field="secret",
                refresh=refresh,
                connect=self._clients.secretsmanager,
            )
        except SecretUnusable as unusable:
            raise ConfigurationError(f"LEADLEX_WEBHOOK_SECRET_ID: {unusable}") from None
        except SecretUnreadable as unreadable:
            raise ReceiverUnavailable(f"LEADLEX_WEBHOOK_SECRET_ID: {unreadable}") from None


@cache
def receive_runtime() -> ReceiveRuntime:
    """Raises ConfigurationError naming the variable; nothing is cached then."""
    return ReceiveRuntime(ReceiveSettings.from_env(os.environ))


def resolve_api_key(settings: Settings, *, refresh: bool = False) -> str:
    """The LeadLex key: from the environment locally, from Secrets Manager in production (plain
    text, or JSON with an `api_key` field)."""
    if settings.api_key is not None:
        return settings.api_key
    assert settings.api_key_secret_id is not None
    from activity_relay.adapters.secrets import SecretUnusable, read_secret

    try:
        return read_secret(
            settings.api_key_secret_id,
            json_field="api_key",
            refresh=refresh,
            connect=_AwsClients().secretsmanager,
        )
    except SecretUnusable as unusable:
        raise ConfigurationError(f"LEADLEX_API_KEY_SECRET_ID: {unusable}") from None


# --- Webhooks out ------------------------------------------------------------------------------


class WebhookRuntime:
    """The deliver_webhooks function's runtime: events → deliveries, deliveries → POSTs."""

    def __init__(self, settings: WebhookSettings) -> None:
        from activity_relay.adapters.endpoints import DynamoDbEndpointStore
        from activity_relay.adapters.http_delivery import HardenedSender
        from activity_relay.adapters.webhook_queues import SqsDeliveryQueue, SqsWebhookDeadLetters
        from activity_relay.core.delivery import WebhookDeliverer, WebhookFanOut

        clients = _AwsClients()
        self.settings = settings
        store = DynamoDbEndpointStore(clients.dynamodb(), settings.endpoint_table_name)
        queue = SqsDeliveryQueue(clients.sqs(), settings.delivery_queue_url)
        self.fan_out = WebhookFanOut(store, queue)
        self.deliverer = WebhookDeliverer(
            endpoints=store,
            sender=HardenedSender(allow_local=settings.allow_local_targets),
            queue=queue,
            dead_letters=SqsWebhookDeadLetters(clients.sqs(), settings.dead_letter_queue_url),
            schedule=settings.schedule,
            clock=lambda: datetime.now(UTC),
            uniform=random.SystemRandom().uniform,
            concurrency=settings.concurrency,
        )

    def is_delivery(self, event_source_arn: str) -> bool:
        """Records from the delivery queue (else: events from the activity topic's queue)."""
        return event_source_arn.rsplit(":", 1)[-1] == self.settings.delivery_queue_name


@cache
def webhook_runtime() -> WebhookRuntime:
    return WebhookRuntime(WebhookSettings.from_env(os.environ))


@cache
def _boto3_session() -> Session:
    """One boto3 session per container: each further one loads botocore's data files again."""
    import boto3

    return boto3.session.Session()


# A session is not thread-safe; local stacks build several functions' runtimes in one process.
_CLIENTS_LOCK = threading.Lock()


class _AwsClients:
    """boto3 clients of the container's session, with botocore's standard retries and short
    timeouts. boto3 is imported on first use, not at import time (cold starts)."""

    def __init__(
        self, *, max_attempts: int = 5, connect_timeout: float = 3, read_timeout: float = 10
    ) -> None:
        from botocore.config import Config

        with _CLIENTS_LOCK:
            self._session = _boto3_session()
        self._config = Config(
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )

    def sns(self) -> SNSClient:
        with _CLIENTS_LOCK:
            return self._session.client("sns", config=self._config)

    def events(self) -> EventBridgeClient:
        with _CLIENTS_LOCK:
            return self._session.client("events", config=self._config)

    def dynamodb(self) -> DynamoDBClient:
        with _CLIENTS_LOCK:
            return self._session.client("dynamodb", config=self._config)

    def sqs(self) -> SQSClient:
        with _CLIENTS_LOCK:
            return self._session.client("sqs", config=self._config)

    def secretsmanager(self) -> SecretsManagerClient:
        with _CLIENTS_LOCK:
            return self._session.client("secretsmanager", config=self._config)
