"""Lambda entry point: events from the activity topic → one delivery per matching endpoint;
deliveries → signed POSTs, retried by the delivery queue's visibility, dead-lettered at last."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.core.webhooks_out.delivery import DeliveryResult, Fate
from activity_relay.core.webhooks_out.fanout import IncomingEvent
from activity_relay.core.webhooks_out.ports import Delivery
from activity_relay.lambda_events import SqsRecord, batch_item_failures, sqs_records
from activity_relay.observability import logger, metrics, tracer
from activity_relay.runtime import deliver
from activity_relay.runtime.environment import ConfigurationError


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = sqs_records(event)
    try:
        runtime = deliver.runtime()
    except ConfigurationError as error:
        logger.error(f"configuration error: {error}")
        return batch_item_failures(r.message_id for r in records)
    work = deliver.WebhookWork(
        events=[_event(r) for r in records if not runtime.is_delivery(r.event_source_arn)],
        deliveries=[_delivery(r) for r in records if runtime.is_delivery(r.event_source_arn)],
    )
    outcome = runtime.process(work, context)
    returned: list[str] = []
    if outcome.fanned_out is not None:
        metrics.add_metric(
            name="WebhookDeliveriesQueued", unit=MetricUnit.Count, value=outcome.fanned_out.queued
        )
        returned += outcome.fanned_out.failed_message_ids
    _count(outcome.delivered)
    returned += [r.delivery.message_id for r in outcome.delivered if not r.acknowledged]
    return batch_item_failures(returned)


def _event(record: SqsRecord) -> IncomingEvent:
    return IncomingEvent(record.message_id, record.body, record.string_attributes)


def _delivery(record: SqsRecord) -> Delivery:
    # Loaded by the runtime already; not at import, where it would bring botocore (cold start).
    from activity_relay.adapters.sqs.deliveries import ENDPOINT_ATTRIBUTE

    return Delivery(
        endpoint_id=record.string_attributes.get(ENDPOINT_ATTRIBUTE, ""),
        body=record.body,
        message_id=record.message_id,
        receipt=record.receipt_handle,
        attempt=record.receive_count,
    )


def _count(results: list[DeliveryResult]) -> None:
    # Names written out, so that an alarm's metric can be found by grep.
    counts = {
        "WebhookDelivered": sum(r.fate is Fate.DELIVERED for r in results),
        "WebhookRetried": sum(r.fate is Fate.RETRY for r in results),
        "WebhookDeadLettered": sum(r.fate is Fate.DEAD_LETTERED for r in results),
        "WebhookEndpointDisabled": sum(r.disabled_reason is not None for r in results),
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
