"""Webhook delivery: deliveries per second one delivery-function instance sustains to an
endpoint answering in 50 ms, where its time goes, and publish → first POST on the embedded stack.

    .venv/bin/python -m benchmarks.webhook_delivery [--deliveries 1000] [--answer-ms 50]
                                                    [--latency-events 40] [--json]

- Throughput: the real `deliver_webhooks` handler (Powertools, record parsing, the deliverer,
  signing with a sealed secret, the real HTTP sender with its per-attempt deadline) invoked as
  one Lambda instance is, one batch of 10 after the other, against a receiver on 127.0.0.1
  that sleeps `answer-ms` before answering 200 and verifies every signature. AWS is not moto
  here: every DynamoDB, SQS and KMS call is answered by the in-memory fakes after the latency
  of benchmarks/_aws_model.py (DynamoDB read 4 ms, write 6 ms, SQS 8 ms, KMS 8 ms, 10 ms
  between two batches). The function logs at WARNING, as LogLevel=WARNING deploys it.
- CPU: the benchmark process's CPU time over the run, per delivery (the receiver runs in a
  process of its own), and the rate that CPU allows at Lambda's memory sizes (CPU in
  proportion to memory; 1,769 MB is one vCPU).
- Where the time goes: per batch, the endpoint's read, the slowest delivery's three steps (its
  POST counted, the POST, its attempt recorded: the batch's deliveries run at once), the health
  write, and what is left (the handler: Powertools, parsing, the thread pool, signing).
- Latency: the embedded stack (moto's server as AWS, everything from template.yaml), both
  functions' pollers running as `make local` runs them; events published one at a time, each
  one's time from the SNS Publish call returning to its POST arriving (through the topic, the
  event queue, the fan-out, the event table, the delivery queue and the delivery function).

Checks: every delivery arrived once and verified; nothing was dead-lettered.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from activity_relay.adapters.http_delivery import HardenedSender
from activity_relay.core.webhooks_out.attempts import DEFAULT_SCHEDULE, RetrySchedule
from activity_relay.core.webhooks_out.endpoints import Endpoint, new_endpoint_id
from activity_relay.core.webhooks_out.signing import SealedSecret, generate_secret
from activity_relay.runtime import deliver
from activity_relay.runtime.environment import WebhookRoutes
from benchmarks._aws_model import (
    CallLog,
    LatencyModel,
    ModeledDeadLetters,
    ModeledEndpoints,
    ModeledLedger,
    ModeledQueue,
    ModeledSealer,
    TimedSender,
)
from benchmarks._harness import from_command_line, table
from benchmarks._receiver_process import ReceiverProcess
from relay_local.embedded import EmbeddedRelay, function_handler
from relay_local.fakes.webhook_records import FakeSealer, MemoryDeliveryLedger
from relay_local.fakes.webhooks_out import MemoryEndpointStore
from relay_local.template import load_template
from relay_local.trigger import EventSourceMapping, LocalContext
from relay_local.webhook_demo import register
from relay_local.webhook_receiver import WebhookReceiver

CONTACT = "123e4567-e89b-12d3-a456-426614174000"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:relay-bench-WebhookDeliveryQueue"


def document(event_id: str, description: str = "") -> str:
    """A call's event document; a `description` makes it as large as a benchmark needs."""
    activity = {"id": event_id, "activity_type": "call", "title": "Benchmark call"}
    if description:
        activity["description"] = description
    return json.dumps(
        {
            "schema_version": "1.0",
            "event_id": event_id,
            "event_type": "activity.created",
            "contact_id": CONTACT,
            "activity_type": "call",
            "occurred_at": "2026-03-01T10:00:00Z",
            "activity": activity,
        },
        separators=(",", ":"),
    )


