"""relay webhooks test ID [--wait [--timeout S]]: a signed webhook.test event, now.

An endpoint that is disabled gets no test: its deliveries are parked until it is enabled, so a
test would say nothing now and arrive unannounced later. With --wait the command follows the
event to its first attempt (the attempt table) and says what came of it: delivered (status,
latency, attempt), or why not (the status or error, and when the retry is due; dead-lettered;
parked because the endpoint was disabled meanwhile; nothing within the timeout). Exit status 1
when it was not delivered.
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from activity_relay.core.webhooks_out.attempts import AttemptRecord
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.ports import Delivery
from relay_cli.commands.webhook_stack import WebhookStack, disabled_text, existing_endpoint, now
from relay_cli.exit_status import EXIT_USAGE
from relay_cli.target import Target, UsageError

WAIT_SECONDS = 30.0
"""--timeout's default: the first attempt comes within seconds while the delivery function runs."""
POLL_SECONDS = 0.5
RECENT_ATTEMPTS = 100
"""The endpoint's newest attempts read at each look: the test's is among them while it is new."""


def add_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    test = actions.add_parser(
        "test", help="send it a signed webhook.test event now (--wait: and say how it went)"
    )
    test.add_argument("endpoint_id", help="the id add printed")
    test.add_argument(
        "--wait",
        action="store_true",
        help="wait for its first attempt and print the outcome; exit 1 unless delivered",
    )
    test.add_argument(
        "--timeout",
        type=float,
        default=WAIT_SECONDS,
        help=f"seconds --wait waits for an attempt (default {WAIT_SECONDS:g})",
    )
    test.set_defaults(run=run_test)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    text: str


def run_test(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    if args.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    stack, endpoint = existing_endpoint(args, target)
    endpoint_id = endpoint.endpoint_id
    if not endpoint.enabled:
        raise UsageError(
            f"{endpoint_id} is {disabled_text(endpoint)}: no test sent (it would be parked until "
            f"`relay webhooks enable {endpoint_id}`)"
        )
    event_id = f"evt_test_{secrets.token_hex(8)}"
    body = json.dumps(
        {
            "schema_version": "1.0",
            "event_id": event_id,
            "event_type": "webhook.test",
            "endpoint_id": endpoint_id,
            "occurred_at": now().isoformat().replace("+00:00", "Z"),
        }
    )
    if stack.queue.enqueue([Delivery(endpoint_id, body)]):
        print("could not queue the test delivery", file=err)
        return EXIT_USAGE
    sent = f"sent webhook.test {event_id} to {endpoint.url}"
    if not args.wait:
        print(f"{sent} (see: relay webhooks show)", file=out)
        return 0
    print(f"{sent}; waiting for its attempt", file=out)
    outcome = wait_for_outcome(stack, endpoint_id, event_id, args.timeout)
    print(outcome.text, file=out)
    return 0 if outcome.delivered else 1


def wait_for_outcome(
    stack: WebhookStack,
    endpoint_id: str,
    event_id: str,
    timeout: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    deadline = clock() + timeout
    while True:
        outcome = _look(stack, endpoint_id, event_id)
        if outcome is not None:
            return outcome
        if clock() >= deadline:
            return Outcome(
                False,
                f"not delivered: no attempt within {timeout:g} s; the delivery is still queued "
                "(is the delivery function running? locally, `make local` runs it). "
                f"`relay webhooks show {endpoint_id}` lists it once attempted",
            )
        sleep(POLL_SECONDS)


def _look(stack: WebhookStack, endpoint_id: str, event_id: str) -> Outcome | None:
    """What became of the event so far: its newest attempt, or why it will have none."""
    attempts = stack.ledger.attempts(endpoint_id, limit=RECENT_ATTEMPTS)
    mine = next((a for a in attempts if a.event_id == event_id), None)
    endpoint = stack.endpoints.get(endpoint_id)
    if mine is not None:
        return _attempted(mine, endpoint)
    if endpoint is None or endpoint.removed:
        return Outcome(False, "not delivered: the endpoint was removed meanwhile; dropped")
    if any(p.event_id == event_id for p in stack.ledger.parked(endpoint_id)):
        return Outcome(
            False,
            f"not delivered: the endpoint was {disabled_text(endpoint)} before it went out; it is "
            f"parked until `relay webhooks enable {endpoint_id}`",
        )
    return None


def _attempted(attempt: AttemptRecord, endpoint: Endpoint | None) -> Outcome:
    answer = (
        f"answered HTTP {attempt.status}" if attempt.status is not None else (attempt.error or "?")
    )
    took = f"in {attempt.duration_ms} ms (attempt {attempt.attempt})"
    if attempt.action == "delivered":
        return Outcome(True, f"delivered: HTTP {attempt.status} {took}")
    failed = f"not delivered: {answer} {took}"
    if attempt.action == "retry":
        when = (
            f"at {attempt.retry_at.isoformat()} (in {_seconds_until(attempt.retry_at)} s)"
            if attempt.retry_at
            else "on the retry schedule"
        )
        return Outcome(False, f"{failed}; it will be retried {when}")
    redrive = f"relay webhooks redrive {attempt.endpoint_id}"
    dead = f"{failed}; dead-lettered (`{redrive}` sends it again)"
    if attempt.status == 410:
        dead += f"; a 410 disables the endpoint (`relay webhooks enable {attempt.endpoint_id}`)"
    elif endpoint is not None and not endpoint.enabled:
        dead += f"; the endpoint is now {disabled_text(endpoint)}"
    return Outcome(False, dead)


def _seconds_until(when: datetime) -> int:
    return max(0, round((when - datetime.now(UTC)).total_seconds()))
