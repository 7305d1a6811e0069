"""Lambda entry point: an SQS batch of contact ids → one sync each → the messages to retry."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

# Powertools reads these itself; defaults here keep a bare local run from failing at flush.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "activity-relay")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "LeadLexRelay")

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent, SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.core.batch import ContactMessage, Disposition, MessageResult, Relay
from activity_relay.settings import ConfigurationError, Settings
from activity_relay.wiring import build_relay, resolve_api_key

logger = Logger()
metrics = Metrics()
tracer = Tracer()
# A batch where every message failed is reported like any other, not raised with a trace.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
copy_config_to_registered_loggers(source_logger=logger, include={"activity_relay"})

_relay: Relay | None = None
_refresh_key = False


class MessageReturned(Exception):
    """Tells the batch processor that a message goes back to the queue."""


def _current_relay() -> Relay:
    global _relay, _refresh_key
    if _relay is None:
        settings = Settings.from_env(os.environ)
        _relay = build_relay(settings, resolve_api_key(settings, refresh=_refresh_key))
        _refresh_key = False
    return _relay


def _message(record: SQSRecord) -> ContactMessage:
    sent = record.attributes.sent_timestamp
    return ContactMessage(
        message_id=record.message_id,
        body=record.body,
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
    )


def _count(results: list[MessageResult]) -> None:
    for disposition in Disposition:
        matching = [r for r in results if r.disposition is disposition]
        if matching:
            name = f"Messages{disposition.value.title().replace('_', '')}"
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=len(matching))
    metrics.add_metric(
        name="ActivitiesPublished", unit=MetricUnit.Count, value=sum(r.published for r in results)
    )
    metrics.add_metric(
        name="LeadLexRequests", unit=MetricUnit.Count, value=sum(r.requests for r in results)
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    global _relay, _refresh_key
    try:
        relay = _current_relay()
    except ConfigurationError as error:
        logger.error(f"configuration error: {error}")
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    messages = [_message(record) for record in SQSEvent(event).records]
    results, credentials_refused = relay.process(messages, context.get_remaining_time_in_millis)
    _count(results)
    by_message = {result.message_id: result for result in results}

    def report(record: SQSRecord) -> None:
        result = by_message[record.message_id]
        if not result.disposition.acknowledged:
            raise MessageReturned(result.reason)

    response = process_partial_response(
        event=event, record_handler=report, processor=processor, context=context
    )
    if credentials_refused:
        # The key may have been rotated in Secrets Manager: fetch it afresh next time.
        _relay, _refresh_key = None, True
    return response
