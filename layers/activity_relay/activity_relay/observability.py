"""The Logger, Metrics and Tracer every handler shares, configured once per container.

Powertools reads its configuration from the environment that template.yaml's Globals set
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL); local stacks and
tests take the same variables from the template. Log lines of the layer's modules (standard
`logging` loggers under `activity_relay`) come out in the handler's structured format.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

logger = Logger()
metrics = Metrics()
tracer = Tracer()
copy_config_to_registered_loggers(source_logger=logger, include={"activity_relay"})
