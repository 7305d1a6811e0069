"""The sync function (functions/sync_activities): its settings and its runtime.

SQS batches of contact ids → BatchSync (core/sync/batch.py) over LeadLex, the state table and
the publishers. A refused key may have been rotated in Secrets Manager: the next batch rebuilds
the runtime's BatchSync with the key read afresh.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from activity_relay.core.model import InitialSync
from activity_relay.core.quota.pacing import PacePolicy
from activity_relay.runtime.environment import (
    Channels,
    ConfigurationError,
    Environment,
    SecretSetting,
    utc_now,
)
from activity_relay.runtime.registry import built_once

if TYPE_CHECKING:
    from activity_relay.adapters.publishers.batching import RetryPolicy
    from activity_relay.core.sync.batch import BatchSync
    from activity_relay.core.sync.messages import ContactMessage, MessageResult
    from activity_relay.core.sync.ports import Publisher
    from activity_relay.lambda_events import Invocation
    from activity_relay.runtime.aws import AwsClients

DEFAULT_API_BASE_URL = "https://data.leadlex.com/functions/v1/api-gateway"


@dataclass(frozen=True, slots=True)
class SyncSettings:
    api_base_url: str
    api_key: SecretSetting
    state_table_name: str  # WATERMARK_TABLE_NAME (CONTRACT.md keeps the variable's name)
    channels: Channels
    dead_letter_queue_url: str
    # Where a sync that stops at a checkpoint queues its continuation, and where a contact
    # that another invocation is syncing goes back, delayed.
    contact_queue_url: str
    initial_sync: InitialSync
    quota_reserve: int = 0
    contact_concurrency: int = 10
    pacing: bool = True

    @property
    def pace(self) -> PacePolicy | None:
        return PacePolicy(reserve=self.quota_reserve) if self.pacing else None

    @classmethod
    def from_env(cls, variables: Mapping[str, str]) -> SyncSettings:
        env = Environment(variables)
        api_base_url = (env.optional("LEADLEX_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/")
        parsed = urlparse(api_base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigurationError(
                f"LEADLEX_API_BASE_URL must be an http(s) URL, got {api_base_url!r}"
            )
        if parsed.scheme == "http" and not _loopback(parsed.hostname or ""):
            # The key travels in every request's header: in clear text over http.
            raise ConfigurationError(
                "LEADLEX_API_BASE_URL must be https (http only to 127.0.0.1 or localhost, a "
                f"local LeadLex sandbox), got {api_base_url!r}"
            )
        if api_base_url.endswith("/v1"):
            raise ConfigurationError("LEADLEX_API_BASE_URL must not include the /v1 path")

        initial_sync_text = env.optional("INITIAL_SYNC") or "all"
        try:
            initial_sync = InitialSync.parse(initial_sync_text)
        except ValueError as error:
            raise ConfigurationError(f"INITIAL_SYNC: {error}") from None

        return cls(
            quota_reserve=env.integer("LEADLEX_QUOTA_RESERVE", default=0, low=0),
            contact_concurrency=env.integer("CONTACT_CONCURRENCY", default=10, low=1, high=50),
            pacing=env.pacing(),
            api_base_url=api_base_url,
            api_key=env.secret(
                value_variable="LEADLEX_API_KEY",
                id_variable="LEADLEX_API_KEY_SECRET_ID",
                json_field="api_key",
            ),
            state_table_name=env.required("WATERMARK_TABLE_NAME"),
            channels=env.channels(),
            dead_letter_queue_url=env.required("DEAD_LETTER_QUEUE_URL"),
            contact_queue_url=env.required("CONTACT_QUEUE_URL"),
            initial_sync=initial_sync,
        )


def _loopback(host: str) -> bool:
    """A host that never leaves this machine: where a local stack's LeadLex sandbox listens."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_batch_sync(
    settings: SyncSettings, api_key: str, clock: Callable[[], datetime] = utc_now
) -> BatchSync:
    from activity_relay.adapters.dynamodb.contacts import DynamoDbStateStore
    from activity_relay.adapters.dynamodb.deferrals import DynamoDbDeferrals
    from activity_relay.adapters.leadlex import LeadLexClient
    from activity_relay.adapters.sqs.batch import SqsBatchSender
    from activity_relay.adapters.sqs.contact_queue import SqsContactQueue
    from activity_relay.adapters.sqs.dead_letters import SqsDeadLetters
    from activity_relay.core.quota.reserve import QuotaGuard
    from activity_relay.core.sync.batch import BatchSync
    from activity_relay.core.sync.engine import SyncEngine
    from activity_relay.core.sync.packing import PackingPublisher
    from activity_relay.runtime.aws import AwsClients

    clients = AwsClients()
    dynamodb = clients.dynamodb()
    store = DynamoDbStateStore(dynamodb, settings.state_table_name)
    deferrals = DynamoDbDeferrals(dynamodb, settings.state_table_name)
    quota = QuotaGuard(reserve=settings.quota_reserve, clock=clock)
    known_quota = deferrals.load_quota()
    if known_quota is not None:
        # A cold container must not spend a request to learn what another one already knows.
        quota.seed(known_quota)
    leadlex = LeadLexClient(
        api_key, settings.api_base_url, quota=quota, pool_size=settings.contact_concurrency
    )
    # The syncs of one batch share their batch calls (core/sync/packing.py).
    packing = PackingPublisher(build_publisher(settings.channels, clients))
    engine = SyncEngine(
        source=leadlex,
        store=store,
        publisher=packing,
        initial_sync=settings.initial_sync,
        clock=clock,
    )
    sqs = clients.sqs()
    return BatchSync(
        engine=engine,
        rejected=SqsDeadLetters(sqs, settings.dead_letter_queue_url),
        deferrals=deferrals,
        queue=SqsContactQueue(SqsBatchSender(sqs, settings.contact_queue_url)),
        clock=clock,
        concurrency=settings.contact_concurrency,
        quota=quota.snapshot,
        pacing=settings.pace,
        packing=packing,
    )


