"""The fingerprint: a bounded record of what was accounted for, able to name what was not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activity_relay.core.model.fingerprint import (
    MAX_BUCKETS,
    RECENT_LIMIT,
    SKETCH_SIZE,
    Fingerprint,
    SketchMismatch,
    SketchOverflow,
    id_hash,
)


def pairs(ids: list[str]) -> list[tuple[int, str]]:
    return [(id_hash(i), i) for i in ids]


@settings(max_examples=200, deadline=None)
@given(
    known=st.sets(st.text(min_size=1, max_size=12), max_size=150),
    extra=st.sets(st.text(min_size=1, max_size=12), max_size=SKETCH_SIZE),
)
def test_a_bucket_names_up_to_sketch_size_unaccounted_members(
    known: set[str], extra: set[str]
) -> None:
    extra -= known
    fingerprint = Fingerprint()
    fingerprint.add_all((i, 0) for i in known)
    bucket = fingerprint.buckets[0] if fingerprint.buckets else None
    if bucket is None:
        return
    assert sorted(bucket.missing(pairs(sorted(known | extra)))) == sorted(extra)


def test_too_many_unaccounted_members_overflow() -> None:
    fingerprint = Fingerprint()
    fingerprint.add_all((f"a{i}", 0) for i in range(10))
    current = [f"a{i}" for i in range(10)] + [f"b{i}" for i in range(SKETCH_SIZE + 1)]
    with pytest.raises(SketchOverflow):
        fingerprint.buckets[0].missing(pairs(current))


def test_members_that_vanished_are_a_mismatch() -> None:
    fingerprint = Fingerprint()
    fingerprint.add_all((f"a{i}", 0) for i in range(10))
    with pytest.raises(SketchMismatch):
        fingerprint.buckets[0].missing(pairs([f"a{i}" for i in range(9)]))
    with pytest.raises(SketchMismatch):
        fingerprint.buckets[0].missing(pairs([f"a{i}" for i in range(9)] + ["x", "y"]))


def test_buckets_split_history_by_date_and_stay_bounded() -> None:
    # Given 100,000 activities, one a minute
    fingerprint = Fingerprint()
    fingerprint.add_all((f"act_{i}", i * 60_000_000) for i in range(100_000))

    # Then buckets run newest first with strictly decreasing floors, and stay few and small
    floors = [bucket.floor for bucket in fingerprint.buckets]
    assert floors == sorted(floors, reverse=True)
    assert len(set(floors)) == len(floors)
    assert len(fingerprint.buckets) <= MAX_BUCKETS
    assert fingerprint.total == 100_000
    assert len(fingerprint.encode()) < 60_000
    assert fingerprint.bucket_index(0) == len(fingerprint.buckets) - 1


def test_equal_dates_never_straddle_two_buckets() -> None:
    fingerprint = Fingerprint()
    fingerprint.add_all((f"act_{i}", 5) for i in range(250))
    fingerprint.add_all([("later", 6)])
    assert [b.count for b in fingerprint.buckets] == [1, 250]


def test_the_recent_window_follows_the_head() -> None:
    hour = 3600 * 1_000_000
    fingerprint = Fingerprint()
    fingerprint.add_all([("old", 0), ("yesterday", 100 * hour)])
    assert fingerprint.recent_floor == 52 * hour
    stored = Fingerprint.decode(fingerprint.encode())
    assert stored.is_recent("yesterday")
    assert not stored.is_recent("old"), "what fell below the window is not kept"


def test_a_busy_recent_window_narrows_but_stays_exact() -> None:
    fingerprint = Fingerprint()
    fingerprint.add_all((f"act_{i}", i) for i in range(3 * RECENT_LIMIT))
    Fingerprint.decode(fingerprint.encode())
    assert fingerprint.recent_floor is not None
    assert len(fingerprint.recent) <= RECENT_LIMIT
    for i in range(3 * RECENT_LIMIT):
        if i >= fingerprint.recent_floor:
            assert fingerprint.is_recent(f"act_{i}")


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.integers(-(10**15), 10**15))))
def test_encoding_round_trips(items: list[tuple[str, int]]) -> None:
    fingerprint = Fingerprint()
    fingerprint.add_all(items)
    assert Fingerprint.decode(fingerprint.encode()) == fingerprint


def test_an_unknown_format_is_refused() -> None:
    data = bytearray(Fingerprint().encode())
    data[0] = 99
    with pytest.raises(ValueError, match="unknown fingerprint format"):
        Fingerprint.decode(bytes(data))


# --- History a first sync left unread (INITIAL_SYNC=none or a date) -----------------------------


def test_unread_history_is_counted_below_all_that_is_named() -> None:
    # Given the top of a list read (dates 50..149) and 900 older activities left unread
    fingerprint = Fingerprint()
    fingerprint.add_all((f"act_{i}", i) for i in range(50, 150))
    fingerprint.leave_unread(900, through=49)

    # Then they count towards the total, and every later date above them falls in a bucket
    assert fingerprint.total == 1_000
    assert fingerprint.buckets[-1].floor == 50
    assert fingerprint.bucket_index(50) is not None
    assert fingerprint.bucket_index(49) is None
    assert fingerprint.recent_floor is not None
    assert fingerprint.recent_floor > 49


def test_unread_history_with_nothing_named_still_sets_the_floor() -> None:
    # Given a first page whose activities all share one date: all of it is counted unread
    fingerprint = Fingerprint()
    fingerprint.leave_unread(250, through=7)

    decoded = Fingerprint.decode(fingerprint.encode())

    assert (decoded.total, decoded.unread_through, decoded.head) == (250, 7, None)
    assert decoded.recent_floor == 8


def test_read_history_joins_below_and_stays_bounded() -> None:
    # Given named top history and unread history, then read oldest first into its own record
    fingerprint = Fingerprint()
    fingerprint.add_all((f"top_{i}", 100_000 + i) for i in range(100))
    fingerprint.leave_unread(30_000, through=99_999)
    read = Fingerprint()
    read.add_all((f"old_{i}", i) for i in range(30_000))

    fingerprint.absorb_unread(read)

    assert (fingerprint.total, fingerprint.unread, fingerprint.unread_through) == (30_100, 0, None)
    assert len(fingerprint.buckets) <= MAX_BUCKETS
    floors = [bucket.floor for bucket in fingerprint.buckets]
    assert floors == sorted(floors, reverse=True)
    assert len(set(floors)) == len(floors)
    assert fingerprint.bucket_index(0) == len(fingerprint.buckets) - 1


def test_a_version_1_fingerprint_still_decodes_with_nothing_unread() -> None:
    fingerprint = Fingerprint()
    fingerprint.add_all([("a", 1), ("b", 2)])
    current = fingerprint.encode()
    # Version 1: the same layout without the (unread, unread_through) pair after the header
    version_1 = b"\x01" + current[1:21] + current[37:]

    decoded = Fingerprint.decode(version_1)

    assert decoded == fingerprint
    assert decoded.unread == 0
