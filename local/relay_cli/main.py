"""``relay``: operate the relay, on the local stack or on AWS.

    relay enqueue ID... | --file ids.txt | < ids.txt    push contact ids to the contact queue
    relay tail [topic|bus|QUEUE_URL]                    print events arriving at a subscriber
    relay state CONTACT_ID / relay reset CONTACT_ID     show / forget a contact's sync state
    relay dlq list / relay dlq redrive                  inspect / replay the dead-letter queue
    relay webhooks add URL / list / show ID / test ID   HTTPS endpoints receiving signed events
    relay leadlex register-webhook [--url URL]          subscribe the receiver to LeadLex

Where the stack is, first found wins: flags (``--queue-url``, ``--dlq-url``, ``--table-name``,
``--endpoint-url``, ``--region``); the environment (``RELAY_CONTACT_QUEUE_URL``,
``RELAY_DEAD_LETTER_QUEUE_URL``, ``RELAY_TABLE_NAME``, ``RELAY_ENDPOINT_URL`` or
``AWS_ENDPOINT_URL``); the Outputs of the CloudFormation stack named by ``--stack-name`` or
``RELAY_STACK_NAME``; the state file a running ``make local`` writes (``.relay-local.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError

from relay_cli.commands import dlq, enqueue, leadlex, state, tail, webhooks
from relay_cli.target import STATE_FILE, UsageError, error_text, resolve_target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relay", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint-url", help="AWS endpoint, e.g. the local stack's")
    parser.add_argument("--region")
    parser.add_argument("--stack-name", help="read names from this CloudFormation stack's Outputs")
    parser.add_argument("--state-file", help=f"the local stack's (default {STATE_FILE.name})")
    parser.add_argument("--queue-url", help="the contact queue")
    parser.add_argument("--dlq-url", help="the dead-letter queue")
    parser.add_argument("--table-name", help="the watermark table")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enqueue_ = commands.add_parser("enqueue", help="send contact ids to the contact queue")
    enqueue_.add_argument("ids", nargs="*", metavar="CONTACT_ID")
    enqueue_.add_argument(
        "--file", "-f", action="append", help="ids one per line ('-' for stdin); repeatable"
    )
    enqueue_.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"progress bar (default: on a terminal, from {enqueue.PROGRESS_THRESHOLD} ids)",
    )
    enqueue_.set_defaults(run=enqueue.run)

    tail_parser = commands.add_parser(
        "tail", help="print events as they arrive at a subscriber queue"
    )
    tail_parser.add_argument(
        "subscriber", nargs="?", help="topic, bus (local stack) or a queue URL"
    )
    tail_parser.add_argument("--count", "-n", type=int, help="stop after this many events")
    tail_parser.add_argument(
        "--idle", type=float, help="stop after this many seconds without events"
    )
    tail_parser.add_argument("--json", action="store_true", help="one JSON document per line")
    tail_parser.set_defaults(run=tail.run)

    state_parser = commands.add_parser("state", help="show a contact's sync state")
    state_parser.add_argument("contact_id")
    state_parser.add_argument("--json", action="store_true")
    state_parser.set_defaults(run=state.run_state)

    reset_parser = commands.add_parser("reset", help="forget a contact's sync state")
    reset_parser.add_argument("contact_id")
    reset_parser.set_defaults(run=state.run_reset)

    dlq_parser = commands.add_parser("dlq", help="the dead-letter queue")
    dlq_commands = dlq_parser.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    dlq_list = dlq_commands.add_parser("list", help="show what is there (and leave it)")
    dlq_list.add_argument("--max", type=int, default=100)
    dlq_list.add_argument("--json", action="store_true")
    dlq_list.set_defaults(run=dlq.run_list)
    redrive = dlq_commands.add_parser("redrive", help="send dead letters back to the queue")
    redrive.add_argument("--max", type=int, default=1000)
    redrive.add_argument(
        "--include-rejected", action="store_true", help="also messages rejected as unreadable"
    )
    redrive.set_defaults(run=dlq.run_redrive)

    webhooks.add_parser(commands)
    leadlex.add_parser(commands)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        target = resolve_target(args, os.environ if env is None else env)
        status: int = args.run(args, target, out, err)
    except UsageError as error:
        print(f"relay: {error}", file=err)
        return 2
    except ClientError as error:
        print(f"relay: AWS said {error_text(error)}", file=err)
        return 2
    except BotoCoreError as error:
        print(f"relay: {error}", file=err)
        return 2
    except BrokenPipeError:
        # The reader went away (`relay tail | head`): stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - must outlive this frame
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
