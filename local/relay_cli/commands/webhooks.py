"""``relay webhooks …``: the HTTPS endpoints events are delivered to (Standard Webhooks).

add URL [--filter JSON] [--description TEXT] [--any-port]
                                               register; prints the id and the secret once
list | show ID                                 endpoints; one with its recent attempts
disable ID | enable ID | remove ID
rotate-secret ID [--grace-hours N]             a new secret; the old one signs too until then
test ID                                        a signed webhook.test event, now
redrive ID                                     its dead-lettered deliveries, sent again
"""

from __future__ import annotations

import argparse
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING

from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.adapters.sqs.deliveries import ENDPOINT_ATTRIBUTE, SqsDeliveryQueue
from activity_relay.core.webhooks_out.endpoints import (
    Endpoint,
    check_endpoint_id,
    new_endpoint_id,
)
from activity_relay.core.webhooks_out.filters import check_filter
from activity_relay.core.webhooks_out.ports import Delivery, WebhookConfigError
from activity_relay.core.webhooks_out.signing import SigningSecret, generate_secret
from activity_relay.core.webhooks_out.targets import check_target
from relay_cli.sqs import delete, peek, show_again
from relay_cli.target import Target, UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

TABLE = "WebhookEndpointTableName"
DELIVERY_QUEUE = "WebhookDeliveryQueueUrl"
DEAD_LETTERS = "WebhookDeadLetterQueueUrl"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "webhooks",
        help="HTTPS endpoints that receive signed events",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--webhook-table", help="the endpoint table")
    parser.add_argument("--webhook-queue-url", help="the webhook delivery queue")
    parser.add_argument("--webhook-dlq-url", help="the webhook dead-letter queue")
    actions = parser.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="register an endpoint (prints its secret once)")
    add.add_argument(
        "url",
        help="the endpoint: https, a public host, port 443, at most 2 KB (a local stack: also "
        "http and 127.0.0.1)",
    )
    add.add_argument(
        "--any-port", action="store_true", help="accept a port other than 443 (e.g. :8443)"
    )
    add.add_argument("--filter", help='SNS filter policy, e.g. \'{"activity_type": ["call"]}\'')
    add.add_argument("--description", default="", help="a note shown by list and show")
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(run=run_add)

    list_ = actions.add_parser("list", help="every endpoint")
    list_.add_argument("--json", action="store_true", help="print JSON")
    list_.set_defaults(run=run_list)

    show = actions.add_parser("show", help="an endpoint and its recent attempts")
    show.add_argument("endpoint_id", help="the id add printed")
    show.add_argument("--attempts", type=int, default=20, help="recent attempts shown (default 20)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=run_show)

    for name, run, text in (
        ("disable", run_disable, "stop delivering to an endpoint"),
        ("enable", run_enable, "deliver again (failure streak cleared)"),
        ("remove", run_remove, "forget an endpoint and its attempts"),
        ("test", run_test, "send it a signed webhook.test event now"),
        ("redrive", run_redrive, "send its dead-lettered deliveries again"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("endpoint_id", help="the id add printed")
        if name == "redrive":
            action.add_argument(
                "--max", type=int, default=1000, help="at most this many (default 1000)"
            )
        action.set_defaults(run=run)

    rotate = actions.add_parser("rotate-secret", help="new secret; the old one signs until grace")
    rotate.add_argument("endpoint_id", help="the id add printed")
    rotate.add_argument(
        "--grace-hours",
        type=float,
        default=24.0,
        help="hours the old secret still signs (default 24)",
    )
    rotate.add_argument("--json", action="store_true", help="print JSON")
    rotate.set_defaults(run=run_rotate)


def _store(target: Target) -> DynamoDbEndpointStore:
    client = target.session().client("dynamodb", endpoint_url=target.endpoint_url)
    return DynamoDbEndpointStore(client, target.output(TABLE))


def _endpoint_id(args: argparse.Namespace) -> str:
    try:
        return check_endpoint_id(args.endpoint_id.strip())
    except WebhookConfigError as error:
        raise UsageError(str(error)) from None


def _existing(store: DynamoDbEndpointStore, endpoint_id: str) -> Endpoint:
    endpoint = store.get(endpoint_id)
    if endpoint is None:
        raise UsageError(f"no endpoint {endpoint_id}")
    return endpoint


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def run_add(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    try:
        # The delivery adapter applies the same rules (core/webhooks_out/targets.py); plain
        # http and loopback only on a local stack, whose function allows local targets.
        url = check_target(args.url.strip(), allow_local=target.local, any_port=args.any_port).url
        policy = check_filter(json.loads(args.filter)) if args.filter else {}
    except json.JSONDecodeError as error:
        raise UsageError(f"--filter is not JSON: {error}") from None
    except WebhookConfigError as error:
        raise UsageError(str(error)) from None
    endpoint = Endpoint(
        endpoint_id=new_endpoint_id(),
        url=url,
        secrets=(SigningSecret(generate_secret()),),
        filter_policy=policy,
        description=args.description,
        created_at=_now(),
    )
    _store(target).add(endpoint)
    secret = endpoint.secrets[0].value
    if args.json:
        print(json.dumps({"endpoint_id": endpoint.endpoint_id, "secret": secret}), file=out)
        return 0
    print(f"endpoint  {endpoint.endpoint_id}", file=out)
    print(f"url       {url}", file=out)
    print(f"filter    {json.dumps(policy) if policy else '(every event)'}", file=out)
    print(f"secret    {secret}", file=out)
    print("          shown once: give it to the receiver to verify signatures with", file=out)
    return 0


def _status(endpoint: Endpoint) -> str:
    if endpoint.enabled:
        return "enabled"
    return f"disabled ({endpoint.disabled_reason})" if endpoint.disabled_reason else "disabled"


def _summary(endpoint: Endpoint) -> dict[str, object]:
    return {
        "endpoint_id": endpoint.endpoint_id,
        "url": endpoint.url,
        "filter": dict(endpoint.filter_policy),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failure_streak": endpoint.failure_streak,
        "failing_since": endpoint.first_failure_at.isoformat()
        if endpoint.first_failure_at
        else None,
        "secrets": len(endpoint.secrets),
    }


def run_list(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    endpoints = sorted(_store(target).all_endpoints(), key=lambda e: e.created_at or _now())
    for endpoint in endpoints:
        if args.json:
            print(json.dumps(_summary(endpoint)), file=out)
            continue
        policy = json.dumps(dict(endpoint.filter_policy)) if endpoint.filter_policy else "*"
        print(
            f"{endpoint.endpoint_id}  {_status(endpoint):<9}  failures {endpoint.failure_streak:<3}"
            f"  {endpoint.url}  {policy}  {endpoint.description}".rstrip(),
            file=out,
        )
    if not args.json:
        print(f"{len(endpoints)} endpoint(s)", file=out)
    return 0


def run_show(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    store = _store(target)
    endpoint = _existing(store, _endpoint_id(args))
    attempts = store.attempts(endpoint.endpoint_id, limit=args.attempts)
    if args.json:
        summary = _summary(endpoint) | {
            "attempts": [
                {
                    "at": a.at.isoformat(),
                    "event_id": a.event_id,
                    "attempt": a.attempt,
                    "status": a.status,
                    "error": a.error,
                    "duration_ms": a.duration_ms,
                    "action": a.action,
                }
                for a in attempts
            ]
        }
        print(json.dumps(summary), file=out)
        return 0
    for name, value in _summary(endpoint).items():
        print(f"{name:<16}{json.dumps(value) if isinstance(value, dict) else value}", file=out)
    print(f"\nrecent attempts (newest first, {len(attempts)}):", file=out)
    for a in attempts:
        result = str(a.status) if a.status is not None else (a.error or "?")
        print(
            f"  {a.at.isoformat()}  {a.event_id}  #{a.attempt}  {result:<6} "
            f"{a.action:<11} {a.duration_ms} ms",
            file=out,
        )
    return 0


def run_disable(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    endpoint_id = _endpoint_id(args)
    if not _store(target).disable_by_hand(endpoint_id, _now()):
        raise UsageError(f"no endpoint {endpoint_id}")
    print(f"{endpoint_id} disabled: its deliveries are dead-lettered until enabled", file=out)
    return 0


def run_enable(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    endpoint_id = _endpoint_id(args)
    if not _store(target).enable(endpoint_id):
        raise UsageError(f"no endpoint {endpoint_id}")
    print(f"{endpoint_id} enabled (relay webhooks redrive {endpoint_id}: what it missed)", file=out)
    return 0


def run_remove(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    endpoint_id = _endpoint_id(args)
    if not _store(target).remove(endpoint_id):
        raise UsageError(f"no endpoint {endpoint_id}")
    print(f"{endpoint_id} removed", file=out)
    return 0


def run_rotate(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    if args.grace_hours < 0:
        raise UsageError("--grace-hours must not be negative")
    store = _store(target)
    endpoint = _existing(store, _endpoint_id(args))
    now = datetime.now(UTC)
    rotated = endpoint.rotated(generate_secret(), now, timedelta(hours=args.grace_hours))
    store.replace_secrets(endpoint.endpoint_id, rotated.secrets)
    secret = rotated.secrets[0].value
    until = rotated.secrets[1].expires_at if len(rotated.secrets) > 1 else None
    if args.json:
        expiry = until.isoformat() if until else None
        print(json.dumps({"secret": secret, "previous_signs_until": expiry}), file=out)
        return 0
    print(f"secret    {secret}", file=out)
    if until is not None:
        print(f"          the previous secret also signs until {until.isoformat()}", file=out)
    return 0


def run_test(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    store = _store(target)
    endpoint = _existing(store, _endpoint_id(args))
    event_id = f"evt_test_{secrets.token_hex(8)}"
    body = json.dumps(
        {
            "schema_version": "1.0",
            "event_id": event_id,
            "event_type": "webhook.test",
            "endpoint_id": endpoint.endpoint_id,
            "occurred_at": _now().isoformat().replace("+00:00", "Z"),
        }
    )
    queue = SqsDeliveryQueue(target.sqs(), target.output(DELIVERY_QUEUE))
    if queue.enqueue([Delivery(endpoint.endpoint_id, body)]):
        print("could not queue the test delivery", file=err)
        return 1
    print(f"sent webhook.test {event_id} to {endpoint.url} (see: relay webhooks show)", file=out)
    return 0


def _endpoint_of(message: MessageTypeDef) -> str | None:
    attribute = (message.get("MessageAttributes") or {}).get(ENDPOINT_ATTRIBUTE)
    return attribute.get("StringValue") if attribute else None


def run_redrive(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    endpoint_id = _endpoint_id(args)
    sqs = target.sqs()
    dlq_url = target.output(DEAD_LETTERS)
    queue = SqsDeliveryQueue(sqs, target.output(DELIVERY_QUEUE))
    messages = peek(sqs, dlq_url, args.max)
    kept = [m for m in messages if _endpoint_of(m) != endpoint_id]
    try:
        movable = [m for m in messages if _endpoint_of(m) == endpoint_id]
        deliveries = [Delivery(endpoint_id, m.get("Body", "")) for m in movable]
        failed = {id(d) for d in queue.enqueue(deliveries)}
        sent = [m for m, d in zip(movable, deliveries, strict=True) if id(d) not in failed]
        kept += [m for m, d in zip(movable, deliveries, strict=True) if id(d) in failed]
        for start in range(0, len(sent), 10):
            delete(sqs, dlq_url, sent[start : start + 10])
    finally:
        show_again(sqs, dlq_url, kept)
    print(f"redrove {len(sent)} delivery(ies) to {endpoint_id}", file=out)
    if len(sent) < len(movable):
        print(f"{len(movable) - len(sent)} could not be sent; they stay dead-lettered", file=err)
        return 1
    return 0
