"""Why a contact is where it is, in plain words (`relay state`): a contact's record in the state
table and the last quota observation turned into one status word, sentences for people and a
JSON object of fixed keys for programs (docs/cli.md lists them). Pure: no I/O, no clock.

What the table does not record is said so rather than guessed: why an item written before the
deferral reason was recorded waits, and failures before the last one (the function's log has
them all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from activity_relay.adapters.dynamodb.codec import (
    PACED,
    QUOTA_SPENT,
    RECONCILE_PARTITION,
    RELEASED,
)
from activity_relay.adapters.dynamodb.inspection import ContactRecord, Deferral
from activity_relay.core.model import Backfill
from activity_relay.core.quota.ports import QuotaSnapshot

PAGE: Final = 100
"""Activities in one LeadLex page: a continuing sync reads (and checkpoints) one at a time."""

NO_FAILURE: Final = "no failed sync recorded"


@dataclass(frozen=True, slots=True)
class ContactStatus:
    status: str
    """One word: syncing, deferred, waiting, released, reconciling, continuing, failing,
    not_found, synced, reset or never_synced (the first that applies, in that order)."""
    lines: list[tuple[str, str]]
    """(label, sentence) for people, most telling first."""
    document: dict[str, Any]
    """For --json: always the same keys, null where nothing applies."""


def when(moment: datetime, now: datetime) -> str:
    """`2026-12-07T00:00:00Z (in 17h19m)`: the moment in UTC, and how far from now (without
    spaces, so that a wrapped line never splits one)."""
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    seconds = (moment - now).total_seconds()
    span = _span(abs(seconds))
    if span == "0s":
        return f"{stamp} (now)"
    return f"{stamp} (in {span})" if seconds > 0 else f"{stamp} ({span} ago)"


def _span(seconds: float) -> str:
    minutes, whole = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m" if minutes else f"{whole}s"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def describe(record: ContactRecord, quota: QuotaSnapshot | None, now: datetime) -> ContactStatus:
    lines: list[tuple[str, str]] = []
    statuses: list[str] = []
    state = record.state
    if record.lease is not None:
        lines.append(("syncing", _lease(record, now)))
        if record.lease.expires_at > now:
            statuses.append("syncing")
    if record.deferral is not None:
        status, sentence = _deferral(record.deferral, now)
        statuses.append(status)
        lines.append((status, sentence))
    if state is not None and state.backfill is not None:
        statuses.append("continuing")
        lines.append(("continuing", _backfill(state.backfill, now)))
    if _failing(record):
        statuses.append("failing")
        lines.append(_failure(record, now))
    if record.not_found_at is not None:
        statuses.append("not_found")
        lines.append(
            (
                "not found",
                f"LeadLex answered 404 (no such contact) at {when(record.not_found_at, now)}; "
                "not retried: enqueue it again once it exists",
            )
        )
    if state is not None:
        statuses.append("synced")
        lines.append(("published", _synced(record, now)))
    if record.reset_at is not None:
        statuses.append("reset")
        after = " (it has synced since)" if state is not None else "; its next sync is a first sync"
        lines.append(("reset", f"its state was reset at {when(record.reset_at, now)}{after}"))
    if state is None and record.reset_at is None and record.not_found_at is None:
        never = (
            "no sync has saved its state yet"
            if record.exists
            else "the state table holds nothing for it: no sync has saved its state, and "
            "LeadLex has never answered 404 for it"
        )
        lines.append(("never synced", never))
    if not _failing(record):
        lines.append(_failure(record, now))
    if quota is not None:
        lines.append(("quota", _quota(quota, now)))
    status = statuses[0] if statuses else "never_synced"
    return ContactStatus(status, lines, _document(record, quota, now, status, lines))


def _failure(record: ContactRecord, now: datetime) -> tuple[str, str]:
    if record.last_error is None or record.last_error_at is None:
        return "last error", NO_FAILURE
    since = (
        "no sync has succeeded since (its message is retried; after MaxReceiveCount receives "
        "`relay dlq list` shows it)"
        if _failing(record)
        else "a later sync ended without failing"
    )
    return "last error", f"at {when(record.last_error_at, now)}: {record.last_error}; {since}"


def _failing(record: ContactRecord) -> bool:
    """Whether the last failure is the latest news: no save and no 404 since."""
    if record.last_error_at is None:
        return False
    started = record.state.last_sync_started_at if record.state else None
    later = [m for m in (started, record.not_found_at) if m is not None]
    return all(moment < record.last_error_at for moment in later)


def _lease(record: ContactRecord, now: datetime) -> str:
    lease = record.lease
    assert lease is not None
    if lease.expires_at > now:
        return (
            f"a sync is running now: began {when(lease.taken_at, now)}, holds the contact "
            f"until {when(lease.expires_at, now)} at the latest"
        )
    return (
        f"a sync that began {when(lease.taken_at, now)} ended without releasing the contact "
        f"(failed or cut off at {when(lease.expires_at, now)}); the next sync may start"
    )


def _deferral(deferral: Deferral, now: datetime) -> tuple[str, str]:
    asked = f" at {when(deferral.asked_at, now)}" if deferral.asked_at else ""
    until = when(deferral.until, now)
    if deferral.reason == RELEASED:
        return "released", (
            "the sweep has put it on the contact queue; should no sync succeed, it is enqueued "
            f"again at {until}"
        )
    if deferral.partition == RECONCILE_PARTITION:
        return "reconciling", (
            "a webhook carried its activities, already published; a poll proving nothing was "
            f"missed is due from {until}"
        )
    if deferral.reason == PACED:
        return "waiting", (
            f"waiting for the paced daily budget since {until}; the sweep releases waiting "
            "contacts every minute, longest-waiting first, as the budget allows"
        )
    due = "" if deferral.until > now else "; due now: the sweep enqueues it as the quota allows"
    if deferral.reason == QUOTA_SPENT:
        return "deferred", (
            f"LeadLex's daily quota ran out{asked}: deferred until the reset at {until}, "
            f"when the sweep enqueues it{due}"
        )
    return "deferred", (
        f"deferred until {until}{due}; why (the spent quota or the paced budget) is not "
        "recorded on items written before the relay recorded it"
    )


def _backfill(backfill: Backfill, now: datetime) -> str:
    what = "its first sync" if backfill.first_sync else "a sync"
    if backfill.unread_until is not None:
        left: int | None = max(0, backfill.unread_until - backfill.read_from_end)
        progress = (
            f"reading the history its first sync left unread: {backfill.read_from_end} of "
            f"{backfill.unread_until} read, oldest first"
        )
    elif backfill.scanned_to is not None:
        left = None
        progress = (
            "looking down from the newest activity for INITIAL_SYNC's date: "
            f"{backfill.scanned_to} activities scanned from the oldest end"
        )
    elif backfill.total is not None:
        left = max(0, backfill.total - backfill.read_from_end)
        progress = f"{backfill.read_from_end} of {backfill.total} activities read, oldest first"
    else:
        left, progress = None, "not yet checkpointed"
    remaining = f", about {left} ({math.ceil(left / PAGE)} page(s)) left" if left else ""
    resumes = (
        "stopped by the spent daily quota: the contact's next message (the sweep's, after the "
        "reset) resumes it"
        if backfill.parked
        else "a continuation on the contact queue carries it on"
    )
    return (
        f"{what} continues over several invocations: {progress}{remaining}; last checkpoint "
        f"{when(backfill.checkpointed_at, now)}; {resumes}"
    )


def _synced(record: ContactRecord, now: datetime) -> str:
    state = record.state
    assert state is not None
    unread = (
        f" ({state.seen.unread} of them older history INITIAL_SYNC let it skip)"
        if state.seen.unread
        else ""
    )
    started = (
        f"; last sync started {when(state.last_sync_started_at, now)}"
        if state.last_sync_started_at
        else ""
    )
    saved = f", saved {when(record.updated_at, now)}" if record.updated_at else ""
    return f"{state.seen.total} activities published or accounted for{unread}{started}{saved}"


def _quota(quota: QuotaSnapshot, now: datetime) -> str:
    observed = f"as LeadLex reported it at {when(quota.observed_at, now)}"
    if now >= quota.resets_at:
        return (
            f"the day observed ended at {when(quota.resets_at, now)}: a new day's quota"
            f"{f' of {quota.limit} requests' if quota.limit is not None else ''} is available"
            f"; {observed}"
        )
    used = (
        f"{quota.limit - quota.remaining} of {quota.limit}"
        if quota.limit is not None
        else "(the limit was not reported)"
    )
    return (
        f"{used} requests used today, {quota.remaining} left; resets at "
        f"{when(quota.resets_at, now)}; {observed}"
    )


def _reason(deferral: Deferral) -> str:
    """The deferral's reason for programs: quota, paced, released, reconcile or unknown."""
    if deferral.reason == RELEASED:
        return RELEASED
    if deferral.partition == RECONCILE_PARTITION:
        return "reconcile"
    return deferral.reason or "unknown"


