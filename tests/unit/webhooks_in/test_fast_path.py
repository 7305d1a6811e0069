"""The webhook fast path and the sync, accounting in one state: every activity published, none
twice without a failure, whichever of a webhook and a poll gets there first
(core/webhooks_in/fast_path.py, core/sync/claims.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activity_relay.core.model import (
    POLL,
    WEBHOOK,
    Activity,
    ActivityEvent,
    InitialSync,
    WebhookClaim,
    id_hash,
)
from activity_relay.core.model.state import PENDING_FRESH
from activity_relay.core.sync.engine import SyncEngine
from activity_relay.core.sync.ports import PublishFailed
from activity_relay.core.webhooks_in.fast_path import FastPath, FastPathOutcome
from activity_relay.core.webhooks_in.ports import ReceiverUnavailable
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import EPOCH, FakeLeadLex, RecordingPublisher
from tests.support.clock import Clock

CONTACT = "123e4567-e89b-12d3-a456-426614174000"
WINDOW = timedelta(hours=6)


class Killed(BaseException):
    """The receiver's process killed mid-request: nothing after this point of it runs."""


@dataclass
class MortalPublisher:
    """The receiver's publisher, which can be killed just before or just after publishing."""

    channels: RecordingPublisher
    dies: str | None = None  # "before" or "after" publishing

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        if self.dies == "before":
            raise Killed
        self.channels.publish(events)
        if self.dies == "after":
            raise Killed


@dataclass
class Rig:
    """One contact in LeadLex, the relay's state table, and both paths to one set of channels."""

    initial_sync: str = "all"
    api: FakeLeadLex = field(default_factory=FakeLeadLex)
    table: MemoryStateTable = field(default_factory=MemoryStateTable)
    published: RecordingPublisher = field(default_factory=RecordingPublisher)
    clock: Clock[datetime] = field(default_factory=lambda: Clock(EPOCH + timedelta(days=1)))

    def __post_init__(self) -> None:
        self.api.contacts[CONTACT] = []
        self.table.clock = self.clock
        self.engine = SyncEngine(
            source=self.api,
            store=self.table,
            publisher=self.published,
            initial_sync=InitialSync.parse(self.initial_sync),
            clock=self.clock,
            pause=lambda seconds: self._advance(seconds),
        )
        self.receiver_publisher = MortalPublisher(self.published)
        self.fast = FastPath(
            self.table, self.receiver_publisher, clock=self.clock, reconcile_window=WINDOW
        )

    @classmethod
    def synced_once(cls) -> Rig:
        """The contact with one activity, synced once."""
        rig = cls()
        rig.log(0)
        rig.poll()
        return rig

    def _advance(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)

    def log(self, seconds: int) -> dict[str, Any]:
        """An activity logged in LeadLex, `seconds` after EPOCH (no webhook yet)."""
        return self.api.add(CONTACT, seconds)

    def webhook(self, raw: dict[str, Any]) -> FastPathOutcome:
        """LeadLex's delivery of `raw`, as the receiver reads it."""
        return self.fast.publish(CONTACT, Activity.from_api({**raw, "contact_id": CONTACT})).outcome

    def poll(self) -> None:
        self.clock.now += timedelta(minutes=1)
        self.engine.sync(CONTACT, started_at=self.clock.now)

    def pending_claim(self, raw: dict[str, Any]) -> WebhookClaim:
        """The claim a receiver leaves when it dies between its claim and its publication."""
        created = Activity.from_api(raw).created_micros
        return WebhookClaim(id_hash(raw["id"]), created, claimed_at=self.clock.now)

    def ids(self) -> list[str]:
        return self.published.ids

    def everything(self) -> list[str]:
        return sorted(a["id"] for a in self.api.contacts[CONTACT])


def test_a_webhook_publishes_its_activity_once_and_schedules_the_reconciliation() -> None:
    rig = Rig.synced_once()
    # When an activity is logged and its webhook received
    activity = rig.log(100)
    assert rig.webhook(activity) is FastPathOutcome.PUBLISHED
    # Then its event went out, said so, and the contact waits for its reconciliation
    assert rig.ids()[-1] == activity["id"]
    assert rig.published.delivered[-1].origin == WEBHOOK
    assert rig.table.reconciling == {CONTACT: rig.clock.now + WINDOW}
    claim = rig.table.claims[CONTACT][id_hash(activity["id"])]
    assert claim.published
    # And the reconciling poll publishes nothing more, and settles the claim
    rig.poll()
    assert sorted(rig.ids()) == rig.everything()
    assert len(rig.ids()) == len(set(rig.ids()))
    assert rig.table.claims[CONTACT] == {}
    assert rig.table.reconciling == {}


