"""Cold start: each handler's import against a bare ``import boto3``, and what the first
invocation then costs against a naive handler.

Every sample is a fresh interpreter (``python -c``) that times, with ``perf_counter``, only what
it is there for, so interpreter start-up is left out of every case alike. Cases are run
interleaved (one sample of each per round), so load on the machine weighs on all of them alike;
each figure is the median of ``--runs`` rounds. The handlers see the environment Lambda gives
them: the template's variables for their function (events/env.json), LAMBDA_TASK_ROOT, and
tracing on or off as the case says.

* Imports: ``import app`` of each of the four handlers, gated at ``--limit`` x ``import boto3``;
  and, for reference, the naive handler (benchmarks/naive: three boto3 clients at import).
* Cold invocations: ``import app``, then the first ``lambda_handler`` call on a representative
  event, then a second (warm) one. What a handler defers from its import (the adapters, boto3,
  its clients, Powertools Parameters, the X-Ray SDK) is paid in the first call, so "import +
  first call" is the cold start to compare. Every AWS and LeadLex request goes, really
  serialized, signed and sent, to a local stub that answers at once
  (benchmarks/_stub_endpoint.py): the figures are the handler's own work, not a service's
  latency. The naive handler's first call is its one GetItem.

    .venv/bin/python -m benchmarks.cold_start [--runs 15] [--json] [--limit 1.2]

Exits non-zero when a handler's import takes more than ``--limit`` times the bare boto3 import,
or an invocation does not do its whole job (a message returned, a request the stub refused).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._stub_endpoint import SECRET_VALUE, StubEndpoint

ROOT = Path(__file__).resolve().parents[1]
NAIVE = ROOT / "benchmarks" / "naive"

_TIMED = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"

# A fresh interpreter's start, for a handler called in it: the event comes in on stdin, and a
# Lambda context to call the handler with.
CHILD_PREAMBLE = """
import json, sys, time
event = json.loads(sys.stdin.read())
class Context:
    function_name = "cold-start"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cold-start"
    aws_request_id = "cold-start-1"
    def get_remaining_time_in_millis(self):
        return 60_000
"""

# The event is read before the clock starts; the figures go out on the last line.
_INVOKED = (
    CHILD_PREAMBLE
    + """
started = time.perf_counter()
import {module} as app
imported = time.perf_counter()
first = app.lambda_handler(event, Context())
called = time.perf_counter()
app.lambda_handler(event, Context())
again = time.perf_counter()
print(json.dumps({{"import": imported - started, "first": called - imported,
                  "second": again - called, "answer": first}}))
"""
)

# The template's function name for each handler folder (events/env.json's keys).
_TEMPLATE_NAMES = {
    "sync_activities": "SyncActivitiesFunction",
    "sweep_deferred": "SweepFunction",
    "receive_webhooks": "ReceiveWebhooksFunction",
    "fan_out_webhooks": "FanOutWebhooksFunction",
    "deliver_webhooks": "DeliverWebhooksFunction",
}
TRACING_OFF = {"POWERTOOLS_TRACE_DISABLED": "true"}
TRACING_ON = {
    "POWERTOOLS_TRACE_DISABLED": "false",
    # What Lambda sets for a sampled request under active tracing (the daemon's UDP port on
    # 127.0.0.1 has no listener here; the SDK sends its segments regardless).
    "_X_AMZN_TRACE_ID": (
        "Root=1-6751c000-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1"
    ),
}


@dataclass(frozen=True)
class Case:
    name: str
    statement: str
    function: str | None = None  # functions/<name> on sys.path, as Lambda's task root
    environment: Mapping[str, str] | None = None
    gated: bool = False  # held to --limit


@dataclass(frozen=True)
class Invocation:
    name: str
    function: str | None  # None: the naive handler
    event: Mapping[str, Any]
    tracing: Mapping[str, str] = field(default_factory=lambda: TRACING_OFF)


def lambda_environment(function: str) -> dict[str, str]:
    """What the handler's environment holds on Lambda before its first line runs."""
    return {
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / function),
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "activity-relay",
        "POWERTOOLS_METRICS_NAMESPACE": "LeadLexRelay",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # The execution role's temporary credentials (boto3 then asks no metadata service)
        "AWS_ACCESS_KEY_ID": "ASIACOLDSTART",
        "AWS_SECRET_ACCESS_KEY": "cold-start",
        "AWS_SESSION_TOKEN": "cold-start",
    }


def _handler(name: str, function: str, tracing: Mapping[str, str]) -> Case:
    return Case(name, "import app", function, {**lambda_environment(function), **tracing}, True)


CASES: tuple[Case, ...] = (
    Case("import boto3", "import boto3"),
    _handler("sync handler (tracing on)", "sync_activities", TRACING_ON),
    _handler("sync handler (tracing off)", "sync_activities", TRACING_OFF),
    _handler("sweep handler", "sweep_deferred", TRACING_OFF),
    _handler("receive handler", "receive_webhooks", TRACING_OFF),
    _handler("fan-out handler (tracing on)", "fan_out_webhooks", TRACING_ON),
    _handler("fan-out handler (tracing off)", "fan_out_webhooks", TRACING_OFF),
    _handler("deliver handler", "deliver_webhooks", TRACING_OFF),
    Case(
        "naive handler (3 clients)",
        "import naive_handler",
        environment={**lambda_environment("naive"), "LAMBDA_TASK_ROOT": str(NAIVE)},
    ),
)