def _document(
    record: ContactRecord,
    quota: QuotaSnapshot | None,
    now: datetime,
    status: str,
    lines: list[tuple[str, str]],
) -> dict[str, Any]:
    state, backfill = record.state, record.state.backfill if record.state else None
    deferral, lease = record.deferral, record.lease
    return {
        "contact_id": record.contact_id,
        "status": status,
        "why": [f"{label}: {sentence}" for label, sentence in lines],
        "known": state is not None,
        "version": state.version if state else None,
        "activities_accounted": state.seen.total if state else None,
        "activities_unread": state.seen.unread if state else None,
        "last_sync_started_at": _iso(state.last_sync_started_at) if state else None,
        "updated_at": _iso(record.updated_at),
        "continuing": backfill is not None,
        "continuation": None
        if backfill is None
        else {
            "first_sync": backfill.first_sync,
            "read_from_end": backfill.read_from_end,
            "total": backfill.total,
            "unread_until": backfill.unread_until,
            "scanned_to": backfill.scanned_to,
            "parked": backfill.parked,
            "checkpointed_at": _iso(backfill.checkpointed_at),
        },
        "not_found_at": _iso(record.not_found_at),
        "reset_at": _iso(record.reset_at),
        "deferral": None
        if deferral is None
        else {
            "reason": _reason(deferral),
            "until": _iso(deferral.until),
            "asked_at": _iso(deferral.asked_at),
        },
        "sync_running": None
        if lease is None
        else {
            "began_at": _iso(lease.taken_at),
            "expires_at": _iso(lease.expires_at),
            "expired": lease.expires_at <= now,
        },
        "last_error": None
        if record.last_error is None
        else {
            "at": _iso(record.last_error_at),
            "message": record.last_error,
            "failing": _failing(record),
        },
        "quota": None
        if quota is None
        else {
            "limit": quota.limit,
            "used": quota.limit - quota.remaining if quota.limit is not None else None,
            "remaining": quota.remaining,
            "resets_at": _iso(quota.resets_at),
            "observed_at": _iso(quota.observed_at),
        },
    }
