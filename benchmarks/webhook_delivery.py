"""Webhook delivery: deliveries per second one function instance sustains to an endpoint that
answers in 50 ms, and the time from publish to delivery.

    .venv/bin/python -m benchmarks.webhook_delivery [--deliveries 300] [--answer-ms 50]
                                                    [--latency-events 20] [--json]

Set-up: the embedded stack (moto's server over HTTP as AWS, everything from template.yaml) and
one receiver on 127.0.0.1 that sleeps `answer-ms` before answering 200 and verifies every
delivery with the `standardwebhooks` library.

- Throughput: `deliveries` events are published to the activity topic and fanned out (not
  timed); then one poller, as one Lambda instance would, invokes the real handler with batches
  of 10 from the delivery queue until all are delivered. Each invocation reads the endpoint,
  signs and POSTs its 10 deliveries concurrently, records every attempt and the endpoint's
  health in DynamoDB and deletes the batch: the figure includes those calls (to moto).
- Latency: the function's two pollers run as `make local` runs them (long polling); events are
  published one at a time, and each one's time from the SNS Publish call returning to its
  arrival at the receiver is measured (median, p95, max).

Checks: every delivery arrived once, verified; nothing was dead-lettered.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from benchmarks._harness import emit, json_flag, table
from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_demo import register
from relay_local.webhook_receiver import WebhookReceiver

CONTACT = "123e4567-e89b-12d3-a456-426614174000"


def _document(event_id: str) -> str:
    return json.dumps(
        {
            "schema_version": "1.0",
            "event_id": event_id,
            "event_type": "activity.created",
            "contact_id": CONTACT,
            "activity_type": "call",
            "occurred_at": "2026-03-01T10:00:00Z",
            "activity": {"id": event_id, "activity_type": "call", "title": "Benchmark call"},
        }
    )


def _attributes() -> dict[str, Any]:
    return {
        "event_type": {"DataType": "String", "StringValue": "activity.created"},
        "activity_type": {"DataType": "String", "StringValue": "call"},
    }


def run(deliveries: int = 300, answer_ms: int = 50, latency_events: int = 20) -> dict[str, Any]:
    failures: list[str] = []
    with (
        EmbeddedRelay(parameter_overrides={"LogLevel": "ERROR"}, metrics=False) as relay,
        WebhookReceiver(delay_seconds=answer_ms / 1000) as receiver,
    ):
        register(relay, receiver, "benchmark")
        sns = relay.session().client("sns", endpoint_url=relay.endpoint_url)
        events_trigger, delivery_trigger = relay.webhook_triggers

        # --- throughput: one poller, batches of 10 ---------------------------------------
        ids = [f"act_bench_{uuid.uuid4().hex}" for _ in range(deliveries)]
        for start in range(0, len(ids), 10):
            response = sns.publish_batch(
                TopicArn=relay.stack.topic_arn,
                PublishBatchRequestEntries=[
                    {
                        "Id": str(i),
                        "Message": _document(event_id),
                        "MessageAttributes": _attributes(),
                    }
                    for i, event_id in enumerate(ids[start : start + 10])
                ],
            )
            if response.get("Failed"):
                failures.append(f"publish failed: {response['Failed']}")
        events_trigger.drain()
        started = time.perf_counter()
        invocations = 0
        while len(receiver.deliveries) < deliveries and time.perf_counter() - started < 300:
            invocations += len(delivery_trigger.drain())
        elapsed = time.perf_counter() - started
        got = [d.webhook_id for d in receiver.deliveries]
        if sorted(got) != sorted(ids):
            failures.append(f"throughput: {len(got)} deliveries for {len(ids)} events")
        per_second = len(got) / elapsed if elapsed else 0.0

        # --- latency: publish → arrival, pollers running ---------------------------------
        receiver.deliveries.clear()
        relay.start_webhooks()
        latencies: list[float] = []
        for _ in range(latency_events):
            event_id = f"act_latency_{uuid.uuid4().hex}"
            sns.publish(
                TopicArn=relay.stack.topic_arn,
                Message=_document(event_id),
                MessageAttributes=_attributes(),
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
        unverified = [d for d in receiver.deliveries if not d.verified]
        if unverified:
            failures.append(f"{len(unverified)} deliveries failed verification")
        dead = relay.sqs.get_queue_attributes(
            QueueUrl=relay.stack.outputs["WebhookDeadLetterQueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
        if dead != "0":
            failures.append(f"{dead} dead letters")

    ordered = sorted(latencies)
    return {
        "ok": not failures,
        "failures": failures,
        "deliveries": deliveries,
        "answer_ms": answer_ms,
        "invocations": invocations,
        "elapsed_s": round(elapsed, 2),
        "deliveries_per_second": round(per_second, 1),
        "latency_events": len(latencies),
        "latency_median_s": round(statistics.median(ordered), 3) if ordered else None,
        "latency_p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3) if ordered else None,
        "latency_max_s": round(ordered[-1], 3) if ordered else None,
    }


def report(figures: dict[str, Any]) -> str:
    rows = [
        [
            "throughput (one poller, batches of 10)",
            f"{figures['deliveries']} deliveries in {figures['elapsed_s']} s, "
            f"{figures['invocations']} invocations",
            f"{figures['deliveries_per_second']} deliveries/s",
        ],
        [
            "publish → delivery",
            f"{figures['latency_events']} events, one at a time",
            f"median {figures['latency_median_s']} s, p95 {figures['latency_p95_s']} s, "
            f"max {figures['latency_max_s']} s",
        ],
    ]
    verdict = (
        "All checks passed." if figures["ok"] else "FAILED:\n  " + "\n  ".join(figures["failures"])
    )
    return "\n".join(
        [
            f"Webhook delivery to a local endpoint answering in {figures['answer_ms']} ms",
            table(["figure", "run", "result"], rows),
            verdict,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--answer-ms", type=int, default=50)
    parser.add_argument("--latency-events", type=int, default=20)
    json_flag(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    figures = run(args.deliveries, args.answer_ms, args.latency_events)
    emit(report(figures), figures, args.json)
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
