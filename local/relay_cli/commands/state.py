"""``relay state`` and ``relay reset``: what the relay remembers of a contact, and why it is
where it is."""

from __future__ import annotations

import argparse
import json
import textwrap
from datetime import UTC, datetime
from typing import IO

from activity_relay.core.model import parse_contact_id
from relay_cli.confirm import confirmed
from relay_cli.exit_status import EXIT_OK, EXIT_USAGE
from relay_cli.target import Target, UsageError

STATE_HELP = """\
Why a contact is where it is: never synced, not found at LeadLex, deferred by the
spent quota, waiting for the paced budget, continuing a long sync, failing, being
synced now, or synced; with today's LeadLex quota. --json: one object of fixed keys
(docs/cli.md)."""

RESET_HELP = """\
Forget a contact's sync state: its next sync is a first sync, which (under
INITIAL_SYNC=all, the default) publishes its whole history again to every subscriber
and webhook endpoint, under the same event ids. Asks first; --yes for scripts."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    state = commands.add_parser(
        "state", help="why a contact is where it is", description=STATE_HELP
    )
    state.add_argument("contact_id", help="the contact's UUID")
    state.add_argument("--json", action="store_true", help="one JSON object (docs/cli.md)")
    state.set_defaults(run=run_state)

    reset = commands.add_parser(
        "reset", help="forget a contact's sync state (asks first)", description=RESET_HELP
    )
    reset.add_argument("contact_id", help="the contact's UUID")
    reset.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(run=run_reset)


def _contact(value: str) -> str:
    try:
        return parse_contact_id(value)
    except ValueError as error:
        raise UsageError(f"not a contact id: {value!r} ({error})") from None


def run_state(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    # Here, not at the top: every other command's start-up would pay for them.
    from activity_relay.adapters.dynamodb.deferrals import DynamoDbDeferrals
    from activity_relay.adapters.dynamodb.inspection import DynamoDbContactRecords
    from relay_cli.contact_status import describe

    contact_id = _contact(args.contact_id)
    table = target.output("TableName")
    client = target.dynamodb()
    record = DynamoDbContactRecords(client, table).record(contact_id)
    quota = DynamoDbDeferrals(client, table).load_quota()
    status = describe(record, quota, datetime.now(UTC))
    if args.json:
        print(json.dumps(status.document), file=out)
        return EXIT_OK
    print(f"{contact_id}  {status.status.replace('_', ' ')}", file=out)
    for label, sentence in status.lines:
        print(
            textwrap.fill(
                sentence,
                width=100,
                initial_indent=f"  {label:<14}",
                subsequent_indent=" " * 16,
                break_on_hyphens=False,
            ),
            file=out,
        )
    return EXIT_OK


def run_reset(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    contact_id = _contact(args.contact_id)
    store = target.state_store()
    state = store.load(contact_id)
    if state is None:
        print(f"{contact_id}: no sync state to forget (its next sync is a first sync)", file=out)
        return EXIT_OK
    republished = (
        f"its whole history ({state.seen.total} activities known)"
        if state.seen.total
        else "its whole history"
    )
    question = (
        f"Forget the sync state of {contact_id}? Its next sync is a first sync: under "
        f"INITIAL_SYNC=all (the default) it publishes {republished} again to every subscriber "
        "of the topic and the bus and to every webhook endpoint (same event ids)."
    )
    if not confirmed(
        question,
        yes=args.yes,
        without_terminal=(
            f"reset publishes {republished} of {contact_id} again to every subscriber: "
            "confirm with --yes (there is no terminal to ask at)"
        ),
        err=err,
    ):
        print(f"{contact_id}: nothing reset", file=out)
        return EXIT_USAGE
    store.forget(contact_id)
    print(
        f"{contact_id}: sync state forgotten; its next sync is a first sync "
        "(INITIAL_SYNC applies; what is published again keeps its event ids)",
        file=out,
    )
    return EXIT_OK
