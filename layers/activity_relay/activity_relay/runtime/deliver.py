"""The webhook delivery function (functions/deliver_webhooks): its settings and its runtime.

Events from the activity topic's queue → one delivery per matching endpoint on the delivery
queue; deliveries → signed POSTs, retried by the delivery queue's visibility, dead-lettered at
last (core/webhooks_out/).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from activity_relay.core.webhooks_out.attempts import DEFAULT_SCHEDULE, RetrySchedule
from activity_relay.core.webhooks_out.ports import WebhookConfigError
from activity_relay.runtime.environment import ConfigurationError, Environment
from activity_relay.runtime.registry import built_once
from activity_relay.runtime.sync import utc_now

if TYPE_CHECKING:
    from activity_relay.core.webhooks_out.delivery import DeliveryResult
    from activity_relay.core.webhooks_out.fanout import FanOutResult, IncomingEvent
    from activity_relay.core.webhooks_out.ports import Delivery
    from activity_relay.lambda_events import Invocation

ALLOW_LOCAL_TARGETS_VARIABLE = "WEBHOOK_ALLOW_LOCAL_TARGETS"
"""Set to `true` by a local stack only (never by template.yaml): http and loopback targets."""


@dataclass(frozen=True, slots=True)
class DeliverSettings:
    endpoint_table_name: str
    delivery_queue_url: str
    dead_letter_queue_url: str
    schedule: RetrySchedule
    concurrency: int = 10
    allow_local_targets: bool = False

    @classmethod
    def from_env(cls, variables: Mapping[str, str]) -> DeliverSettings:
        env = Environment(variables)
        try:
            schedule = RetrySchedule.parse(
                env.optional("WEBHOOK_RETRY_SCHEDULE") or DEFAULT_SCHEDULE
            )
        except WebhookConfigError as error:
            raise ConfigurationError(f"WEBHOOK_RETRY_SCHEDULE: {error}") from None
        allow = env.choice(ALLOW_LOCAL_TARGETS_VARIABLE, default="false", choices=("true", "false"))
        return cls(
            endpoint_table_name=env.required("WEBHOOK_ENDPOINT_TABLE_NAME"),
            delivery_queue_url=env.required("WEBHOOK_DELIVERY_QUEUE_URL"),
            dead_letter_queue_url=env.required("WEBHOOK_DEAD_LETTER_QUEUE_URL"),
            schedule=schedule,
            concurrency=env.integer("WEBHOOK_CONCURRENCY", default=10, low=1, high=50),
            allow_local_targets=allow == "true",
        )

    @property
    def delivery_queue_name(self) -> str:
        """The last part of the URL, which is also the last part of the queue's ARN."""
        return self.delivery_queue_url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class WebhookWork:
    """One batch as the handler splits it: events to fan out, deliveries to attempt."""

    events: list[IncomingEvent]
    deliveries: list[Delivery]


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    fanned_out: FanOutResult | None
    delivered: list[DeliveryResult]


class DeliverRuntime:
    """The deliver_webhooks function's runtime: events → deliveries, deliveries → POSTs."""

    def __init__(self, settings: DeliverSettings, clock: Callable[[], datetime] = utc_now) -> None:
        from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
        from activity_relay.adapters.http_delivery import HardenedSender
        from activity_relay.adapters.sqs.dead_letters import SqsWebhookDeadLetters
        from activity_relay.adapters.sqs.deliveries import SqsDeliveryQueue
        from activity_relay.core.webhooks_out.delivery import WebhookDeliverer
        from activity_relay.core.webhooks_out.fanout import WebhookFanOut
        from activity_relay.runtime.aws import AwsClients

        clients = AwsClients()
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
            clock=clock,
            uniform=random.SystemRandom().uniform,
            concurrency=settings.concurrency,
        )

    def is_delivery(self, event_source_arn: str) -> bool:
        """Records from the delivery queue (else: events from the activity topic's queue)."""
        return event_source_arn.rsplit(":", 1)[-1] == self.settings.delivery_queue_name

    def process(self, work: WebhookWork, context: Invocation) -> WebhookOutcome:
        fanned = self.fan_out.fan_out(work.events) if work.events else None
        delivered = (
            self.deliverer.deliver(work.deliveries, context.get_remaining_time_in_millis)
            if work.deliveries
            else []
        )
        return WebhookOutcome(fanned, delivered)


@built_once
def runtime() -> DeliverRuntime:
    """Raises ConfigurationError naming the variable; nothing is cached then."""
    return DeliverRuntime(DeliverSettings.from_env(os.environ))
