"""Lambda entry point: events from the activity topic's queue → kept for replays → one delivery
per matching endpoint on the delivery queue (functions/deliver_webhooks sends them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.core.webhooks_out.fanout import IncomingEvent
from activity_relay.lambda_events import SqsRecord, batch_item_failures, sqs_records
from activity_relay.observability import logger, metrics, tracer
from activity_relay.runtime import fan_out
from activity_relay.runtime.environment import ConfigurationError


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = sqs_records(event)
    try:
        runtime = fan_out.runtime()
    except ConfigurationError as error:
        logger.error(f"configuration error: {error}")
        return batch_item_failures(r.message_id for r in records)
    result = runtime.process([_event(r) for r in records])
    # Names written out, so that an alarm's metric can be found by grep.
    metrics.add_metric(name="WebhookDeliveriesQueued", unit=MetricUnit.Count, value=result.queued)
    if result.dead_lettered:
        metrics.add_metric(
            name="WebhookDeadLettered", unit=MetricUnit.Count, value=result.dead_lettered
        )
    return batch_item_failures(result.failed_message_ids)


def _event(record: SqsRecord) -> IncomingEvent:
    sent = record.sent_timestamp_ms
    published = datetime.fromtimestamp(sent / 1000, UTC) if sent else datetime.now(UTC)
    return IncomingEvent(record.message_id, record.body, record.string_attributes, published)
