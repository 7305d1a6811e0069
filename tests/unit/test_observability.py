"""observability: the Tracer (and with it the X-Ray SDK) exists only when tracing is on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from activity_relay.observability import Untraced, tracing_enabled

ROOT = Path(__file__).resolve().parents[2]


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


def _imports_xray(env: dict[str, str]) -> bool:
    code = "import sys, app; print('aws_xray_sdk.core' in sys.modules, type(app.tracer).__name__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions" / "sync_activities",
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out == ["True", "Tracer"]


def test_the_xray_sdk_is_imported_only_when_tracing_is_on() -> None:
    # Given the sync handler imported as Lambda would, with the template's two TracingModes
    assert _imports_xray({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"})
    assert not _imports_xray({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"})