def test_the_same_delivery_twice_is_published_once() -> None:
    rig = Rig()
    activity = rig.log(100)

    outcomes = [rig.webhook(activity) for _ in range(3)]

    assert outcomes == [FastPathOutcome.PUBLISHED] + [FastPathOutcome.ALREADY_PUBLISHED] * 2
    assert rig.ids() == [activity["id"]]


def test_a_poll_that_got_there_first_leaves_the_webhook_nothing_to_publish() -> None:
    rig = Rig()
    activity = rig.log(100)
    rig.poll()

    assert rig.webhook(activity) is FastPathOutcome.ALREADY_PUBLISHED

    assert rig.ids() == [activity["id"]]


@pytest.mark.parametrize("when", ["before the sync announces", "after the sync announces"])
def test_a_webhook_during_a_sync_of_its_contact_is_published_once(when: str) -> None:
    # Given a synced contact, then a burst (read from the end up) whose newest activity's
    # webhook arrives while a sync of the contact holds its lease
    rig = Rig.synced_once()
    latest = [rig.log(100 + n) for n in range(150)][-1]
    outcomes: list[FastPathOutcome] = []

    def deliver_once() -> None:
        if not outcomes:
            outcomes.append(rig.webhook(latest))

    if when == "before the sync announces":
        rig.api.between_pages.append(lambda _, page: deliver_once() if page == 1 else None)
    else:
        announce = rig.table.announce

        def announce_then_deliver(*args: Any, **kwargs: Any) -> dict[int, WebhookClaim]:
            claims = announce(*args, **kwargs)
            deliver_once()
            return claims

        rig.table.announce = announce_then_deliver  # type: ignore[method-assign]

    # When the sync runs
    rig.poll()

    # Then every activity went out once, by whichever path got there first
    assert sorted(rig.ids()) == rig.everything()
    assert len(rig.ids()) == len(set(rig.ids()))
    assert outcomes in ([FastPathOutcome.PUBLISHED], [FastPathOutcome.ALREADY_PUBLISHED])


def test_a_receiver_that_dies_after_its_claim_loses_nothing() -> None:
    # Given a webhook whose receiver claimed its activity, then died before publishing it
    rig = Rig.synced_once()
    activity = rig.log(100)
    rig.published.fail_after = 0
    with pytest.raises(ReceiverUnavailable):
        rig.webhook(activity)
    rig.published.fail_after = None
    # (the claim was withdrawn; a receiver killed outright leaves it pending instead)
    claim = rig.table.claims[CONTACT].get(id_hash(activity["id"]))
    assert claim is None
    rig.table.claims[CONTACT][id_hash(activity["id"])] = rig.pending_claim(activity)

    # When LeadLex's retry comes within the receiver's lifetime: left to the first
    assert rig.webhook(activity) is FastPathOutcome.IN_FLIGHT
    # Then a poll, once the claim outlived any receiver, publishes it: once
    rig.clock.now += PENDING_FRESH
    rig.poll()
    assert rig.ids().count(activity["id"]) == 1
    assert sorted(rig.ids()) == rig.everything()


def test_a_stale_claim_is_taken_over_by_the_next_delivery() -> None:
    rig = Rig()
    activity = rig.log(100)
    rig.table.claims[CONTACT] = {id_hash(activity["id"]): rig.pending_claim(activity)}
    rig.clock.now += PENDING_FRESH

    assert rig.webhook(activity) is FastPathOutcome.PUBLISHED

    assert rig.ids() == [activity["id"]]
    assert rig.table.claims[CONTACT][id_hash(activity["id"])].published


def test_a_backdated_activity_below_the_recent_window_is_left_to_a_poll() -> None:
    # Given a contact whose newest activity is far newer than a backdated one's date
    rig = Rig()
    rig.log(10 * 86_400)
    rig.poll()
    backdated = rig.log(0)

    assert rig.webhook(backdated) is FastPathOutcome.LEFT_TO_A_POLL

    rig.poll()
    assert rig.ids().count(backdated["id"]) == 1


@pytest.mark.parametrize("initial_sync", ["all", "none", "1970-01-01T00:00:00Z"])
def test_a_contact_never_synced_gets_its_webhook_at_once_and_its_first_sync_the_rest(
    initial_sync: str,
) -> None:
    # Given a contact with history the relay never synced
    rig = Rig(initial_sync=initial_sync)
    history = [rig.log(n) for n in range(250)]
    # When an activity's webhook arrives
    activity = rig.log(1_000)
    assert rig.webhook(activity) is FastPathOutcome.PUBLISHED
    # Then its first sync follows INITIAL_SYNC for the rest, and does not publish it again
    rig.poll()
    rest = {a["id"] for a in history} if initial_sync != "none" else set()
    assert sorted(rig.ids()) == sorted({activity["id"], *rest})
    assert rig.ids().count(activity["id"]) == 1
    assert rig.published.delivered[0].origin == WEBHOOK
    assert {e.origin for e in rig.published.delivered[1:]} <= {POLL}


