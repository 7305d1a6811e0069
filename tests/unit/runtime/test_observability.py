"""observability: the Tracer (and with it the X-Ray SDK) exists only when tracing is on, and
then from the first invocation on, not from the import; the layer's loggers log as the
handler's Logger does, whatever was imported first."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from aws_lambda_powertools import Tracer

from activity_relay.observability import DeferredTracer, Untraced, tracing_enabled

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({}, False),  # outside Lambda, as Powertools decides too
    ],
)
def test_tracing_is_on_in_lambda_unless_disabled(env: dict[str, str], on: bool) -> None:
    assert tracing_enabled(env) is on


def test_untraced_decorators_return_the_function_itself() -> None:
    def handler(event: object, context: object) -> str:
        return "done"

    untraced = Untraced()
    assert untraced.capture_lambda_handler(handler) is handler
    assert untraced.capture_method(handler) is handler


class FakeTracer:
    """Records what the handler's decorator asked of Powertools' Tracer."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, object]] = []

    def capture_lambda_handler(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        def traced(event: object, context: object) -> object:
            self.calls.append((event, context))
            return handler(event, context)

        return traced


def test_the_deferred_tracer_is_created_at_the_first_call_and_only_then() -> None:
    created: list[FakeTracer] = []

    def create() -> Tracer:
        created.append(FakeTracer())
        return cast(Tracer, created[-1])

    deferred = DeferredTracer(create)

    # Given a handler decorated as at import
    @deferred.capture_lambda_handler
    def handler(event: object, context: object) -> str:
        return f"done {event}"

    # Then no Tracer (and so no X-Ray SDK) exists yet
    assert created == []
    assert handler.__name__ == "handler"
    # When it is called twice
    assert handler("one", "ctx") == "done one"
    assert handler("two", "ctx") == "done two"
    # Then one Tracer traced both calls
    assert len(created) == 1
    assert created[0].calls == [("one", "ctx"), ("two", "ctx")]


def _imports_xray(env: dict[str, str]) -> bool:
    code = (
        "import sys, app; from activity_relay.observability import tracer; "
        "print('aws_xray_sdk.core' in sys.modules, type(tracer).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions" / "sync_activities",
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[1] == ("DeferredTracer" if tracing_enabled(env) else "Untraced")
    return out[0] == "True"


def test_importing_the_handler_imports_no_xray_sdk_with_tracing_on_or_off() -> None:
    # Given the sync handler imported as Lambda would, with the template's two TracingModes
    # (that the first invocation then traces: tests/integration/test_tracing.py)
    assert not _imports_xray(
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}
    )
    assert not _imports_xray({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"})


@pytest.mark.parametrize("first", ["observability", "the module"])
def test_a_layer_logger_logs_json_whichever_is_imported_first(first: str) -> None:
    # Given a module's logger created before or after observability was imported
    make_logger = 'child = logging.getLogger("activity_relay.core.quota.sweep")'
    imports = "from activity_relay import observability"
    steps = [imports, make_logger] if first == "observability" else [make_logger, imports]
    script = "\n".join(["import logging", *steps, 'child.warning("hello from the layer")'])

    # When it logs
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"POWERTOOLS_SERVICE_NAME": "relay", "PATH": ""},
        timeout=60,
    )

    # Then its line is Powertools' JSON, naming the logger
    (line,) = [line for line in (result.stdout + result.stderr).splitlines() if "hello" in line]
    record = json.loads(line)
    assert record["message"] == "hello from the layer"
    assert record["name"] == "activity_relay.core.quota.sweep"
