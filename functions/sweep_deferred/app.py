"""Lambda entry point, on a schedule: deferred (and stale) contacts back onto the contact queue."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

# Powertools reads these itself; defaults here keep a bare local run from failing at flush.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "activity-relay")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "LeadLexRelay")

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.adapters.dynamodb import DynamoDbStateStore
from activity_relay.adapters.sqs import SqsContactQueue
from activity_relay.core.sweep import sweep
from activity_relay.settings import ConfigurationError, SweepSettings
from activity_relay.wiring import build_sweep_ports

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"activity_relay"})

_ports: tuple[SweepSettings, DynamoDbStateStore, SqsContactQueue] | None = None


def _current_ports() -> tuple[SweepSettings, DynamoDbStateStore, SqsContactQueue]:
    global _ports
    if _ports is None:
        settings = SweepSettings.from_env(os.environ)
        _ports = (settings, *build_sweep_ports(settings))
    return _ports


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings, deferrals, queue = _current_ports()
    except ConfigurationError as error:
        # One line naming the variable; the next scheduled run reads the environment again.
        logger.error(f"configuration error: {error}")
        metrics.add_metric(name="SweepConfigurationErrors", unit=MetricUnit.Count, value=1)
        return {"error": str(error)}

    result = sweep(deferrals, queue, settings.policy, now=datetime.now(UTC))
    summary = {
        "budget": result.budget,
        "deferred_enqueued": result.deferred_enqueued,
        "stale_enqueued": result.stale_enqueued,
        "failed": len(result.failed),
    }
    logger.info("sweep finished", extra=summary)
    metrics.add_metric(name="SweepBudget", unit=MetricUnit.Count, value=result.budget)
    metrics.add_metric(
        name="DeferredContactsEnqueued", unit=MetricUnit.Count, value=result.deferred_enqueued
    )
    metrics.add_metric(
        name="StaleContactsEnqueued", unit=MetricUnit.Count, value=result.stale_enqueued
    )
    metrics.add_metric(name="ContactsNotEnqueued", unit=MetricUnit.Count, value=len(result.failed))
    return summary
