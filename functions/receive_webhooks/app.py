"""Lambda entry point behind a Function URL: a signed LeadLex `activity.created` webhook → the
event of the activity it carries, published at once, or the contact's id on the contact queue;
answered well within LeadLex's 10 s."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.core.webhooks_in.ports import ReceiverUnavailable
from activity_relay.core.webhooks_in.receiver import Outcome
from activity_relay.observability import logger, metrics
from activity_relay.runtime import receive
from activity_relay.runtime.environment import ConfigurationError

# Written out, so that a dashboard's metric can be found by grep.
_OUTCOMES = {
    Outcome.PUBLISHED: (202, "WebhooksPublished"),
    Outcome.DUPLICATE: (202, "WebhooksDuplicate"),
    Outcome.ENQUEUED: (202, "WebhooksEnqueued"),
    Outcome.EXPIRED: (400, "WebhooksExpired"),
    Outcome.IGNORED: (202, "WebhooksIgnored"),
    Outcome.UNAUTHORIZED: (401, "WebhooksUnauthorized"),
    Outcome.MALFORMED: (400, "WebhooksMalformed"),
}


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    delivery = {"delivery_id": headers.get("x-leadlex-delivery-id", "")[:64]}
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "POST")
    if method != "POST":
        return _counted(405, "WebhooksWrongMethod", {"error": "method_not_allowed"})
    try:
        body = _raw_body(event)
    except binascii.Error:
        return _counted(400, "WebhooksMalformed", {"error": "body is not valid base64"})
    try:
        request = receive.WebhookRequest(body, headers.get("x-leadlex-signature"))
        reception = receive.runtime().process(request, context)
    except ConfigurationError as error:
        logger.error(f"configuration error: {error}", extra=delivery)
        return _counted(500, "WebhookConfigurationErrors", {"error": "not configured"})
    except ReceiverUnavailable as error:
        logger.warning(f"not taken, LeadLex will retry: {error}", extra=delivery)
        return _counted(503, "WebhooksNotEnqueued", {"error": "try again"})

    status, metric = _OUTCOMES[reception.outcome]
    details = {
        **delivery,
        "outcome": str(reception.outcome),
        "reason": reception.detail,
        "event": reception.event,
        "contact_id": reception.contact_id,
        "activity_id": reception.activity_id,
    }
    if reception.outcome is Outcome.PUBLISHED:
        logger.info("webhook: activity published", extra=details)
        answer: dict[str, Any] = {"published": reception.activity_id}
    elif reception.outcome is Outcome.DUPLICATE:
        logger.info(f"webhook: published already ({reception.detail})", extra=details)
        answer = {"published": reception.activity_id, "duplicate": True}
    elif reception.outcome is Outcome.ENQUEUED:
        # With the fast path on, `reason` says why its activity was left to a poll.
        logger.info("webhook: contact enqueued", extra=details)
        answer = {"enqueued": reception.contact_id}
    elif reception.outcome is Outcome.IGNORED:
        logger.info(f"webhook ignored: {reception.detail}", extra=details)
        answer = {"ignored": reception.detail}
    else:
        logger.warning(f"webhook refused: {reception.detail}", extra=details)
        answer = {"error": reception.detail}
    return _counted(status, metric, answer)


def _raw_body(event: dict[str, Any]) -> bytes:
    """The bytes LeadLex signed: Function URLs base64-encode bodies they do not take for text."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return str(body).encode()


def _counted(status: int, metric: str, body: dict[str, Any]) -> dict[str, Any]:
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return _answer(status, body)


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
