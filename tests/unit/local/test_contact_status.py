"""`relay state`'s explanation, from a contact's record in the state table and the last quota
observation, without a stack: one status word, sentences without Python reprs, a JSON object
of fixed keys; and the CLI's exit status for work partly done."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activity_relay.adapters.dynamodb.codec import (
    DEFERRED_PARTITION,
    PACED,
    QUOTA_SPENT,
    RECONCILE_PARTITION,
    RELEASED,
)
from activity_relay.adapters.dynamodb.inspection import ContactRecord, Deferral
from activity_relay.core.model import Backfill, ContactState, Fingerprint
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.sync.ports import Lease
from relay_cli.contact_status import ContactStatus, describe, when
from relay_cli.exit_status import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, status_of

CONTACT = "1c919cb7-65f5-4454-b7d1-74c35c1c0da1"
NOW = datetime(2026, 12, 6, 6, 41, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 7, tzinfo=UTC)
NOTHING = ContactRecord(CONTACT, exists=False, state=None)
SYNCED = ContactRecord(
    CONTACT,
    exists=True,
    state=ContactState(
        CONTACT, Fingerprint(), version=3, last_sync_started_at=NOW - timedelta(hours=1)
    ),
    updated_at=NOW,
)


def text(status: ContactStatus) -> str:
    return "\n".join(f"{label}: {sentence}" for label, sentence in status.lines)


def deferred(partition: str, reason: str | None, until: datetime = MIDNIGHT) -> ContactRecord:
    deferral = Deferral(partition, until, asked_at=NOW - timedelta(minutes=5), reason=reason)
    return replace(SYNCED, deferral=deferral)


def continuing(**changes: Any) -> ContactRecord:
    backfill = Backfill(read_from_end=250, total=1000, first_sync=True, checkpointed_at=NOW)
    assert SYNCED.state is not None
    return replace(SYNCED, state=replace(SYNCED.state, backfill=replace(backfill, **changes)))


# --- the status and its sentences ------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "status", "says"),
    [
        (NOTHING, "never_synced", "the state table holds nothing for it"),
        (
            replace(NOTHING, exists=True, reset_at=NOW),
            "reset",
            "its state was reset at 2026-12-06T06:41:00Z (now); its next sync is a first sync",
        ),
        (replace(SYNCED, not_found_at=NOW - timedelta(hours=2)), "not_found", "answered 404"),
        (SYNCED, "synced", "0 activities published or accounted for"),
        (
            deferred(DEFERRED_PARTITION, QUOTA_SPENT),
            "deferred",
            "LeadLex's daily quota ran out at 2026-12-06T06:36:00Z (5m ago): deferred until the "
            "reset at 2026-12-07T00:00:00Z (in 17h19m)",
        ),
        (
            deferred(DEFERRED_PARTITION, QUOTA_SPENT, until=NOW - timedelta(minutes=1)),
            "deferred",
            "due now: the sweep enqueues it as the quota allows",
        ),
        (
            deferred(DEFERRED_PARTITION, PACED, until=NOW - timedelta(minutes=5)),
            "waiting",
            "waiting for the paced daily budget since 2026-12-06T06:36:00Z (5m ago)",
        ),
        (
            deferred(DEFERRED_PARTITION, RELEASED, until=NOW + timedelta(hours=2)),
            "released",
            "the sweep has put it on the contact queue",
        ),
        (deferred(RECONCILE_PARTITION, None), "reconciling", "a webhook carried its activities"),
        (deferred(RECONCILE_PARTITION, RELEASED), "released", "enqueued again at"),
        (deferred(DEFERRED_PARTITION, None), "deferred", "why (the spent quota or the paced"),
        (continuing(), "continuing", "250 of 1000 activities read, oldest first, about 750"),
    ],
)
def test_each_record_gets_its_status_and_says_why(
    record: ContactRecord, status: str, says: str
) -> None:
    described = describe(record, None, NOW)

    assert described.status == status
    assert says in text(described)
    assert described.document["status"] == status
    for repr_ in ("None", "True", "False"):
        assert repr_ not in text(described)


def test_a_sync_running_now_comes_first_and_an_expired_lease_is_no_sync() -> None:
    lease = Lease("sync-1", NOW - timedelta(minutes=1), NOW + timedelta(minutes=9))
    running = describe(replace(deferred(DEFERRED_PARTITION, PACED), lease=lease), None, NOW)
    expired = replace(lease, expires_at=NOW - timedelta(seconds=30))
    stale = describe(replace(SYNCED, lease=expired), None, NOW)

    assert running.status == "syncing"
    assert [label for label, _ in running.lines][:2] == ["syncing", "waiting"]
    assert "holds the contact until 2026-12-06T06:50:00Z (in 9m) at the latest" in text(running)
    assert stale.status == "synced"
    assert "ended without releasing the contact" in text(stale)
    assert stale.document["sync_running"]["expired"] is True


@pytest.mark.parametrize(
    ("backfill", "says"),
    [
        (
            {"unread_until": 400, "read_from_end": 100},
            "reading the history its first sync left unread: 100 of 400 read, oldest first, "
            "about 300 (3 page(s)) left",
        ),
        ({"scanned_to": 600, "total": None}, "looking down from the newest activity"),
        ({"total": None, "read_from_end": 0}, "not yet checkpointed"),
        ({"parked": True}, "stopped by the spent daily quota"),
        ({}, "a continuation on the contact queue carries it on"),
        ({"first_sync": False}, "a sync continues over several invocations"),
    ],
)
def test_a_continuing_sync_says_how_far_it_got(backfill: dict[str, Any], says: str) -> None:
    assert says in text(describe(continuing(**backfill), None, NOW))


def test_the_quota_says_used_left_and_when_it_resets() -> None:
    snapshot = QuotaSnapshot(limit=1000, remaining=120, resets_at=MIDNIGHT, observed_at=NOW)

    today = describe(SYNCED, snapshot, NOW)
    unreported = describe(SYNCED, replace(snapshot, limit=None), NOW)
    next_day = describe(SYNCED, snapshot, MIDNIGHT + timedelta(hours=1))

    assert (
        "880 of 1000 requests used today, 120 left; resets at 2026-12-07T00:00:00Z (in 17h19m)"
        in text(today)
    )
    assert today.document["quota"] == {
        "limit": 1000,
        "used": 880,
        "remaining": 120,
        "resets_at": "2026-12-07T00:00:00+00:00",
        "observed_at": "2026-12-06T06:41:00+00:00",
    }
    assert "(the limit was not reported) requests used today, 120 left" in text(unreported)
    assert unreported.document["quota"]["used"] is None
    assert "a new day's quota of 1000 requests is available" in text(next_day)


def test_the_json_object_has_the_same_keys_whatever_is_known() -> None:
    lease = Lease("sync-1", NOW, NOW + timedelta(minutes=9))
    full = replace(
        continuing(), deferral=deferred(DEFERRED_PARTITION, QUOTA_SPENT).deferral, lease=lease
    )
    snapshot = QuotaSnapshot(limit=10, remaining=1, resets_at=MIDNIGHT, observed_at=NOW)

    empty = describe(NOTHING, None, NOW).document
    filled = describe(full, snapshot, NOW).document

    assert set(empty) == set(filled)
    assert json.loads(json.dumps(filled)) == filled
    assert (empty["known"], empty["continuing"], empty["quota"]) == (False, False, None)
    assert filled["deferral"] == {
        "reason": "quota",
        "until": "2026-12-07T00:00:00+00:00",
        "asked_at": "2026-12-06T06:36:00+00:00",
    }
    assert filled["continuation"]["total"] == 1000


def test_the_last_failure_is_shown_and_counts_until_a_sync_ends_after_it() -> None:
    failed = replace(SYNCED, last_error="TransientSourceError: 503", last_error_at=NOW)
    first_failed = replace(NOTHING, exists=True, last_error="boom", last_error_at=NOW)
    recovered = replace(failed, last_error_at=NOW - timedelta(hours=2))

    failing, never, later = (describe(r, None, NOW) for r in (failed, first_failed, recovered))

    assert failing.status == "failing"
    assert failing.lines[0] == (
        "last error",
        "at 2026-12-06T06:41:00Z (now): TransientSourceError: 503; no sync has succeeded since "
        "(its message is retried; after MaxReceiveCount receives `relay dlq list` shows it)",
    )
    assert failing.document["last_error"] == {
        "at": "2026-12-06T06:41:00+00:00",
        "message": "TransientSourceError: 503",
        "failing": True,
    }
    assert never.status == "failing"
    assert "no sync has saved its state yet" in text(never)
    assert later.status == "synced"
    assert "a later sync ended without failing" in text(later)
    assert "no failed sync recorded" in text(describe(SYNCED, None, NOW))


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        (NOW, "2026-12-06T06:41:00Z (now)"),
        (NOW + timedelta(days=2, hours=3), "2026-12-08T09:41:00Z (in 2d3h)"),
        (NOW - timedelta(seconds=42), "2026-12-06T06:40:18Z (42s ago)"),
    ],
)
def test_moments_are_shown_in_utc_with_how_far_from_now(moment: datetime, said: str) -> None:
    assert when(moment, NOW) == said


# --- exit status -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "failed", "status"),
    [(0, 0, EXIT_OK), (5, 0, EXIT_OK), (4, 1, EXIT_PARTIAL), (0, 3, EXIT_USAGE)],
)
def test_the_exit_status_says_whether_anything_was_done(
    done: int, failed: int, status: int
) -> None:
    assert status_of(done, failed) == status
