"""The webhook delivery function (functions/deliver_webhooks): its settings and its runtime.

Deliveries from the delivery queue → signed POSTs (core/webhooks_out/delivery.py), each counted
in the attempt table before it is sent, retried by the queue's visibility, dead-lettered at
last; deliveries of a disabled endpoint parked until it is enabled. Signing secrets are
unsealed with the stack's KMS key (the only function allowed to).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from activity_relay.core.webhooks_out.attempts import DEFAULT_SCHEDULE, RetrySchedule
from activity_relay.core.webhooks_out.ports import WebhookConfigError
from activity_relay.runtime.environment import (
    ConfigurationError,
    Environment,
    WebhookRoutes,
    utc_now,
)
from activity_relay.runtime.registry import built_once

if TYPE_CHECKING:
    from activity_relay.core.webhooks_out.delivery import DeliveryResult, WebhookDeliverer
    from activity_relay.core.webhooks_out.ports import (
        Delivery,
        DeliveryLedger,
        DeliveryQueue,
        EndpointStore,
        SecretSealer,
        WebhookDeadLetters,
        WebhookSender,
    )
    from activity_relay.lambda_events import Invocation

ALLOW_LOCAL_TARGETS_VARIABLE = "WEBHOOK_ALLOW_LOCAL_TARGETS"
"""Set to `true` by a local stack only (never by template.yaml): http and loopback targets."""

DEFAULT_MAX_RECEIVES = 100


@dataclass(frozen=True, slots=True)
class DeliverSettings:
    routes: WebhookRoutes
    attempt_table_name: str
    schedule: RetrySchedule
    concurrency: int = 10
    allow_local_targets: bool = False
    max_receives: int = DEFAULT_MAX_RECEIVES
    """The delivery queue's maxReceiveCount (template parameter WebhookDeliveryMaxReceiveCount)."""
    secret_key_arn: str | None = None

    @classmethod
    def from_env(cls, variables: Mapping[str, str]) -> DeliverSettings:
        env = Environment(variables)
        try:
            schedule = RetrySchedule.parse(
                env.optional("WEBHOOK_RETRY_SCHEDULE") or DEFAULT_SCHEDULE
            )
        except WebhookConfigError as error:
            raise ConfigurationError(f"WEBHOOK_RETRY_SCHEDULE: {error}") from None
        max_receives = env.integer(
            "WEBHOOK_MAX_RECEIVES", default=DEFAULT_MAX_RECEIVES, low=1, high=1000
        )
        if schedule.attempts > max_receives:
            raise ConfigurationError(
                f"WEBHOOK_RETRY_SCHEDULE: {schedule.attempts} attempts do not fit the delivery "
                f"queue's maxReceiveCount, WEBHOOK_MAX_RECEIVES = {max_receives}"
            )
        allow = env.choice(ALLOW_LOCAL_TARGETS_VARIABLE, default="false", choices=("true", "false"))
        return cls(
            routes=env.webhook_routes(),
            attempt_table_name=env.required("WEBHOOK_ATTEMPT_TABLE_NAME"),
            schedule=schedule,
            concurrency=env.integer("WEBHOOK_CONCURRENCY", default=10, low=1, high=50),
            allow_local_targets=allow == "true",
            max_receives=max_receives,
            secret_key_arn=env.optional("WEBHOOK_SECRET_KEY_ARN"),
        )


@dataclass(frozen=True, slots=True)
class DeliverPorts:
    """What the deliverer talks to; `DeliverRuntime.from_settings` makes the real ones, a
    benchmark or a test may give others."""

    endpoints: EndpointStore
    ledger: DeliveryLedger
    sealer: SecretSealer
    sender: WebhookSender
    queue: DeliveryQueue
    dead_letters: WebhookDeadLetters


class DeliverRuntime:
    """The deliver_webhooks function's runtime: deliveries → POSTs."""

    def __init__(
        self,
        settings: DeliverSettings,
        ports: DeliverPorts,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        from activity_relay.core.webhooks_out.delivery import WebhookDeliverer
        from activity_relay.core.webhooks_out.sealing import SecretKeeper

        self.settings = settings
        self.deliverer: WebhookDeliverer = WebhookDeliverer(
            endpoints=ports.endpoints,
            ledger=ports.ledger,
            secrets=SecretKeeper(ports.sealer),
            sender=ports.sender,
            queue=ports.queue,
            dead_letters=ports.dead_letters,
            schedule=settings.schedule,
            clock=clock,
            uniform=random.SystemRandom().uniform,
            concurrency=settings.concurrency,
            max_receives=settings.max_receives,
        )

    @classmethod
    def from_settings(cls, settings: DeliverSettings) -> DeliverRuntime:
        from activity_relay.adapters.dynamodb.attempts import DynamoDbDeliveryLedger
        from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
        from activity_relay.adapters.http_delivery import HardenedSender
        from activity_relay.adapters.kms_secrets import KmsSecretSealer
        from activity_relay.adapters.sqs.dead_letters import SqsWebhookDeadLetters
        from activity_relay.adapters.sqs.deliveries import SqsDeliveryQueue
        from activity_relay.runtime.aws import AwsClients

        # Short timeouts: the calls around a POST must leave its 15 s within the invocation.
        clients = AwsClients(max_attempts=3, connect_timeout=2, read_timeout=5)
        dynamodb, routes = clients.dynamodb(), settings.routes
        return cls(
            settings,
            DeliverPorts(
                endpoints=DynamoDbEndpointStore(dynamodb, routes.endpoint_table_name),
                ledger=DynamoDbDeliveryLedger(
                    dynamodb,
                    settings.attempt_table_name,
                    park_retention=timedelta(days=routes.retention_days),
                ),
                sealer=KmsSecretSealer(clients.kms(), settings.secret_key_arn),
                sender=HardenedSender(allow_local=settings.allow_local_targets),
                queue=SqsDeliveryQueue(clients.sqs(), routes.delivery_queue_url),
                dead_letters=SqsWebhookDeadLetters(clients.sqs(), routes.dead_letter_queue_url),
            ),
        )

    def process(self, deliveries: list[Delivery], context: Invocation) -> list[DeliveryResult]:
        return self.deliverer.deliver(deliveries, context.get_remaining_time_in_millis)


@built_once
def runtime() -> DeliverRuntime:
    """Raises ConfigurationError naming the variable; nothing is cached then."""
    return DeliverRuntime.from_settings(DeliverSettings.from_env(os.environ))