def sample(case: Case) -> float:
    cwd = ROOT / "functions" / case.function if case.function else NAIVE
    completed = _python(_TIMED.format(statement=case.statement), cwd, case.environment or {})
    if completed.returncode != 0:
        raise RuntimeError(f"{case.name}: {completed.stderr.strip()[-500:]}")
    return float(completed.stdout.strip().splitlines()[-1])


def _python(
    code: str, cwd: Path, extra: Mapping[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_", "LEADLEX_", "_X_AMZN"))
    }
    environment.update(extra)
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=cwd,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


# --- Cold invocations ---------------------------------------------------------------------------


def invocations() -> tuple[Invocation, ...]:
    sqs_event = json.loads((ROOT / "events" / "sqs-plain-id.json").read_text())
    return (
        Invocation("naive handler (3 clients, 1 GetItem)", None, sqs_event),
        Invocation("sync handler (tracing on)", "sync_activities", sqs_event, TRACING_ON),
        Invocation("sync handler (tracing off)", "sync_activities", sqs_event),
        Invocation("sweep handler", "sweep_deferred", _scheduled_event()),
        Invocation("receive handler", "receive_webhooks", _webhook_event()),
        Invocation("fan-out handler (tracing on)", "fan_out_webhooks", _topic_event(), TRACING_ON),
        Invocation("fan-out handler (tracing off)", "fan_out_webhooks", _topic_event()),
        Invocation("deliver handler", "deliver_webhooks", _delivery_event()),
    )


def served_in_full(answer: Any) -> bool:
    """The first call did the whole job: nothing back to the queue, nothing refused."""
    if not isinstance(answer, dict):
        return False
    if "batchItemFailures" in answer:
        return bool(answer["batchItemFailures"] == [])
    if "statusCode" in answer:
        return bool(answer["statusCode"] == 202)
    return "error" not in answer and bool(answer.get("failed") == 0)


def invocation_environment(invocation: Invocation, endpoint: str) -> dict[str, str]:
    """The function's variables as the template sets them (events/env.json), its AWS and
    LeadLex endpoints pointed at the stub, fake credentials."""
    function = invocation.function or "sync_activities"
    template: dict[str, str] = json.loads((ROOT / "events" / "env.json").read_text())[
        _TEMPLATE_NAMES[function]
    ]
    variables = {
        name: value.replace("http://127.0.0.1:4577", endpoint).replace(
            "http://127.0.0.1:4578", endpoint
        )
        for name, value in template.items()
    }
    task_root = str(ROOT / "functions" / function) if invocation.function else str(NAIVE)
    return {
        **lambda_environment(function),
        **variables,
        **invocation.tracing,
        "LAMBDA_TASK_ROOT": task_root,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }


def invoke(invocation: Invocation, endpoint: str) -> dict[str, Any]:
    module = "app" if invocation.function else "naive_handler"
    cwd = ROOT / "functions" / invocation.function if invocation.function else NAIVE
    completed = _python(
        _INVOKED.format(module=module),
        cwd,
        invocation_environment(invocation, endpoint),
        stdin=json.dumps(invocation.event),
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{invocation.name}: {completed.stderr.strip()[-800:]}")
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def _scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "cold-start",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-01T00:05:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/relay-sweep"],
        "detail": {},
    }


def _webhook_event() -> dict[str, Any]:
    from relay_local.function_url import function_url_event

    body = json.dumps(
        {
            "event": "activity.created",
            # Now, as LeadLex signs it: older than the replay horizon would be refused.
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": {
                "activity": {
                    "id": "act_cold_start",
                    "contact_id": "3f2b8c1e-5d4a-4e7b-9c0f-1a2b3c4d5e6f",
                }
            },
        },
        separators=(",", ":"),
    ).encode()
    digest = hmac.new(SECRET_VALUE["secret"].encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-LeadLex-Signature": f"sha256={digest}"}
    return function_url_event("POST", "/", headers, body)


_EVENT_QUEUE = "relay-local-WebhookEventQueue"  # not the delivery queue: events to fan out


def _topic_event() -> dict[str, Any]:
    """One event from the activity topic's queue (raw delivery): fanned out to no endpoint."""
    document = {
        "schema_version": "1.0",
        "event_id": "act_cold_start",
        "event_type": "activity.created",
        "contact_id": "3f2b8c1e-5d4a-4e7b-9c0f-1a2b3c4d5e6f",
        "activity_type": "note",
        "occurred_at": "2026-12-01T10:00:00Z",
        "activity": {"id": "act_cold_start", "type": "note"},
    }
    attributes = {
        "event_type": "activity.created",
        "activity_type": "note",
        "entity_type": "contact",
        "contact_id": document["contact_id"],
    }
    return {
        "Records": [
            {
                "messageId": "6d1c4f0e-1b2a-4c3d-9e8f-7a6b5c4d3e2f",
                "receiptHandle": "cold-start",
                "body": json.dumps(document),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764583200000"},
                "messageAttributes": {
                    name: {"stringValue": value, "dataType": "String"}
                    for name, value in attributes.items()
                },
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{_EVENT_QUEUE}",
                "awsRegion": "us-east-1",
            }
        ]
    }


_DELIVERY_QUEUE = "relay-local-WebhookDeliveryQueue"


def _delivery_event() -> dict[str, Any]:
    """One delivery for an endpoint the table does not hold (the stub finds no item): read,
    dead-lettered with its reason, acknowledged. No POST: the runtime is built, the clients
    made, the HTTP library loaded, as for any first delivery."""
    event = _topic_event()
    (record,) = event["Records"]
    record["messageAttributes"] = {
        "webhook_endpoint_id": {"stringValue": "ep_" + "0" * 32, "dataType": "String"}
    }
    record["eventSourceARN"] = f"arn:aws:sqs:us-east-1:123456789012:{_DELIVERY_QUEUE}"
    return event


# --- Running and reporting ----------------------------------------------------------------------


def run(
    runs: int,
    cases: Sequence[Case] = CASES,
    invoked: Sequence[Invocation] | None = None,
) -> dict[str, Any]:
    invoked = invocations() if invoked is None else invoked
    samples: dict[str, list[float]] = {case.name: [] for case in cases}
    calls: dict[str, list[dict[str, Any]]] = {invocation.name: [] for invocation in invoked}
    with StubEndpoint() as stub:
        for _ in range(runs):
            for case in cases:
                samples[case.name].append(sample(case))
            for invocation in invoked:
                calls[invocation.name].append(invoke(invocation, stub.url))
    baseline = statistics.median(samples[cases[0].name])
    rows = [
        {
            "case": case.name,
            "median_s": round(statistics.median(samples[case.name]), 4),
            "ratio": round(statistics.median(samples[case.name]) / baseline, 2),
            "gated": case.gated,
        }
        for case in cases
    ]
    failures = [
        f"{name}: {call['answer']}"
        for name, made in calls.items()
        for call in made
        if not served_in_full(call["answer"])
    ]
    failures += [f"the stub refused {request}" for request in sorted(set(stub.refused))]
    return {
        "runs": runs,
        "baseline": cases[0].name,
        "rows": rows,
        "invocations": _invocation_rows(invoked, calls),
        "failures": failures,
    }


def _invocation_rows(
    invoked: Sequence[Invocation], calls: Mapping[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    def median(name: str, part: str) -> float:
        return statistics.median(float(call[part]) for call in calls[name])

    def cold(name: str) -> float:
        return statistics.median(float(call["import"] + call["first"]) for call in calls[name])

    baseline = cold(invoked[0].name) if invoked else 1.0
    return [
        {
            "case": invocation.name,
            "import_s": round(median(invocation.name, "import"), 4),
            "first_call_s": round(median(invocation.name, "first"), 4),
            "cold_s": round(cold(invocation.name), 4),
            "x_naive": round(cold(invocation.name) / baseline, 2),
            "warm_call_s": round(median(invocation.name, "second"), 4),
            "answer": calls[invocation.name][-1]["answer"],
        }
        for invocation in invoked
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.cold_start", description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="rounds (median taken)")
    parser.add_argument("--limit", type=float, default=1.2, help="most a handler may take, x boto3")
    parser.add_argument("--json", action="store_true", help="figures as JSON on stdout")
    args = parser.parse_args(argv)
    figures = run(args.runs)
    over = [row for row in figures["rows"] if row["gated"] and row["ratio"] > args.limit]
    figures["limit"] = args.limit
    figures["over_limit"] = [row["case"] for row in over]
    table = sys.stderr if args.json else sys.stdout
    print(
        f"{'import':<32} {'median':>9} {'x boto3':>8}   ({args.runs} fresh processes each)",
        file=table,
    )
    for row in figures["rows"]:
        print(
            f"{row['case']:<32} {row['median_s'] * 1000:>7.0f}ms {row['ratio']:>8.2f}"
            + ("" if row["gated"] else "   (not gated)"),
            file=table,
        )
    print(
        f"\n{'cold invocation':<38} {'import':>8} {'1st call':>9} {'cold':>8} {'x naive':>8}"
        f" {'2nd call':>9}",
        file=table,
    )
    for row in figures["invocations"]:
        ms = {part: row[part] * 1000 for part in ("import_s", "first_call_s", "cold_s")}
        print(
            f"{row['case']:<38} {ms['import_s']:>6.0f}ms {ms['first_call_s']:>7.0f}ms"
            f" {ms['cold_s']:>6.0f}ms {row['x_naive']:>8.2f} {row['warm_call_s'] * 1000:>7.1f}ms",
            file=table,
        )
    if args.json:
        print(json.dumps(figures))
    for row in over:
        print(f"over the limit: {row['case']} {row['ratio']}x > {args.limit}x", file=sys.stderr)
    for failure in figures["failures"]:
        print(f"first invocation not served in full: {failure}", file=sys.stderr)
    return 1 if over or figures["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