def test_a_failed_sync_publish_then_its_retry_loses_nothing() -> None:
    rig = Rig.synced_once()
    carried = rig.log(100)
    assert rig.webhook(carried) is FastPathOutcome.PUBLISHED
    missed = rig.log(101)  # its webhook was lost
    rig.published.fail_after = 0
    with pytest.raises(PublishFailed):
        rig.poll()
    rig.published.fail_after = None

    rig.poll()

    assert sorted(set(rig.ids())) == rig.everything()
    assert rig.ids().count(carried["id"]) == 1
    assert missed["id"] in rig.ids()


DELIVERIES = {
    "lost": [],
    "once": ["delivered"],
    "twice": ["delivered", "delivered"],
    # LeadLex retries what was not answered 2xx
    "refused, then retried": ["refused", "delivered"],
    # a receiver killed between its claim and its publication: the claim stays pending
    "killed after its claim": ["killed before publishing"],
    # killed between publishing and confirming: a later poll may publish it again
    "killed after publishing": ["killed after publishing"],
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=st.lists(st.integers(0, 3 * 86_400), max_size=120),
    steps=st.lists(
        st.fixed_dictionaries(
            {
                "logged": st.lists(st.integers(-2 * 86_400, 600), max_size=8),
                "delivered": st.lists(st.sampled_from(sorted(DELIVERIES)), max_size=8),
                "same_time": st.booleans(),
                "during_sync": st.booleans(),
                "poll_fails": st.booleans(),
            }
        ),
        max_size=8,
    ),
    tie_order=st.sampled_from(["newest", "oldest", "id"]),
)
def test_webhooks_and_polls_interleaved_publish_everything_once(
    history: list[int], steps: list[dict[str, Any]], tie_order: str
) -> None:
    # Given a contact synced once, then steps of activities logged on top, backdated or dated
    # like an existing one, their webhooks lost, delivered once or twice, refused and retried,
    # or their receiver killed, before or during the step's poll, which may fail and be
    # retried (no more than the fingerprint's sketch names between two polls, 16 below its
    # head: beyond, it publishes a date range again by design, core/model/fingerprint.py)
    rig = Rig(api=FakeLeadLex(tie_order=tie_order))
    for seconds in history:
        rig.log(seconds)
    rig.poll()
    now = 3 * 86_400
    may_repeat: set[str] = set()  # published, then a failure: at least once, not exactly once
    for step in steps:
        now += 1_000
        logged = []
        for offset in step["logged"]:
            raw = rig.log(now + offset)
            if step["same_time"] and rig.api.contacts[CONTACT]:
                raw["created_date"] = rig.api.contacts[CONTACT][0]["created_date"]
            logged.append(raw)
        deliveries = [
            (raw, attempt)
            for raw, how in zip(logged, step["delivered"], strict=False)
            for attempt in DELIVERIES[how]
        ]
        may_repeat |= {raw["id"] for raw, attempt in deliveries if attempt.endswith("publishing")}
        if step["poll_fails"]:  # a poll whose first publication fails (when it has any)
            rig.published.fail_after = 0
            with contextlib.suppress(PublishFailed):
                rig.poll()
            rig.published.fail_after = None
        if step["during_sync"] and deliveries:
            rig.api.between_pages.append(deliver_all(rig, deliveries))
            rig.poll()
            rig.api.between_pages.clear()
        else:
            deliver_all(rig, deliveries)("", 0)
            rig.poll()

    # When the contact's reconciliation polls it
    rig.poll()

    # Then every activity went out, and none twice unless a failure came after its publication
    ids = rig.ids()
    assert sorted(set(ids)) == rig.everything()
    assert {i for i in ids if ids.count(i) > 1} <= may_repeat


def deliver_all(
    rig: Rig, deliveries: list[tuple[dict[str, Any], str]]
) -> Callable[[str, int], None]:
    """A hook making LeadLex's `deliveries` between two page requests of a sync (under its
    lease), or at once when called directly."""
    pending = list(deliveries)

    def deliver(_: str, __: int) -> None:
        while pending:
            raw, attempt = pending.pop(0)
            rig.receiver_publisher.dies = (
                attempt.removeprefix("killed ").removesuffix(" publishing")
                if attempt.startswith("killed")
                else None
            )
            rig.published.fail_after = 0 if attempt == "refused" else None
            try:
                rig.webhook(raw)
            except (Killed, ReceiverUnavailable):
                pass  # the answer LeadLex gets is no 2xx (or none): it retries, or not, as listed
            finally:
                rig.receiver_publisher.dies = None
                rig.published.fail_after = None

    return deliver
