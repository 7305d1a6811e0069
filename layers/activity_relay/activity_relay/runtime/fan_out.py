"""The webhook fan-out function (functions/fan_out_webhooks): its settings and its runtime.

Events from the activity topic's queue → kept in the event table (for replays) → one delivery
per matching endpoint on the delivery queue (core/webhooks_out/fanout.py). The endpoint list
is read at most once per WEBHOOK_ENDPOINT_CACHE_SECONDS per container.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from activity_relay.runtime.environment import Environment, WebhookRoutes, utc_now
from activity_relay.runtime.registry import built_once

if TYPE_CHECKING:
    from activity_relay.core.webhooks_out.fanout import FanOutResult, IncomingEvent
    from activity_relay.core.webhooks_out.ports import (
        DeliveryQueue,
        EndpointStore,
        EventStore,
        WebhookDeadLetters,
    )

DEFAULT_CACHE_SECONDS = 30


@dataclass(frozen=True, slots=True)
class FanOutSettings:
    routes: WebhookRoutes
    event_table_name: str
    endpoint_cache_seconds: int = DEFAULT_CACHE_SECONDS

    @classmethod
    def from_env(cls, variables: Mapping[str, str]) -> FanOutSettings:
        env = Environment(variables)
        return cls(
            routes=env.webhook_routes(),
            event_table_name=env.required("WEBHOOK_EVENT_TABLE_NAME"),
            endpoint_cache_seconds=env.integer(
                "WEBHOOK_ENDPOINT_CACHE_SECONDS", default=DEFAULT_CACHE_SECONDS, low=0, high=900
            ),
        )


@dataclass(frozen=True, slots=True)
class FanOutPorts:
    endpoints: EndpointStore
    events: EventStore
    queue: DeliveryQueue
    dead_letters: WebhookDeadLetters


class FanOutRuntime:
    """The fan_out_webhooks function's runtime: events → stored → deliveries."""

    def __init__(
        self,
        settings: FanOutSettings,
        ports: FanOutPorts,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        from activity_relay.core.webhooks_out.fanout import EndpointDirectory, WebhookFanOut

        self.settings = settings
        directory = EndpointDirectory(
            ports.endpoints, timedelta(seconds=settings.endpoint_cache_seconds), clock
        )
        self.fan_out = WebhookFanOut(directory, ports.events, ports.queue, ports.dead_letters)

    @classmethod
    def from_settings(cls, settings: FanOutSettings) -> FanOutRuntime:
        from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
        from activity_relay.adapters.dynamodb.events import DynamoDbEventStore
        from activity_relay.adapters.sqs.dead_letters import SqsWebhookDeadLetters
        from activity_relay.adapters.sqs.deliveries import SqsDeliveryQueue
        from activity_relay.runtime.aws import AwsClients

        clients, routes = AwsClients(), settings.routes
        return cls(
            settings,
            FanOutPorts(
                endpoints=DynamoDbEndpointStore(clients.dynamodb(), routes.endpoint_table_name),
                events=DynamoDbEventStore(
                    clients.dynamodb(),
                    settings.event_table_name,
                    retention=timedelta(days=routes.retention_days),
                ),
                queue=SqsDeliveryQueue(clients.sqs(), routes.delivery_queue_url),
                dead_letters=SqsWebhookDeadLetters(clients.sqs(), routes.dead_letter_queue_url),
            ),
        )

    def process(self, events: list[IncomingEvent]) -> FanOutResult:
        return self.fan_out.fan_out(events)


@built_once
def runtime() -> FanOutRuntime:
    """Raises ConfigurationError naming the variable; nothing is cached then."""
    return FanOutRuntime.from_settings(FanOutSettings.from_env(os.environ))