def build_publisher(
    channels: Channels, clients: AwsClients, retry: RetryPolicy | None = None
) -> Publisher:
    """One publisher over the channels set: an event is delivered once every one took it."""
    from activity_relay.adapters.publishers.eventbridge import EventBridgePublisher
    from activity_relay.adapters.publishers.sns import SnsPublisher
    from activity_relay.core.sync.fanout import FanOutPublisher

    publishers: list[Publisher] = []
    if channels.topic_arn is not None:
        publishers.append(SnsPublisher(clients.sns(), channels.topic_arn, retry=retry))
    if channels.event_bus_name is not None:
        publishers.append(
            EventBridgePublisher(
                clients.events(), channels.event_bus_name, channels.event_source, retry=retry
            )
        )
    return publishers[0] if len(publishers) == 1 else FanOutPublisher(publishers)


class SyncRuntime:
    """The sync function's runtime: the BatchSync, and the key it was built with."""

    def __init__(self, settings: SyncSettings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self._clock = clock
        self._batch_sync: BatchSync | None = None
        self._refresh_key = False

    def process(
        self, messages: Sequence[ContactMessage], context: Invocation
    ) -> list[MessageResult]:
        if self._batch_sync is None:
            from activity_relay.runtime.aws import AwsClients

            # Few, short tries: an unreachable Secrets Manager must cost well under the
            # shortest function timeout (10 s) before the batch returns (SecretUnavailable).
            secrets = AwsClients(max_attempts=1, connect_timeout=1, read_timeout=3)
            api_key = self.settings.api_key.read(
                refresh=self._refresh_key, connect=secrets.secretsmanager
            )
            self._batch_sync = build_batch_sync(self.settings, api_key, self._clock)
            self._refresh_key = False
        results, credentials_refused = self._batch_sync.process(
            messages, context.get_remaining_time_in_millis
        )
        if credentials_refused:
            self._batch_sync, self._refresh_key = None, True
        return results


@built_once
def runtime() -> SyncRuntime:
    """Raises ConfigurationError naming the variable; nothing is cached then."""
    return SyncRuntime(SyncSettings.from_env(os.environ))
