"""Lambda entry point: events from the activity topic's queue → kept for replays → one delivery
per matching endpoint on the delivery queue (functions/deliver_webhooks sends them)."""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.core.webhooks_out.fanout import IncomingEvent
from activity_relay.lambda_events import SqsRecord, sqs_batch_handler
from activity_relay.observability import metrics
from activity_relay.runtime import fan_out


@sqs_batch_handler
def lambda_handler(records: list[SqsRecord], context: LambdaContext) -> list[str]:
    result = fan_out.runtime().process([_event(r) for r in records])
    # Names written out, so that an alarm's metric can be found by grep.
    metrics.add_metric(name="WebhookDeliveriesQueued", unit=MetricUnit.Count, value=result.queued)
    if result.dead_lettered:
        metrics.add_metric(
            name="WebhookDeadLettered", unit=MetricUnit.Count, value=result.dead_lettered
        )
    return result.failed_message_ids


def _event(record: SqsRecord) -> IncomingEvent:
    published = record.sent_at or datetime.now(UTC)
    return IncomingEvent(record.message_id, record.body, record.string_attributes, published)
