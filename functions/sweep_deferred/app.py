"""Lambda entry point, on a schedule: deferred (and stale) contacts back onto the contact queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.observability import logger, metrics
from activity_relay.runtime import sweep
from activity_relay.runtime.environment import ConfigurationError


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        result = sweep.runtime().process(event, context)
    except ConfigurationError as error:
        # One line naming the variable; the next scheduled run reads the environment again.
        logger.error(f"configuration error: {error}")
        metrics.add_metric(name="SweepConfigurationErrors", unit=MetricUnit.Count, value=1)
        return {"error": str(error)}

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
