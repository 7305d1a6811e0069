"""Syncs running at the same time share their batch calls (core/sync/packing.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from activity_relay.core.model import Activity, ActivityEvent
from activity_relay.core.sync.packing import PackingPublisher
from activity_relay.core.sync.ports import PublishFailed
from relay_local.fakes.sync import RecordingPublisher, at


def events(contact: int, count: int) -> list[ActivityEvent]:
    contact_id = f"00000000-0000-4000-8000-{contact:012d}"
    return [
        ActivityEvent(
            contact_id,
            Activity.from_api({"id": f"act_{contact}_{n}", "created_date": at(n)}),
        )
        for n in range(count)
    ]


def run_syncs(
    packer: PackingPublisher, work: Sequence[Callable[[], None]]
) -> list[BaseException | None]:
    """Each callable in its own thread, inside running(), all registered before any starts."""
    registered = threading.Barrier(len(work))
    outcomes: list[BaseException | None] = [None] * len(work)

    def sync(index: int) -> None:
        with packer.running():
            registered.wait()
            try:
                work[index]()
            except BaseException as error:  # collected for the assertions
                outcomes[index] = error

    threads = [threading.Thread(target=sync, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return outcomes


def publish_beside_a_sync_that_waits_for_it(
    packer: PackingPublisher, batch: list[ActivityEvent]
) -> tuple[list[BaseException | None], threading.Event]:
    """Two syncs: one publishing `batch`, and one still running (reading LeadLex, say) until
    that publish is out, or for 5 s at most. Their outcomes, and whether the publish is out."""
    published = threading.Event()

    def publishing() -> None:
        packer.publish(batch)
        published.set()

    def running_until_published() -> None:
        published.wait(timeout=5)

    return run_syncs(packer, [publishing, running_until_published]), published


def test_ten_syncs_with_one_new_activity_each_share_one_call() -> None:
    # Given ten syncs running at once, each with one event to publish
    inner = RecordingPublisher()
    packer = PackingPublisher(inner, window=5.0)
    batches = [events(contact, 1) for contact in range(10)]

    # When they publish
    outcomes = run_syncs(packer, [lambda b=b: packer.publish(b) for b in batches])

    # Then one inner call carries all ten, each sync's events together and in order
    assert outcomes == [None] * 10
    assert len(inner.calls) == 1
    assert sorted(e.event_id for e in inner.calls[0]) == sorted(b[0].event_id for b in batches)


def test_a_sync_that_ends_without_publishing_does_not_hold_the_others() -> None:
    inner = RecordingPublisher()
    packer = PackingPublisher(inner, window=5.0)
    started = time.monotonic()

    outcomes = run_syncs(packer, [lambda: packer.publish(events(1, 2)), lambda: None])

    assert outcomes == [None, None]
    assert [len(call) for call in inner.calls] == [2]
    assert time.monotonic() - started < 2.5, "waited for a sync that had nothing to publish"


def test_a_lone_sync_or_a_full_call_never_waits() -> None:
    # Given a packer that would hold a publish for 5 s
    inner = RecordingPublisher()
    packer = PackingPublisher(inner, window=5.0)
    started = time.monotonic()

    # When the only sync running publishes
    with packer.running():
        packer.publish(events(1, 3))

    # And a sync publishes a call's worth while another is still running: one that ends
    # only once that publish is out (or after 5 s, the window, had the publish waited)
    outcomes, _ = publish_beside_a_sync_that_waits_for_it(packer, events(2, 10))

    # Then neither waited for the window
    assert outcomes == [None, None]
    assert [len(call) for call in inner.calls] == [3, 10]
    assert time.monotonic() - started < 2.5


def test_the_window_bounds_the_wait_for_a_slow_sync() -> None:
    # Given a sync still reading LeadLex while another wants to publish
    inner = RecordingPublisher()
    packer = PackingPublisher(inner, window=0.05)
    outcomes, published = publish_beside_a_sync_that_waits_for_it(packer, events(1, 1))

    # Then the publish went out alone after the window, not when the slow sync ended
    assert outcomes == [None, None]
    assert published.is_set()
    assert [len(call) for call in inner.calls] == [1]


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=2, max_size=6),
    delivered=st.integers(0, 80),
)
def test_each_caller_learns_its_own_delivered_prefix(sizes: list[int], delivered: int) -> None:
    # Given concurrent publishes packed into one call that delivers a prefix of it
    inner = RecordingPublisher(fail_after=delivered)
    packer = PackingPublisher(inner, window=5.0)
    batches = [events(contact, size) for contact, size in enumerate(sizes)]
    outcomes = run_syncs(packer, [lambda b=b: packer.publish(b) for b in batches])

    # Then every caller whose events were all delivered returns; the others fail with the
    # number of their own leading events that got through
    delivered_ids = set(inner.ids)
    for batch, outcome in zip(batches, outcomes, strict=True):
        own = sum(1 for event in batch if event.event_id in delivered_ids)
        assert [e.event_id in delivered_ids for e in batch] == [True] * own + [False] * (
            len(batch) - own
        ), "a caller's delivered events are a prefix of its own"
        if own == len(batch):
            assert outcome is None
        else:
            assert isinstance(outcome, PublishFailed)
            assert outcome.delivered == own


def test_an_unexpected_error_reaches_every_caller_of_the_call() -> None:
    class Broken:
        def publish(self, events: Sequence[Any]) -> None:
            raise RuntimeError("endpoint gone")

    packer = PackingPublisher(Broken(), window=5.0)

    outcomes = run_syncs(packer, [lambda c=c: packer.publish(events(c, 1)) for c in range(3)])

    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)


def test_nothing_to_publish_costs_no_call() -> None:
    inner = RecordingPublisher()
    PackingPublisher(inner).publish([])
    assert inner.calls == []