def _record(endpoint_id: str, event_id: str) -> dict[str, Any]:
    body = document(event_id)
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": f"receipt-{event_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764583200000"},
        "messageAttributes": {
            "webhook_endpoint_id": {"stringValue": endpoint_id, "dataType": "String"}
        },
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The functions log at WARNING (LogLevel=WARNING), their metrics' EMF lines unprinted."""
    package_logger = logging.getLogger("activity_relay")
    level = package_logger.level
    package_logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        package_logger.setLevel(level)


@contextlib.contextmanager
def _runtime(runtime: deliver.DeliverRuntime) -> Iterator[None]:
    """The handler's `deliver.runtime()` answers `runtime` (its AWS modeled, not moto)."""
    original = deliver.runtime
    deliver.runtime = lambda: runtime
    try:
        with quiet():
            yield
    finally:
        deliver.runtime = original


def _lambda_globals() -> None:
    """What template.yaml's Globals give every function, before the handler's Powertools
    Logger and Metrics read them at import (as EmbeddedRelay does for its functions)."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    for name, value in variables.items():
        if name.startswith("POWERTOOLS_") and isinstance(value, str):
            os.environ.setdefault(name, value)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


def throughput(
    deliveries: int = 1000, answer_ms: int = 50, model: LatencyModel | None = None
) -> dict[str, Any]:
    model = model or LatencyModel()
    _lambda_globals()
    log = CallLog()
    sealer = FakeSealer()
    failures: list[str] = []
    endpoint_id, secret = new_endpoint_id(), generate_secret()
    with ReceiverProcess(answer_ms / 1000, secret) as receiver:
        store = MemoryEndpointStore()
        store.add(
            Endpoint(
                endpoint_id,
                receiver.url,
                secrets=(SealedSecret(sealer.seal(endpoint_id, secret)),),
            )
        )
        settings = deliver.DeliverSettings(
            routes=WebhookRoutes("modeled", "modeled", "modeled"),
            attempt_table_name="modeled",
            schedule=RetrySchedule.parse(DEFAULT_SCHEDULE),
            allow_local_targets=True,
        )
        dead_letters = ModeledDeadLetters(model, log)
        runtime = deliver.DeliverRuntime(
            settings,
            deliver.DeliverPorts(
                endpoints=ModeledEndpoints(store, model, log),
                ledger=ModeledLedger(MemoryDeliveryLedger(), model, log),
                sealer=ModeledSealer(sealer, model, log),
                sender=TimedSender(HardenedSender(allow_local=True), log),
                queue=ModeledQueue(model, log),
                dead_letters=dead_letters,
            ),
        )
        handler = function_handler("deliver_webhooks")
        mapping = EventSourceMapping(
            queue_url="modeled",
            queue_arn=QUEUE_ARN,
            region="us-east-1",
            account_id="123456789012",
            batch_size=10,
            function_name="relay-bench-DeliverWebhooksFunction",
            timeout_seconds=60,
            memory_mb=256,
        )
        ids = [f"act_bench_{n:05d}" for n in range(deliveries)]
        batches: list[tuple[float, float]] = []
        with _runtime(runtime):
            started, cpu_started = time.perf_counter(), time.process_time()
            for start in range(0, deliveries, 10):
                time.sleep(model.invoke_ms / 1000)
                event = {"Records": [_record(endpoint_id, i) for i in ids[start : start + 10]]}
                begun = time.perf_counter()
                answer = handler(event, LocalContext(mapping))
                batches.append((begun, time.perf_counter()))
                if answer.get("batchItemFailures"):
                    failures.append(f"batch at {start}: {answer['batchItemFailures']}")
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
    got = sorted(webhook_id for webhook_id, _ in receiver.received)
    if got != ids:
        failures.append(f"{len(got)} deliveries for {deliveries} events")
    if not all(verified for _, verified in receiver.received):
        failures.append("a delivery failed verification")
    if dead_letters.kept.letters:
        failures.append(f"{len(dead_letters.kept.letters)} dead letters")
    cpu_ms = 1000 * cpu / deliveries
    return {
        "deliveries": deliveries,
        "answer_ms": answer_ms,
        "model": model.describe(),
        "batches": len(batches),
        "elapsed_s": round(elapsed, 2),
        "deliveries_per_second": round(deliveries / elapsed, 1),
        "where_ms": _where(log, batches, model),
        "cpu_ms_per_delivery": round(cpu_ms, 2),
        # Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU.
        "cpu_bound_per_second": {
            f"{mb} MB": round(mb / 1769 / (cpu_ms / 1000)) for mb in (256, 512, 1024, 1769)
        },
        "calls": log.counts(),
        "failures": failures,
    }


def _where(
    log: CallLog, batches: list[tuple[float, float]], model: LatencyModel
) -> dict[str, float]:
    """Mean per batch: its wall time split along its critical path."""
    read, chain, health, walls = [], [], [], []
    for begun, ended in batches:
        calls = [c for c in log.calls if begun <= c[2] and c[3] <= ended]
        read.append(sum(e - s for k, _, s, e in calls if k == "dynamodb.GetItem"))
        health.append(sum(e - s for k, _, s, e in calls if k.endswith("(health)")))
        per_thread: dict[int, float] = {}
        for kind, thread, start, end in calls:
            if kind in ("dynamodb.UpdateItem (count)", "https POST", "dynamodb.PutItem (attempt)"):
                per_thread[thread] = per_thread.get(thread, 0.0) + end - start
        chain.append(max(per_thread.values(), default=0.0))
        walls.append(ended - begun)

    def ms(values: list[float]) -> float:
        return round(1000 * statistics.mean(values), 1) if values else 0.0

    posts = [e - s for k, _, s, e in log.calls if k == "https POST"]
    return {
        "between_batches": model.invoke_ms,
        "batch_wall": ms(walls),
        "endpoint_read": ms(read),
        "slowest_delivery": ms(chain),
        "post_mean": ms(posts),
        "health_write": ms(health),
        "handler_rest": round(ms(walls) - ms(read) - ms(chain) - ms(health), 1),
    }


def latency(events: int = 40, answer_ms: int = 50) -> dict[str, Any]:
    failures: list[str] = []
    with (
        quiet(),
        EmbeddedRelay(parameter_overrides={"LogLevel": "ERROR"}, metrics=False) as relay,
        WebhookReceiver(delay_seconds=answer_ms / 1000) as receiver,
    ):
        register(relay, receiver, "benchmark")
        sns = relay.session().client("sns", endpoint_url=relay.endpoint_url)
        relay.start_webhooks()
        latencies: list[float] = []
        for _ in range(events):
            event_id = f"act_latency_{uuid.uuid4().hex}"
            sns.publish(
                TopicArn=relay.stack.topic_arn,
                Message=document(event_id),
                MessageAttributes={
                    "event_type": {"DataType": "String", "StringValue": "activity.created"},
                    "activity_type": {"DataType": "String", "StringValue": "call"},
                },
            )
            published = time.monotonic()
            arrived = [
                d
                for d in receiver.wait_for(len(latencies) + 1, timeout=30)
                if d.webhook_id == event_id
            ]
            if not arrived:
                failures.append(f"latency: {event_id} never arrived")
                break
            latencies.append(arrived[0].received_at - published)
            time.sleep(0.2)
        if not all(d.verified for d in receiver.deliveries):
            failures.append("a delivery failed verification")
    ordered = sorted(latencies)
    return {
        "latency_events": len(latencies),
        "latency_p50_s": round(statistics.median(ordered), 3) if ordered else None,
        "latency_p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3) if ordered else None,
        "latency_max_s": round(ordered[-1], 3) if ordered else None,
        "failures": failures,
    }


def run(deliveries: int = 1000, answer_ms: int = 50, latency_events: int = 40) -> dict[str, Any]:
    rate = throughput(deliveries, answer_ms)
    delay = latency(latency_events, answer_ms)
    failures = rate.pop("failures") + delay.pop("failures")
    return {"ok": not failures, "failures": failures, **rate, **delay}


def report(figures: dict[str, Any]) -> str:
    where = figures["where_ms"]
    rows = [
        [
            "throughput, one instance, batches of 10",
            f"{figures['deliveries']} deliveries in {figures['elapsed_s']} s "
            f"({figures['batches']} invocations)",
            f"{figures['deliveries_per_second']} deliveries/s",
        ],
        [
            "a batch, on average",
            f"endpoint read {where['endpoint_read']} ms + slowest delivery "
            f"{where['slowest_delivery']} ms (POST {where['post_mean']} ms) + health "
            f"{where['health_write']} ms + handler {where['handler_rest']} ms",
            f"{where['batch_wall']} ms (+{where['between_batches']:g} ms between batches)",
        ],
        [
            "CPU of the function",
            f"{figures['cpu_ms_per_delivery']} ms a delivery: CPU-bound at "
            + ", ".join(f"{k} {v}/s" for k, v in figures["cpu_bound_per_second"].items()),
            "1,769 MB = 1 vCPU",
        ],
        [
            "publish → first POST (embedded stack)",
            f"{figures['latency_events']} events, one at a time",
            f"p50 {figures['latency_p50_s']} s, p95 {figures['latency_p95_s']} s, "
            f"max {figures['latency_max_s']} s",
        ],
    ]
    return "\n".join(
        [
            f"Webhook delivery to a local endpoint answering in {figures['answer_ms']} ms",
            f"AWS modeled: {figures['model']}",
            table(["figure", "run", "result"], rows),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    return from_command_line(run, report, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
