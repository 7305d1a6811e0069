"""Webhooks out, the guarantees at scale, on the embedded stack (moto's server as AWS, both
webhook functions' handlers, receivers on 127.0.0.1 verifying every delivery):

    .venv/bin/python -m benchmarks.webhook_guarantees [--endpoints 10] [--size 250000]
                                                      [--disabled-events 1000] [--json]

- A large event for many endpoints: one event of `size` bytes matching `endpoints` endpoints
  reaches every one of them, once, verified (its deliveries are sized into SendMessageBatch
  calls of at most 1 MiB; counting by entries alone, 10 x 250 KB made a 2.5 MB call that SQS
  refused whole).
- Nothing missed while disabled: an endpoint disabled with `relay webhooks disable`,
  `disabled-events` events published (fanned out and parked for it), then `relay webhooks
  enable`: every one arrives, none twice.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from benchmarks._harness import from_command_line, table
from benchmarks.webhook_delivery import CONTACT, document, quiet
from relay_cli import main as cli
from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_demo import register
from relay_local.webhook_receiver import WebhookReceiver

ATTRIBUTES: Any = {
    "event_type": {"DataType": "String", "StringValue": "activity.created"},
    "activity_type": {"DataType": "String", "StringValue": "call"},
    "entity_type": {"DataType": "String", "StringValue": "contact"},
    "contact_id": {"DataType": "String", "StringValue": CONTACT},
}


def _pump(relay: EmbeddedRelay, done: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        if relay.drain_webhooks() == 0:
            time.sleep(0.05)
    return True


def _cli(state_file: Path, *argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["--state-file", str(state_file), *argv], env={}, out=out, err=err)
    if status:
        raise RuntimeError(f"relay {' '.join(argv)}: {err.getvalue().strip()}")
    return out.getvalue()


def large_event(relay: EmbeddedRelay, endpoints: int, size: int) -> dict[str, Any]:
    receivers = [WebhookReceiver().start() for _ in range(endpoints)]
    try:
        for n, receiver in enumerate(receivers):
            register(relay, receiver, f"large-{n}")
        body = document("act_large", "d" * (size - len(document("act_large", "x")) + 1))
        sns = relay.session().client("sns", endpoint_url=relay.endpoint_url)
        started = time.monotonic()
        sns.publish(TopicArn=relay.stack.topic_arn, Message=body, MessageAttributes=ATTRIBUTES)
        arrived = _pump(relay, lambda: all(r.deliveries for r in receivers), timeout=120)
        took = time.monotonic() - started
        got = [[d.body for d in r.deliveries] for r in receivers]
        return {
            "size_bytes": len(body),
            "endpoints": endpoints,
            "received": sum(1 for g in got if g == [body]),
            "verified": all(d.verified for r in receivers for d in r.deliveries),
            "seconds": round(took, 2),
            "ok": arrived and all(g == [body] for g in got),
        }
    finally:
        for receiver in receivers:
            receiver.stop()


def disabled(relay: EmbeddedRelay, events: int) -> dict[str, Any]:
    with WebhookReceiver() as receiver, TemporaryDirectory() as directory:
        state_file = Path(directory) / "relay-local.json"
        relay.write_state_file(state_file)
        endpoint_id = register(relay, receiver, "disabled")
        _cli(state_file, "webhooks", "disable", endpoint_id)
        sns = relay.session().client("sns", endpoint_url=relay.endpoint_url)
        ids = [f"act_disabled_{n:05d}" for n in range(events)]
        started = time.monotonic()
        for start in range(0, events, 10):
            sns.publish_batch(
                TopicArn=relay.stack.topic_arn,
                PublishBatchRequestEntries=[
                    {"Id": str(i), "Message": document(e), "MessageAttributes": ATTRIBUTES}
                    for i, e in enumerate(ids[start : start + 10])
                ],
            )

        def parked() -> int:
            shown = json.loads(_cli(state_file, "webhooks", "show", endpoint_id, "--json"))
            return int(shown["parked"])

        _pump(relay, lambda: relay.drain_webhooks() == 0 and parked() == events, timeout=900)
        parked_after = time.monotonic() - started
        held = parked()
        posted_while_disabled = len(receiver.deliveries)
        enabled_at = time.monotonic()
        enabled = _cli(state_file, "webhooks", "enable", endpoint_id)
        _pump(relay, lambda: len(receiver.deliveries) >= events, timeout=900)
        _pump(relay, lambda: relay.drain_webhooks() == 0, timeout=60)
        delivered_after = time.monotonic() - enabled_at
        got = [d.webhook_id for d in receiver.deliveries]
        return {
            "events": events,
            "posted_while_disabled": posted_while_disabled,
            "parked": held,
            "enable_said": enabled.strip(),
            "delivered": len(set(got)),
            "twice": len(got) - len(set(got)),
            "verified": all(d.verified for d in receiver.deliveries),
            "seconds_to_park": round(parked_after, 1),
            "seconds_after_enable": round(delivered_after, 1),
            "ok": sorted(got) == ids and held == events and posted_while_disabled == 0,
        }


def run(endpoints: int = 10, size: int = 250_000, disabled_events: int = 1000) -> dict[str, Any]:
    dead = 0
    with quiet():
        # A stack each: the first case's endpoints would otherwise get the second's events
        with EmbeddedRelay(parameter_overrides={"LogLevel": "ERROR"}, metrics=False) as relay:
            large = large_event(relay, endpoints, size)
            dead += _dead_letters(relay)
        with EmbeddedRelay(parameter_overrides={"LogLevel": "ERROR"}, metrics=False) as relay:
            missed = disabled(relay, disabled_events)
            dead += _dead_letters(relay)
    failures = []
    if not large["ok"]:
        failures.append(f"large event: {large['received']} of {endpoints} endpoints got it")
    if not missed["ok"]:
        failures.append(
            f"disabled: {missed['delivered']} of {disabled_events} delivered, "
            f"{missed['twice']} twice, {missed['parked']} parked"
        )
    if dead:
        failures.append(f"{dead} dead letters")
    return {"ok": not failures, "failures": failures, "large": large, "disabled": missed}


def _dead_letters(relay: EmbeddedRelay) -> int:
    return int(
        relay.sqs.get_queue_attributes(
            QueueUrl=relay.stack.outputs["WebhookDeadLetterQueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
    )


def report(figures: dict[str, Any]) -> str:
    large, missed = figures["large"], figures["disabled"]
    rows = [
        [
            f"one {large['size_bytes']:,}-byte event, {large['endpoints']} matching endpoints",
            f"{large['received']} of {large['endpoints']} received it once, verified "
            f"{large['verified']}",
            f"{large['seconds']} s",
        ],
        [
            f"{missed['events']:,} events while the endpoint is disabled",
            f"parked {missed['parked']:,} ({missed['posted_while_disabled']} posted); after enable "
            f"{missed['delivered']:,} "
            f"delivered, {missed['twice']} twice, verified {missed['verified']}",
            f"parked in {missed['seconds_to_park']} s, delivered "
            f"{missed['seconds_after_enable']} s after enable",
        ],
    ]
    return "\n".join(
        [
            "Webhooks out on the embedded stack",
            table(["case", "result", "time"], rows),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    return from_command_line(run, report, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
