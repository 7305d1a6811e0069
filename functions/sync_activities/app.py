"""Lambda entry point: an SQS batch of contact ids → one sync each → the messages to retry."""

from __future__ import annotations

import os
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
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.engine import SyncStatus
from activity_relay.relay import ContactMessage, Rejected, Relay
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


def _current_relay() -> Relay:
    global _relay, _refresh_key
    if _relay is None:
        settings = Settings.from_env(os.environ)
        _relay = build_relay(settings, resolve_api_key(settings, refresh=_refresh_key))
        _refresh_key = False
    return _relay


def _handle_record(record: SQSRecord) -> None:
    assert _relay is not None
    try:
        result = _relay.handle(ContactMessage(record.message_id, record.body))
    except Exception:
        metrics.add_metric(name="ContactsFailed", unit=MetricUnit.Count, value=1)
        raise
    if isinstance(result, Rejected):
        metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=1)
    elif result.status is SyncStatus.NOT_FOUND:
        metrics.add_metric(name="ContactsNotFound", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="ContactsSynced", unit=MetricUnit.Count, value=1)
        metrics.add_metric(
            name="ActivitiesPublished", unit=MetricUnit.Count, value=result.published
        )
    if not isinstance(result, Rejected):
        metrics.add_metric(name="LeadLexRequests", unit=MetricUnit.Count, value=result.requests)


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

    relay.begin_batch()
    response = process_partial_response(
        event=event, record_handler=_handle_record, processor=processor, context=context
    )
    if relay.credentials_refused:
        # The key may have been rotated in Secrets Manager: fetch it afresh next time.
        _relay, _refresh_key = None, True
    return response
