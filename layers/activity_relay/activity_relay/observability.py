"""The Logger, Metrics and Tracer every handler shares, configured once per container.

Powertools reads its configuration from the environment that template.yaml's Globals set
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL,
POWERTOOLS_TRACE_DISABLED from the TracingMode parameter); local stacks and tests take the same
variables from the template. Log lines of the layer's modules (standard `logging` loggers under
`activity_relay`) come out in the handler's structured format, whichever is imported first.

Powertools' `Tracer()` imports the X-Ray SDK and patches botocore and requests (also when it is
disabled), the largest part of a handler's import (benchmarks/cold_start.py). So with tracing
off `tracer` is a stand-in whose decorators return the function unchanged, and with tracing on
it creates the real Tracer when the handler is first called (its patches are class-level: the
clients the runtime then makes are traced; tests/integration/test_tracing.py).
"""

from __future__ import annotations

import functools
import logging
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


class DeferredTracer:
    """Powertools' Tracer, created at the first invocation instead of at import."""

    disabled = False

    def __init__(self, create: Callable[[], Tracer] = Tracer) -> None:
        self._create = create
        self._tracer: Tracer | None = None

    @property
    def tracer(self) -> Tracer:
        if self._tracer is None:
            self._tracer = self._create()
        return self._tracer

    def capture_lambda_handler(self, lambda_handler: Callable[..., Any]) -> Callable[..., Any]:
        traced: Callable[..., Any] | None = None

        @functools.wraps(lambda_handler)
        def handler(event: Any, context: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = self.tracer.capture_lambda_handler(lambda_handler)
            return traced(event, context)

        return handler


PACKAGE_LOGGER = "activity_relay"

QUIET_LIBRARIES = ("botocore", "boto3", "urllib3")
"""Loggers held at INFO or above whatever the root level: at DEBUG (Lambda's
ApplicationLogLevel=DEBUG, or POWERTOOLS_LOG_LEVEL) botocore logs every response body, a
GetSecretValue's SecretString included, and urllib3 every URL it requests, query strings
(which may carry a webhook endpoint's token) included."""


def hold_library_loggers() -> None:
    """Never below INFO, and never chattier than the root logger is now."""
    floor = max(logging.INFO, logging.getLogger().getEffectiveLevel())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(floor)


logger = Logger()
metrics = Metrics()
tracer: DeferredTracer | Untraced = DeferredTracer() if tracing_enabled() else Untraced()
# Powertools configures the top-level loggers that exist when it is called. Creating the
# package's own first makes every `activity_relay.*` logger, made before or after this line
# (runtimes import their modules at the first invocation), log through it in this format.
logging.getLogger(PACKAGE_LOGGER)
copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE_LOGGER})
hold_library_loggers()
