"""``relay state`` and ``relay reset``: what the relay remembers of a contact."""

from __future__ import annotations

import argparse
import json
from typing import IO

from activity_relay.core.model import parse_contact_id
from relay_cli.target import Target, UsageError


def _contact(value: str) -> str:
    try:
        return parse_contact_id(value)
    except ValueError as error:
        raise UsageError(f"not a contact id: {value!r} ({error})") from None


def run_state(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    contact_id = _contact(args.contact_id)
    state = target.state_store().load(contact_id)
    if state is None:
        if args.json:
            print(json.dumps({"contact_id": contact_id, "known": False}), file=out)
        else:
            print(f"{contact_id}: no sync state (never synced, not found, or reset)", file=out)
        return 0
    started = state.last_sync_started_at.isoformat() if state.last_sync_started_at else None
    summary = {
        "contact_id": contact_id,
        "known": True,
        "version": state.version,
        "activities_accounted": state.seen.total,
        # Counted but never read: history INITIAL_SYNC let its first sync skip.
        "activities_unread": state.seen.unread,
        "last_sync_started_at": started,
        "continuing": state.backfill is not None,
    }
    if args.json:
        print(json.dumps(summary), file=out)
    else:
        for key, value in summary.items():
            print(f"{key:<22} {value}", file=out)
    return 0


def run_reset(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    contact_id = _contact(args.contact_id)
    target.state_store().forget(contact_id)
    print(
        f"{contact_id}: sync state forgotten; its next sync is a first sync "
        "(INITIAL_SYNC applies; what is published again keeps its event ids)",
        file=out,
    )
    return 0
