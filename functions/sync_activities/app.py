"""Lambda entry point: an SQS batch of contact ids → one sync each → the messages to retry."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.core.sync.messages import ContactMessage, Disposition, MessageResult
from activity_relay.lambda_events import SqsRecord, sqs_batch_handler
from activity_relay.observability import logger, metrics
from activity_relay.runtime import sync
from activity_relay.runtime.environment import SecretUnavailable

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


@sqs_batch_handler
def lambda_handler(records: list[SqsRecord], context: LambdaContext) -> list[str]:
    try:
        results = sync.runtime().process([_message(record) for record in records], context)
    except SecretUnavailable as error:
        # Secrets Manager throttled or unreachable: every message returns (one receive each,
        # docs/design.md "Failures": an outage shorter than the queue's retry horizon loses none).
        logger.warning(f"{error}; the batch's {len(records)} message(s) return to the queue")
        metrics.add_metric(name="SecretUnavailable", unit=MetricUnit.Count, value=1)
        return [record.message_id for record in records]
    _count(results)
    return [r.message_id for r in results if not r.disposition.acknowledged]


def _message(record: SqsRecord) -> ContactMessage:
    return ContactMessage(
        message_id=record.message_id,
        body=record.body,
        sent_at=record.sent_at,
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
