"""The relay with pacing: arrivals ahead of the day's line wait (recorded, acknowledged, no
request), a waiting contact keeps its place, the sweep's releases always sync, and a day below
the line syncs on arrival."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from activity_relay.core.contracts.contact_queue import continuation_body, release_body
from activity_relay.core.model import InitialSync
from activity_relay.core.quota.pacing import PacePolicy
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.sync.batch import BatchSync
from activity_relay.core.sync.engine import SyncEngine
from activity_relay.core.sync.messages import ContactMessage, Disposition, MessageResult
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import EPOCH, FakeLeadLex, RecordingPublisher
from tests.support.clock import Clock
from tests.support.sync import batch_relay

CONTACTS = [f"{n}23e4567-e89b-12d3-a456-426614174000" for n in range(1, 6)]
DAY_START = EPOCH
RESET = EPOCH + timedelta(days=1)
NOON = DAY_START + timedelta(hours=12)
PRO_PACE = PacePolicy()


@dataclass
class Quota:
    """What the client last saw of the daily quota."""

    remaining: int
    clock: Clock[datetime] = field(default_factory=lambda: Clock(NOON))
    """The relay's and the store's clock too, as a Lambda's clocks agree."""

    def __call__(self) -> QuotaSnapshot:
        return QuotaSnapshot(1_000, self.remaining, RESET, self.clock())


class FailingWaits(MemoryStateTable):
    def wait(self, contact_id: str, since: datetime) -> None:
        raise RuntimeError("DynamoDB unavailable")


def relay(
    remaining: int,
    *,
    pacing: PacePolicy | None = PRO_PACE,
    store: MemoryStateTable | None = None,
) -> tuple[BatchSync, FakeLeadLex, MemoryStateTable, Quota]:
    api = FakeLeadLex()
    for contact in CONTACTS:
        api.contacts.setdefault(contact, [])
        api.add(contact, 0)
    quota = Quota(remaining)
    store = store if store is not None else MemoryStateTable(clock=quota.clock)
    engine = SyncEngine(
        source=api,
        store=store,
        publisher=RecordingPublisher(),
        initial_sync=InitialSync.parse("all"),
    )
    relay = batch_relay(engine, store, quota.clock, quota=quota, pacing=pacing)
    return relay, api, store, quota


def run(relay: BatchSync, *messages: ContactMessage) -> dict[str, MessageResult]:
    results, _ = relay.process(messages, lambda: 60_000)
    return {r.message_id: r for r in results}


def sent(minutes: int) -> datetime:
    return NOON - timedelta(minutes=minutes)


# The line at noon on a Pro day: 100 + 650 x 12/23 = 439 may be spent; 561 kept (250 of them
# for the day's last hour).
BEHIND_THE_LINE = 561  # remaining: spent exactly what the line allows, nothing more may start
BELOW_THE_LINE = 900  # remaining: a quiet morning


def test_an_arrival_ahead_of_the_line_waits_since_its_message_and_is_acknowledged() -> None:
    r, api, store, _ = relay(BEHIND_THE_LINE)

    results = run(r, ContactMessage("m1", CONTACTS[0], sent(3)))

    assert results["m1"].disposition is Disposition.DEFERRED
    assert results["m1"].disposition.acknowledged
    assert "paced" in (results["m1"].reason or "")
    assert api.requests == 0
    assert store.deferred == {CONTACTS[0]: sent(3)}
    assert store.due(NOON, 10) == [CONTACTS[0]], "due at once: the sweep's to release"


def test_more_messages_for_a_waiting_contact_keep_its_place() -> None:
    r, api, store, quota = relay(BEHIND_THE_LINE)
    run(r, ContactMessage("m1", CONTACTS[0], sent(10)))
    run(r, ContactMessage("m2", CONTACTS[1], sent(5)))

    quota.clock.now += timedelta(seconds=10)
    results = run(r, ContactMessage("m3", CONTACTS[0], sent(0)), ContactMessage("m4", CONTACTS[0]))

    assert {res.disposition for res in results.values()} == {Disposition.DEFERRED}
    assert api.requests == 0
    # Waiting once: still first in line, from its first message
    assert store.deferred[CONTACTS[0]] == sent(10)
    assert store.due(quota.clock.now, 10) == [CONTACTS[0], CONTACTS[1]]


def test_a_release_by_the_sweep_syncs_even_behind_the_line_and_clears_the_wait() -> None:
    r, api, store, quota = relay(BEHIND_THE_LINE)
    run(r, ContactMessage("m1", CONTACTS[0], sent(10)))
    quota.clock.now += timedelta(minutes=1)  # the sweep's next run releases it

    results = run(r, ContactMessage("m2", release_body(CONTACTS[0]), sent(0)))

    assert results["m2"].disposition is Disposition.SYNCED
    assert api.requests == 1
    assert store.deferred == {}


def test_below_the_line_every_arrival_syncs_at_once() -> None:
    r, api, store, _ = relay(BELOW_THE_LINE)

    results = run(r, *(ContactMessage(f"m{n}", c, sent(1)) for n, c in enumerate(CONTACTS)))

    assert {res.disposition for res in results.values()} == {Disposition.SYNCED}
    assert api.requests == len(CONTACTS)
    assert store.deferred == {}


def test_a_small_allowance_goes_to_the_earliest_asking_and_releases_come_first() -> None:
    # Given an allowance of 3 units, a release and three arrivals
    r, api, store, _ = relay(BEHIND_THE_LINE + 3)

    results = run(
        r,
        ContactMessage("late", CONTACTS[0], sent(1)),
        ContactMessage("early", CONTACTS[1], sent(9)),
        ContactMessage("middle", CONTACTS[2], sent(5)),
        ContactMessage("released", release_body(CONTACTS[3]), sent(0)),
    )

    # Then the release and the two earliest arrivals sync; the latest waits
    assert results["released"].disposition is Disposition.SYNCED
    assert results["early"].disposition is Disposition.SYNCED
    assert results["middle"].disposition is Disposition.SYNCED
    assert results["late"].disposition is Disposition.DEFERRED
    assert store.deferred == {CONTACTS[0]: sent(1)}
    assert api.requests == 3


def test_without_pacing_the_quota_is_first_come_first_served() -> None:
    r, _, store, _ = relay(BEHIND_THE_LINE, pacing=None)

    results = run(r, *(ContactMessage(f"m{n}", c, sent(1)) for n, c in enumerate(CONTACTS)))

    assert {res.disposition for res in results.values()} == {Disposition.SYNCED}
    assert store.deferred == {}


def test_a_wait_that_cannot_be_recorded_returns_the_messages_to_the_queue() -> None:
    r, api, _, _ = relay(BEHIND_THE_LINE, store=FailingWaits())

    results = run(r, ContactMessage("m1", CONTACTS[0], sent(1)))

    assert results["m1"].disposition is Disposition.RETRY
    assert not results["m1"].disposition.acknowledged
    assert api.requests == 0


def test_a_continuation_carries_on_its_sync_even_behind_the_line() -> None:
    r, api, store, _ = relay(BEHIND_THE_LINE)

    results = run(r, ContactMessage("m1", continuation_body(CONTACTS[0]), sent(0)))

    assert results["m1"].disposition is not Disposition.DEFERRED
    assert api.requests >= 1
    assert store.deferred == {}
