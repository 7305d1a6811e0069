"""``relay webhooks …``: the HTTPS endpoints events are delivered to (Standard Webhooks).

add URL [--filter JSON] [--description TEXT] [--any-port] [--allow-duplicate]
                                               register; prints the id and the secret once
list | show ID                                 endpoints; one with its recent attempts
disable ID | remove ID
enable ID [--skip-missed]                      deliver again, with what it missed meanwhile
rotate-secret ID [--grace-hours N]             a new secret; the old one signs too until then
test ID [--wait [--timeout S]]                 a signed webhook.test event, now (and how it went)
listen [--forward-to URL] [--filter JSON]      local stack: a temporary endpoint here, each
                                               delivery verified and printed (or forwarded)
redrive ID | redrive --events                  dead-lettered deliveries (or events) again
replay ID --since T [--until T] [--filter J]   a time range of events delivered again
migrate                                        seal secrets stored in the clear; drop old rows
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import IO

from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.ports import WebhookConfigError
from activity_relay.core.webhooks_out.sealing import is_sealed, seal
from activity_relay.core.webhooks_out.signing import SealedSecret, generate_secret
from activity_relay.core.webhooks_out.targets import check_target
from relay_cli.commands import webhook_deliveries, webhook_listen, webhook_test_event
from relay_cli.commands.webhook_stack import (
    WebhookStack,
    disabled_text,
    endpoint_id_of,
    existing_endpoint,
    filter_policy,
    now,
    register,
)
from relay_cli.plain import plain
from relay_cli.target import Target, UsageError


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "webhooks",
        help="HTTPS endpoints that receive signed events",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--webhook-table", help="the endpoint table")
    parser.add_argument("--webhook-attempt-table", help="the attempt table")
    parser.add_argument("--webhook-event-table", help="the event table (replays)")
    parser.add_argument("--webhook-queue-url", help="the webhook delivery queue")
    parser.add_argument("--webhook-event-queue-url", help="the queue of events to fan out")
    parser.add_argument("--webhook-dlq-url", help="the webhook dead-letter queue")
    parser.add_argument("--webhook-key", help="the KMS key that seals signing secrets")
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
    add.add_argument(
        "--allow-duplicate",
        action="store_true",
        help="register the URL even if an endpoint has it already (it then gets every event twice)",
    )
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
        ("disable", run_disable, "stop delivering; what it misses is kept until enable"),
        ("remove", run_remove, "forget an endpoint, its attempts and what it missed"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("endpoint_id", help="the id add printed")
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

    migrate = actions.add_parser(
        "migrate", help="seal secrets stored in the clear; delete attempt rows of the old layout"
    )
    migrate.add_argument("--dry-run", action="store_true", help="count, change nothing")
    migrate.set_defaults(run=run_migrate)

    webhook_deliveries.add_parsers(actions)
    webhook_test_event.add_parser(actions)
    webhook_listen.add_parser(actions)


def run_add(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    try:
        # The delivery adapter applies the same rules (core/webhooks_out/targets.py); plain
        # http and loopback only on a local stack, whose function allows local targets.
        url = check_target(args.url.strip(), allow_local=target.local, any_port=args.any_port).url
    except WebhookConfigError as error:
        raise UsageError(str(error)) from None
    policy = filter_policy(args.filter)
    stack = WebhookStack(target)
    if not args.allow_duplicate:
        _refuse_duplicate(stack, url)
    endpoint_id, secret = register(stack, url, policy, args.description)
    if args.json:
        print(json.dumps({"endpoint_id": endpoint_id, "secret": secret}), file=out)
        return 0
    print(f"endpoint  {endpoint_id}", file=out)
    print(f"url       {url}", file=out)
    print(f"filter    {json.dumps(policy) if policy else '(every event)'}", file=out)
    print(f"secret    {secret}", file=out)
    print("          shown once: give it to the receiver to verify signatures with", file=out)
    return 0


def _refuse_duplicate(stack: WebhookStack, url: str) -> None:
    """A second endpoint for a URL would deliver every event to it twice: almost always a
    mistake (an `add` run again), so it takes --allow-duplicate."""
    holders = [
        f"{e.endpoint_id} ({_status(e)})" for e in stack.endpoints.endpoints() if e.url == url
    ]
    if holders:
        raise UsageError(
            f"{url} is registered already: endpoint {', '.join(holders)}. `relay webhooks show "
            "ID` shows it; --allow-duplicate adds another endpoint for the same URL, which then "
            "receives every matching event once per endpoint"
        )


def _status(endpoint: Endpoint) -> str:
    return "enabled" if endpoint.enabled else disabled_text(endpoint)


def _summary(endpoint: Endpoint) -> dict[str, object]:
    return {
        "endpoint_id": endpoint.endpoint_id,
        "url": endpoint.url,
        "filter": dict(endpoint.filter_policy),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at.isoformat() if endpoint.disabled_at else None,
        "failure_streak": endpoint.failure_streak,
        "failing_since": endpoint.first_failure_at.isoformat()
        if endpoint.first_failure_at
        else None,
        "secrets": len(endpoint.secrets),
        "secrets_sealed": is_sealed(endpoint),
    }


def run_list(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    endpoints = sorted(
        WebhookStack(target).endpoints.endpoints(), key=lambda e: e.created_at or now()
    )
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
    stack, endpoint = existing_endpoint(args, target)
    attempts = stack.ledger.attempts(endpoint.endpoint_id, limit=args.attempts)
    parked = sum(1 for _ in stack.ledger.parked(endpoint.endpoint_id))
    if args.json:
        summary = _summary(endpoint) | {
            "parked": parked,
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
            ],
        }
        print(json.dumps(summary), file=out)
        return 0
    for name, value in (_summary(endpoint) | {"parked": parked}).items():
        print(f"{name:<16}{plain(value)}", file=out)
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
    stack, endpoint = existing_endpoint(args, target)
    endpoint_id = endpoint.endpoint_id
    stack.endpoints.disable(endpoint_id, "by hand", now())
    print(
        f"{endpoint_id} disabled: its deliveries are kept until `relay webhooks enable "
        f"{endpoint_id}` sends them (or `--skip-missed` drops them)",
        file=out,
    )
    return 0


def run_remove(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    endpoint_id = endpoint_id_of(args)
    stack = WebhookStack(target)
    if not stack.endpoints.remove(endpoint_id, now()):
        raise UsageError(f"no endpoint {endpoint_id}")
    stack.ledger.forget(endpoint_id)
    print(f"{endpoint_id} removed (deliveries still queued for it are dropped)", file=out)
    return 0


def run_rotate(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    if args.grace_hours < 0:
        raise UsageError("--grace-hours must not be negative")
    stack, endpoint = existing_endpoint(args, target)
    at = datetime.now(UTC)
    secret = generate_secret()
    rotated = endpoint.rotated(
        SealedSecret(stack.sealer.seal(endpoint.endpoint_id, secret)),
        at,
        timedelta(hours=args.grace_hours),
    )
    # A secret still in the clear (not yet migrated) is sealed as it is kept.
    sealed = tuple(seal(stack.sealer, endpoint.endpoint_id, s) for s in rotated.secrets)
    stack.endpoints.replace_secrets(endpoint.endpoint_id, sealed)
    until = sealed[1].expires_at if len(sealed) > 1 else None
    if args.json:
        expiry = until.isoformat() if until else None
        print(json.dumps({"secret": secret, "previous_signs_until": expiry}), file=out)
        return 0
    print(f"secret    {secret}", file=out)
    if until is not None:
        print(f"          the previous secret also signs until {until.isoformat()}", file=out)
    return 0


def run_migrate(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    """Idempotent: secrets in the clear are sealed (only if still in the clear: a rotation
    meanwhile wins); attempt rows the endpoint table held before the attempt table are deleted
    (they would expire within 14 days anyway, but the fan-out's Scan reads them until then)."""
    stack = WebhookStack(target)
    unsealed = [e for e in stack.endpoints.endpoints() if not is_sealed(e)]
    legacy = list(stack.endpoints.legacy_items())
    if args.dry_run:
        print(f"{len(unsealed)} endpoint(s) to seal, {len(legacy)} old row(s) to delete", file=out)
        return 0
    sealed = 0
    for endpoint in unsealed:
        kept = tuple(seal(stack.sealer, endpoint.endpoint_id, s) for s in endpoint.secrets)
        if stack.endpoints.replace_secrets(endpoint.endpoint_id, kept, only_unsealed=True):
            sealed += 1
    for key in legacy:
        stack.endpoints.delete_item(key)
    print(f"sealed the secrets of {sealed} endpoint(s); deleted {len(legacy)} old row(s)", file=out)
    return 0
