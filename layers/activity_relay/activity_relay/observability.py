"""The Logger, Metrics and Tracer every handler shares, configured once per container.

Powertools reads its configuration from the environment that template.yaml's Globals set
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL,
POWERTOOLS_TRACE_DISABLED from the TracingMode parameter); local stacks and tests take the same
variables from the template. Log lines of the layer's modules (standard `logging` loggers under
`activity_relay`) come out in the handler's structured format.

The Tracer exists only when tracing is on: Powertools' Tracer imports the X-Ray SDK even when it
is disabled, the largest part of a handler's import (benchmarks/cold_start.py). Off, `tracer`
is a stand-in whose decorators return the function unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

F = TypeVar("F", bound=Callable[..., Any])


def tracing_enabled(env: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Powertools' own rule: on in Lambda (not sam local) unless POWERTOOLS_TRACE_DISABLED."""
    if env.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on"):
        return False
    return bool(env.get("LAMBDA_TASK_ROOT")) and not env.get("AWS_SAM_LOCAL")


class Untraced:
    """What handlers use of the Tracer, doing nothing, for when tracing is off."""

    disabled = True

    def capture_lambda_handler(self, lambda_handler: Callable[..., Any]) -> Callable[..., Any]:
        return lambda_handler

    def capture_method(self, method: F) -> F:
        return method


logger = Logger()
metrics = Metrics()
tracer: Tracer | Untraced = Tracer() if tracing_enabled() else Untraced()
copy_config_to_registered_loggers(source_logger=logger, include={"activity_relay"})
