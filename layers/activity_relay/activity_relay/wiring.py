"""Settings → the relay (or the sweep's ports), assembled from real adapters. Called once per
warm container."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from activity_relay.adapters.dynamodb import DynamoDbStateStore
from activity_relay.adapters.eventbridge import EventBridgePublisher
from activity_relay.adapters.leadlex import LeadLexClient
from activity_relay.adapters.sns import SnsPublisher
from activity_relay.adapters.sqs import SqsContactQueue, SqsDeadLetters
from activity_relay.core.batch import Relay
from activity_relay.core.engine import SyncEngine
from activity_relay.core.fanout import FanOutPublisher
from activity_relay.core.ports import Publisher
from activity_relay.settings import ConfigurationError, Settings, SweepSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

SECRET_MAX_AGE_SECONDS = 300


def resolve_api_key(settings: Settings, *, refresh: bool = False) -> str:
    """The LeadLex key: from the environment locally, from Secrets Manager in production.

    A secret holds the key as plain text or as JSON with an `api_key` field.
    """
    if settings.api_key is not None:
        return settings.api_key
    assert settings.api_key_secret_id is not None
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(
        settings.api_key_secret_id, max_age=SECRET_MAX_AGE_SECONDS, force_fetch=refresh
    )
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text.lstrip().startswith("{"):
        document = json.loads(text)
        key = document.get("api_key") if isinstance(document, dict) else None
        if not isinstance(key, str) or not key:
            raise ConfigurationError(
                "LEADLEX_API_KEY_SECRET_ID names a JSON secret without a string api_key field"
            )
        return key
    if not text.strip():
        raise ConfigurationError("LEADLEX_API_KEY_SECRET_ID names an empty secret")
    return text.strip()


def build_relay(settings: Settings, api_key: str) -> Relay:
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
    engine = SyncEngine(
        source=leadlex,
        store=store,
        publisher=publishers[0] if len(publishers) == 1 else FanOutPublisher(publishers),
        initial_sync=settings.initial_sync,
    )
    return Relay(
        engine=engine,
        rejected=SqsDeadLetters(clients.sqs(), settings.dead_letter_queue_url),
        deferrals=store,
        clock=lambda: datetime.now(UTC),
        concurrency=settings.contact_concurrency,
        quota=leadlex.quota,
    )


def build_sweep_ports(settings: SweepSettings) -> tuple[DynamoDbStateStore, SqsContactQueue]:
    """The sweep's deferrals (the state table) and the contact queue it feeds."""
    clients = _AwsClients()
    return (
        DynamoDbStateStore(clients.dynamodb(), settings.watermark_table_name),
        SqsContactQueue(clients.sqs(), settings.contact_queue_url),
    )


class _AwsClients:
    """boto3 clients of one session, with botocore's standard retries and short timeouts.
    boto3 is imported on first use, not at import time (cold starts)."""

    def __init__(self) -> None:
        import boto3
        from botocore.config import Config

        self._session = boto3.session.Session()
        self._config = Config(
            retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10
        )

    def sns(self) -> SNSClient:
        return self._session.client("sns", config=self._config)

    def events(self) -> EventBridgeClient:
        return self._session.client("events", config=self._config)

    def dynamodb(self) -> DynamoDBClient:
        return self._session.client("dynamodb", config=self._config)

    def sqs(self) -> SQSClient:
        return self._session.client("sqs", config=self._config)
