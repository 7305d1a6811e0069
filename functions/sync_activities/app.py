"""Lambda entry point: an SQS batch of contact ids → one sync each → the messages to retry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.core.sync.messages import ContactMessage, Disposition, MessageResult
from activity_relay.lambda_events import SqsRecord, batch_item_failures, sqs_records
from activity_relay.observability import logger, metrics, tracer
from activity_relay.runtime import sync
from activity_relay.runtime.environment import ConfigurationError, SecretUnavailable

# Written out, so that a dashboard's metric can be found by grep.
_MESSAGE_METRICS = {
    Disposition.SYNCED: "MessagesSynced",
    Disposition.COALESCED: "MessagesCoalesced",
    Disposition.COVERED: "MessagesCovered",
    Disposition.REQUEUED: "MessagesRequeued",
    Disposition.NOT_FOUND: "MessagesNotFound",
    Disposition.DEFERRED: "MessagesDeferred",
    Disposition.CONTINUED: "MessagesContinued",
    Disposition.REJECTED: "MessagesRejected",
    Disposition.RETRY: "MessagesRetry",
}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = sqs_records(event)
    try:
        results = sync.runtime().process([_message(record) for record in records], context)
    except ConfigurationError as error:
        logger.error(f"configuration error: {error}")
        return batch_item_failures(record.message_id for record in records)
    except SecretUnavailable as error:
        # Secrets Manager throttled or unreachable: every message returns (one receive each,
        # README "Failures": an outage shorter than the queue's retry horizon loses none).
        logger.warning(f"{error}; the batch's {len(records)} message(s) return to the queue")
        metrics.add_metric(name="SecretUnavailable", unit=MetricUnit.Count, value=1)
        return batch_item_failures(record.message_id for record in records)
    _count(results)
    return batch_item_failures(r.message_id for r in results if not r.disposition.acknowledged)


def _message(record: SqsRecord) -> ContactMessage:
    sent = record.sent_timestamp_ms
    return ContactMessage(
        message_id=record.message_id,
        body=record.body,
        sent_at=datetime.fromtimestamp(sent / 1000, UTC) if sent is not None else None,
        receive_count=record.receive_count,
    )


def _count(results: list[MessageResult]) -> None:
    for disposition, name in _MESSAGE_METRICS.items():
        matching = sum(1 for result in results if result.disposition is disposition)
        if matching:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=matching)
    metrics.add_metric(
        name="ActivitiesPublished", unit=MetricUnit.Count, value=sum(r.published for r in results)
    )
    metrics.add_metric(
        name="LeadLexRequests", unit=MetricUnit.Count, value=sum(r.requests for r in results)
    )
