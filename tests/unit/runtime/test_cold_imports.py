"""Cold start: what importing a handler, and building a runtime, loads (benchmarks/cold_start.py).

A handler's import loads Powertools' Logger and Metrics and the core, nothing else heavy: no
boto3, no HTTP library, no X-Ray SDK, no Parameters, no SQS data classes. Each runtime loads
what its own function uses. Every case runs in a fresh interpreter, as a cold container does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FUNCTIONS = (
    "sync_activities",
    "sweep_deferred",
    "receive_webhooks",
    "fan_out_webhooks",
    "deliver_webhooks",
)
HEAVY = (
    "boto3",
    "botocore.client",
    "requests",
    "urllib3",
    "requests_hardened",
    "aws_xray_sdk",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.data_classes",
)

_LOADED = """
import json, sys
{statement}
heavy = {heavy!r}
print(json.dumps(sorted(
    name for name in sys.modules
    if name.startswith("activity_relay.adapters.")
    or any(name == h or name.startswith(h + ".") for h in heavy)
)))
"""


def loaded(function: str, statement: str, env: dict[str, str]) -> list[str]:
    """The heavy modules and adapters in sys.modules after `statement`, in a fresh process."""
    completed = subprocess.run(
        [sys.executable, "-c", _LOADED.format(statement=statement, heavy=HEAVY)],
        cwd=ROOT / "functions" / function,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "LAMBDA_TASK_ROOT": str(ROOT / "functions" / function),
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    modules: list[str] = json.loads(completed.stdout.splitlines()[-1])
    return modules


@pytest.mark.parametrize("tracing_disabled", ["false", "true"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_handler_import_loads_no_sdk_no_http_no_tracer_no_adapter(
    function: str, tracing_disabled: str
) -> None:
    modules = loaded(function, "import app", {"POWERTOOLS_TRACE_DISABLED": tracing_disabled})

    assert modules == []


def _function_env(name: str) -> dict[str, str]:
    """The function's variables as the template sets them (events/env.json)."""
    variables: dict[str, str] = json.loads((ROOT / "events" / "env.json").read_text())[name]
    return {**variables, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def test_the_sweep_runtime_loads_its_adapters_but_no_http_library_or_parameters() -> None:
    # When the sweep's runtime is built (its clients made; nothing is sent)
    modules = loaded(
        "sweep_deferred",
        "from activity_relay.runtime import sweep; sweep.runtime()",
        _function_env("SweepFunction"),
    )

    # Then boto3 and the state table's and queue's adapters are there, nothing of LeadLex
    assert {
        "boto3",
        "activity_relay.adapters.dynamodb.deferrals",
        "activity_relay.adapters.sqs.contact_queue",
    } <= set(modules)
    assert not [m for m in modules if m.startswith("requests")]  # botocore has its urllib3
    assert "activity_relay.adapters.leadlex" not in modules
    assert "aws_lambda_powertools.utilities.parameters" not in modules


def test_the_receiver_reads_no_parameters_when_its_secret_is_in_the_environment() -> None:
    env = _function_env("ReceiveWebhooksFunction")
    del env["LEADLEX_WEBHOOK_SECRET_ID"]
    env["LEADLEX_WEBHOOK_SECRET"] = "whsec_local"

    modules = loaded(
        "receive_webhooks",
        "from activity_relay.runtime import receive; receive.runtime()",
        env,
    )

    assert "activity_relay.adapters.sqs.contact_queue" in modules
    assert "aws_lambda_powertools.utilities.parameters" not in modules
    assert "activity_relay.adapters.secrets" not in modules
    assert "requests" not in modules


def test_the_fan_out_runtime_loads_no_http_library_and_no_kms() -> None:
    # The fan-out never POSTs and never reads a secret: requests and the sealer stay out
    modules = loaded(
        "fan_out_webhooks",
        "from activity_relay.runtime import fan_out; fan_out.runtime()",
        _function_env("FanOutWebhooksFunction"),
    )

    assert {
        "activity_relay.adapters.dynamodb.events",
        "activity_relay.adapters.sqs.deliveries",
    } <= set(modules)
    assert not [m for m in modules if m.startswith("requests")]
    assert "activity_relay.adapters.kms_secrets" not in modules
    assert "activity_relay.adapters.http_delivery" not in modules
