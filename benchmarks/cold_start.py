"""Cold start: how long importing each handler takes, against a bare ``import boto3``.

Every sample is a fresh interpreter (``python -c``) that times, with ``perf_counter``, only the
import it is there for, so interpreter start-up is left out of every case alike. Cases are run
interleaved (one sample of each per round), so load on the machine weighs on all of them alike;
the figure is the median of ``--runs`` rounds. The handlers see the environment Lambda gives them
with the template's Globals (Powertools service and namespace, LAMBDA_TASK_ROOT): tracing on
unless the case says otherwise.

    .venv/bin/python -m benchmarks.cold_start [--runs 15] [--json] [--limit 1.2]

Exits non-zero when a handler import (tracing as the template deploys it) takes more than
``--limit`` times the bare boto3 import.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_TIMED = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


@dataclass(frozen=True)
class Case:
    name: str
    statement: str
    function: str | None = None  # functions/<name> on sys.path, as Lambda's task root
    environment: Mapping[str, str] | None = None
    gated: bool = False  # held to --limit


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
    }


CASES: tuple[Case, ...] = (
    Case("import boto3", "import boto3"),
    Case(
        "sync handler (tracing on)",
        "import app",
        "sync_activities",
        lambda_environment("sync_activities"),
        gated=True,
    ),
    Case(
        "sync handler (tracing off)",
        "import app",
        "sync_activities",
        {**lambda_environment("sync_activities"), "POWERTOOLS_TRACE_DISABLED": "true"},
        gated=True,
    ),
    Case(
        "sweep handler",
        "import app",
        "sweep_deferred",
        lambda_environment("sweep_deferred"),
        gated=True,
    ),
)


def sample(case: Case) -> float:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_"))
    }
    environment.update(case.environment or {})
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [sys.executable, "-c", _TIMED.format(statement=case.statement)]
    cwd = ROOT / "functions" / case.function if case.function else ROOT
    completed = subprocess.run(  # noqa: S603 - our own interpreter and statement
        command, cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{case.name}: {completed.stderr.strip()[-500:]}")
    return float(completed.stdout.strip().splitlines()[-1])


def run(runs: int, cases: Sequence[Case] = CASES) -> dict[str, Any]:
    samples: dict[str, list[float]] = {case.name: [] for case in cases}
    for _ in range(runs):
        for case in cases:
            samples[case.name].append(sample(case))
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
    return {"runs": runs, "baseline": cases[0].name, "rows": rows}


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
        f"{'case':<30} {'median':>9} {'x boto3':>8}   ({args.runs} fresh processes each)",
        file=table,
    )
    for row in figures["rows"]:
        print(
            f"{row['case']:<30} {row['median_s'] * 1000:>7.0f}ms {row['ratio']:>8.2f}", file=table
        )
    if args.json:
        print(json.dumps(figures))
    for row in over:
        print(f"over the limit: {row['case']} {row['ratio']}x > {args.limit}x", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
