"""Settings → the relay (or the sweep's ports), assembled from real adapters. Called once per
warm container."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from activity_relay.contact_queue import SqsContactQueue
from activity_relay.dead_letters import SqsDeadLetters
from activity_relay.engine import SyncEngine
from activity_relay.leadlex import LeadLexClient
from activity_relay.ports import Publisher
from activity_relay.publish import EventBridgePublisher, FanOutPublisher, SnsPublisher
from activity_relay.relay import Relay
from activity_relay.settings import ConfigurationError, Settings, SweepSettings
from activity_relay.state import DynamoDbStateStore

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
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10
    )
    session = boto3.session.Session()
    publishers: list[Publisher] = []
    if settings.topic_arn is not None:
        publishers.append(SnsPublisher(session.client("sns", config=config), settings.topic_arn))
    if settings.event_bus_name is not None:
        publishers.append(
            EventBridgePublisher(
                session.client("events", config=config),
                settings.event_bus_name,
                settings.event_source,
            )
        )
    store = DynamoDbStateStore(
        session.client("dynamodb", config=config), settings.watermark_table_name
    )
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
        rejected=SqsDeadLetters(
            session.client("sqs", config=config), settings.dead_letter_queue_url
        ),
        deferrals=store,
        clock=lambda: datetime.now(UTC),
        concurrency=settings.contact_concurrency,
        quota=leadlex.quota,
    )


def build_sweep_ports(settings: SweepSettings) -> tuple[DynamoDbStateStore, SqsContactQueue]:
    """The sweep's deferrals (the state table) and the contact queue it feeds."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10
    )
    session = boto3.session.Session()
    return (
        DynamoDbStateStore(
            session.client("dynamodb", config=config), settings.watermark_table_name
        ),
        SqsContactQueue(session.client("sqs", config=config), settings.contact_queue_url),
    )
