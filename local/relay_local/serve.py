"""``make local``: the embedded relay kept running, for the relay CLI and ``aws --endpoint-url``.

Serves until Ctrl-C: moto on a fixed port (4577 unless told otherwise), the template's
resources, two subscriber queues, the SQS trigger polling the contact queue, the LeadLex
sandbox seeded with a few contacts, and the webhook receiver's Function URL registered with it.
Writes ``.relay-local.json`` for the CLI and removes it on exit.

A message the function returns comes back after ``--visibility-timeout`` seconds (5; the
template's is minutes, six function timeouts) and SQS moves it to the dead-letter queue after the
template's ``MaxReceiveCount`` receives, so a failure path can be watched within a minute; the
trigger logs when each returned message will be visible again.

Real-key mode: ``--real-leadlex`` reads ``LEADLEX_API_KEY`` (and ``LEADLEX_API_BASE_URL``,
default the template's) from the environment and syncs from the real API instead of the sandbox.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from relay_cli.target import STATE_FILE
from relay_local.embedded import EmbeddedRelay

DEFAULT_PORT = 4577
SANDBOX_PORT = 4578
"""Fixed, like moto's, so that events/env.json (sam local invoke) can name the sandbox."""
LOCAL_SECRET_NAME = "leadlex/local/api-key"  # noqa: S105 - a secret's name, not its value
"""The secret in moto holding the sandbox's key, for functions run by sam local (env.json)."""
LOCAL_VISIBILITY_TIMEOUT = 5
"""Seconds a returned message stays hidden on the laptop stack: long enough to read the log."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m relay_local.serve", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="moto's (0: any free)")
    parser.add_argument(
        "--sandbox-port", type=int, default=SANDBOX_PORT, help="the LeadLex sandbox's (0: any)"
    )
    parser.add_argument("--contacts", type=int, default=3, help="seeded in the sandbox")
    parser.add_argument("--activities", type=int, default=5, help="seeded per contact")
    parser.add_argument("--state-file", type=Path, default=STATE_FILE)
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=LOCAL_VISIBILITY_TIMEOUT,
        help=f"seconds until a returned message is back (default {LOCAL_VISIBILITY_TIMEOUT})",
    )
    parser.add_argument(
        "--real-leadlex", action="store_true", help="sync from the real API with LEADLEX_API_KEY"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    api_key = None
    if args.real_leadlex:
        api_key = os.environ.get("LEADLEX_API_KEY", "").strip()
        if not api_key:
            parser.error("--real-leadlex needs LEADLEX_API_KEY in the environment")

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    # The trigger's lines (when a returned message comes back) beside the function's.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger("relay_local").addHandler(handler)
    logging.getLogger("relay_local").setLevel(logging.INFO)
    relay = EmbeddedRelay(
        aws_port=args.port,
        leadlex_api_key=api_key,
        leadlex_base_url=os.environ.get("LEADLEX_API_BASE_URL") if api_key else None,
        # The real LeadLex cannot reach 127.0.0.1: webhooks in with the sandbox only.
        webhooks=api_key is None,
        visibility_timeout=args.visibility_timeout,
        sandbox_port=args.sandbox_port,
    )
    try:
        relay.start()
    except OSError as error:
        print(f"make local: {error}", file=sys.stderr)
        return 1
    try:
        _store_key_for_sam_local(relay)
        relay.write_state_file(args.state_file)
        _describe(relay, args)
        relay.trigger.start()
        relay.start_webhooks()
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        args.state_file.unlink(missing_ok=True)
        relay.stop()
    print("stopped", flush=True)
    return 0


def _store_key_for_sam_local(relay: EmbeddedRelay) -> None:
    """The function's key as a deployed function reads it: from Secrets Manager (moto's)."""
    secrets = relay.session().client("secretsmanager", endpoint_url=relay.endpoint_url)
    secrets.create_secret(Name=LOCAL_SECRET_NAME, SecretString=os.environ["LEADLEX_API_KEY"])


def _describe(relay: EmbeddedRelay, args: argparse.Namespace) -> None:
    stack = relay.stack
    lines = [
        f"AWS (moto)        {relay.endpoint_url}   region {stack.region}",
        f"contact queue     {stack.contact_queue_url}",
        f"dead letters      {stack.dead_letter_queue_url}",
        f"retries           a returned message is back after {args.visibility_timeout} s; "
        f"the dead-letter queue after {relay.trigger.max_receive_count()} receives",
        f"topic             {stack.topic_arn}",
        f"bus               {stack.bus_name}",
        f"table             {stack.table_name}",
        f"webhook endpoints {stack.outputs['WebhookEndpointTableName']}   "
        "(relay webhooks add http://127.0.0.1:PORT/…: local receivers allowed on this stack)",
        f"webhook deliveries {stack.outputs['WebhookDeliveryQueueUrl']}",
        *(f"subscriber {s.name:<6} {s.queue_url}  ({s.description})" for s in relay.subscribers),
    ]
    if args.real_leadlex:
        lines.append(f"LeadLex           {relay.leadlex_base_url} (real API, LEADLEX_API_KEY)")
    else:
        sandbox = relay.sandbox
        lines.append(f"LeadLex sandbox   {sandbox.base_url}   admin {sandbox.admin_url}/state")
        for _ in range(args.contacts):
            lines.append(f"sandbox contact   {sandbox.create_contact(activities=args.activities)}")
        lines += [
            f"webhook receiver  {relay.receiver.url}   (Function URL, registered with the sandbox)",
            "log an activity   .venv/bin/relay sandbox log <contact id> --type call"
            "   (its webhook brings it to the subscribers)",
        ]
    lines += [
        f"state file        {args.state_file} (the relay CLI reads it)",
        f"API key secret    {LOCAL_SECRET_NAME} (for sam local invoke --env-vars events/env.json)",
        "try               .venv/bin/relay tail   and, in another terminal,   "
        ".venv/bin/relay enqueue <contact id>",
        "Serving; Ctrl-C stops.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
