"""relay: operate the relay, on the local stack or on AWS.

    relay enqueue ID... | --file ids.txt | < ids.txt    push contact ids to the contact queue
    relay tail [topic|bus|QUEUE_URL]                    print events as they are published
    relay state CONTACT_ID / relay reset CONTACT_ID     show / forget a contact's sync state
    relay events show EVENT_ID / list --contact ID      one event's publication and deliveries
    relay dlq list / redrive / purge                    inspect / replay / empty the DLQ
    relay webhooks add URL / list / show ID / test ID   HTTPS endpoints receiving signed events
    relay webhooks listen [--forward-to URL]            watch deliveries on this machine (local)
    relay leadlex register-webhook [--url URL]          subscribe the receiver to LeadLex
    relay sandbox log CONTACT_ID / fault … / contacts   drive the local stack's LeadLex sandbox

Where the stack is, first found wins: the options below; the environment
(RELAY_CONTACT_QUEUE_URL, RELAY_DEAD_LETTER_QUEUE_URL, RELAY_TABLE_NAME, RELAY_ENDPOINT_URL or
AWS_ENDPOINT_URL); the Outputs of the CloudFormation stack named by --stack-name or
RELAY_STACK_NAME; the state file a running `make local` writes (.relay-local.json). The local
stack is reached in the region its state file records, whatever AWS_REGION says. On AWS the
region is --region, AWS_REGION or the profile's (--profile or AWS_PROFILE; `aws configure` sets
one up). These options are accepted before or after the sub-command, and apply to every one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import IO, Final

from botocore.exceptions import BotoCoreError, ClientError

from relay_cli.commands import dlq, enqueue, events, leadlex, sandbox, state, tail, webhooks
from relay_cli.exit_status import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from relay_cli.help_text import (
    PARTLY_DONE,
    SEE_STACK_OPTIONS,
    STACK_OPTIONS_TITLE,
    PlainFormatter,
    exit_statuses,
)
from relay_cli.target import STATE_FILE, Target, UsageError, explain, resolve_target

__all__ = ["EXIT_CODES", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "build_parser", "main"]

EXIT_CODES: Final = exit_statuses(PARTLY_DONE["relay"])
"""Every exit status any command ends with; each sub-command's help shows its own."""

_STACK_OPTIONS: Final = (
    ("--endpoint-url", "AWS endpoint, e.g. the local stack's"),
    ("--region", "AWS region (default: the local stack's, else AWS_REGION or the profile's)"),
    ("--profile", "AWS profile for credentials and region (or AWS_PROFILE)"),
    ("--stack-name", "read names from this CloudFormation stack's Outputs (or RELAY_STACK_NAME)"),
    ("--state-file", f"the local stack's (default {STATE_FILE.name})"),
    ("--queue-url", "the contact queue (or RELAY_CONTACT_QUEUE_URL)"),
    ("--dlq-url", "the dead-letter queue (or RELAY_DEAD_LETTER_QUEUE_URL)"),
    ("--table-name", "the watermark table (or RELAY_TABLE_NAME)"),
)


def _add_global_options(parser: argparse.ArgumentParser, *, documented: bool) -> None:
    """Where the stack is: documented once, on `relay` itself. Every sub-command accepts them
    too, undocumented and with default=SUPPRESS, so that an option given before the
    sub-command is not overwritten by the sub-command's absent one."""
    group = parser.add_argument_group(STACK_OPTIONS_TITLE) if documented else parser
    for flag, text in _STACK_OPTIONS:
        group.add_argument(
            flag,
            default=None if documented else argparse.SUPPRESS,
            help=text if documented else argparse.SUPPRESS,
        )


def _sub_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every sub-command's parser below ``parser``, each once (aliases share one)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if all(sub is not known for known in found):
                    found.append(sub)
                    found.extend(_sub_parsers(sub))
    return found


def _version() -> str:
    try:
        return metadata.version("leadlex-relay-dev")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relay",
        description=__doc__,
        epilog=EXIT_CODES,
        formatter_class=PlainFormatter,
    )
    parser.add_argument("--version", action="version", version=f"relay {_version()}")
    _add_global_options(parser, documented=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enqueue_ = commands.add_parser(
        "enqueue",
        help="send contact ids to the contact queue",
        description=enqueue.__doc__,
    )
    enqueue_.add_argument(
        "ids", nargs="*", metavar="CONTACT_ID", help="contact UUIDs (else --file or stdin)"
    )
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

    tail.add_parser(commands)

    state.add_parser(commands)

    dlq_parser = commands.add_parser("dlq", help="the dead-letter queue: list, redrive, purge")
    dlq_commands = dlq_parser.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    dlq_list = dlq_commands.add_parser(
        "list", help="show what is there, with the original message id and why (and leave it)"
    )
    dlq_list.add_argument("--max", type=int, default=100, help="at most this many (default 100)")
    dlq_list.add_argument("--json", action="store_true", help="one JSON object per dead letter")
    dlq_list.set_defaults(run=dlq.run_list)
    redrive = dlq_commands.add_parser("redrive", help="send dead letters back to the queue")
    redrive.add_argument("--max", type=int, default=1000, help="at most this many (default 1000)")
    redrive.add_argument(
        "--include-rejected", action="store_true", help="also messages rejected as unreadable"
    )
    redrive.set_defaults(run=dlq.run_redrive)

    webhooks.add_parser(commands)
    leadlex.add_parser(commands)
    sandbox.add_parser(commands)
    events.add_parser(commands)
    purge = dlq_commands.add_parser(
        "purge", help="delete every dead letter (asks first; --yes for scripts)"
    )
    purge.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(run=dlq.run_purge)

    # Last, so that every sub-command (whoever added it) takes the global options too.
    for sub in _sub_parsers(parser):
        _add_global_options(sub, documented=False)
        sub.epilog = (
            f"{sub.epilog or exit_statuses(PARTLY_DONE.get(sub.prog))}\n{SEE_STACK_OPTIONS}"
        )
        sub.formatter_class = PlainFormatter
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
    target: Target | None = None
    try:
        target = resolve_target(args, os.environ if env is None else env)
        status: int = args.run(args, target, out, err)
    except UsageError as error:
        return _fail(args, err, str(error))
    except (ClientError, BotoCoreError) as error:
        return _fail(args, err, explain(error, target))
    except BrokenPipeError:
        # The reader went away (`relay tail | head`): stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - must outlive this frame
        return 0
    return status


def _fail(args: argparse.Namespace, err: IO[str], message: str) -> int:
    """One line on stderr; a JSON object there too when --json asked for JSON."""
    if getattr(args, "json", False):
        print(json.dumps({"error": message}), file=err)
    else:
        print(f"relay: {message}", file=err)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
