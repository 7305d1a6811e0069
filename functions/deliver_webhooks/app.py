"""Lambda entry point: deliveries from the delivery queue → signed POSTs, each counted before
it is sent, retried by the queue's visibility, dead-lettered at last (the fan-out is
functions/fan_out_webhooks)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.core.webhooks_out.delivery import DeliveryResult, Fate
from activity_relay.core.webhooks_out.ports import ENDPOINT_ATTRIBUTE, Delivery
from activity_relay.lambda_events import SqsRecord, sqs_batch_handler
from activity_relay.observability import metrics
from activity_relay.runtime import deliver


@sqs_batch_handler
def lambda_handler(records: list[SqsRecord], context: LambdaContext) -> list[str]:
    results = deliver.runtime().process([_delivery(r) for r in records], context)
    _count(results)
    return [r.delivery.message_id for r in results if not r.acknowledged]


def _delivery(record: SqsRecord) -> Delivery:
    return Delivery(
        endpoint_id=record.string_attributes.get(ENDPOINT_ATTRIBUTE, ""),
        body=record.body,
        message_id=record.message_id,
        receipt=record.receipt_handle,
        receives=record.receive_count,
    )


def _count(results: list[DeliveryResult]) -> None:
    # Names written out, so that an alarm's metric can be found by grep.
    counts = {
        "WebhookDelivered": sum(r.fate is Fate.DELIVERED for r in results),
        "WebhookRetried": sum(r.fate is Fate.RETRY for r in results),
        "WebhookDeadLettered": sum(r.fate is Fate.DEAD_LETTERED for r in results),
        "WebhookDeliveriesParked": sum(r.fate is Fate.PARKED for r in results),
        "WebhookDeliveriesReturned": sum(r.fate is Fate.RETURNED for r in results),
        "DeliveriesDropped": sum(r.fate is Fate.DROPPED for r in results),
        "WebhookEndpointDisabled": len(
            {r.delivery.endpoint_id for r in results if r.disabled_reason is not None}
        ),
    }
    for name, value in counts.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    streaks: dict[str, int] = {}
    for result in results:
        if result.outcome is not None:
            endpoint = result.delivery.endpoint_id
            streaks[endpoint] = max(streaks.get(endpoint, 0), result.failure_streak)
    for endpoint, streak in streaks.items():
        # Its own EMF line: the endpoint is a dimension of this metric only.
        streak_metric = EphemeralMetrics()
        streak_metric.add_dimension(name="endpoint_id", value=endpoint)
        streak_metric.add_metric(name="WebhookFailureStreak", unit=MetricUnit.Count, value=streak)
        streak_metric.flush_metrics()
