"""Long first syncs on a simulated clock: 60 s invocations really cut off, the per-minute limit.

    python -m benchmarks.long_sync                  # 12,000 and 50,000 on Pro and Starter, crashes
    python -m benchmarks.long_sync --json

What is modelled, all on one simulated clock (the sandbox's, frozen and moved by hand):
- LeadLex: the sandbox's own request logic (`Sandbox.handle`, in-process, its per-minute and
  daily windows on that clock), 250 ms a page. A 429 raises RateLimited at once, as
  LeadLexClient does for a 429 without Retry-After (the sandbox's per-minute 429 sends none).
- SNS and EventBridge: 20 ms per batch call of 10, the calls of one publish() 5 at a time, as
  adapters/publishing.py sends them. A model, not moto: moto's PublishBatch slows down
  quadratically over tens of thousands of messages.
- Lambda and SQS: a 60 s deadline per invocation (the template's default); every call to LeadLex,
  the state store, a publisher or the queue past the deadline kills the invocation on the spot,
  so its message stays unacknowledged and comes back after the visibility timeout (360 s), one
  receive more, and goes to the dead-letter queue after MaxReceiveCount (5) receives.
The engine, relay, fingerprint and in-memory state store are the real ones.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from activity_relay.core.contracts.contact_queue import QueuedContact
from activity_relay.core.model import (
    Activity,
    ActivityEvent,
    ActivityPage,
    ContactState,
    InitialSync,
    QuotaExhausted,
    RateLimited,
    TransientSourceError,
)
from activity_relay.core.sync.batch import BatchSync
from activity_relay.core.sync.engine import SyncEngine
from activity_relay.core.sync.fanout import FanOutPublisher
from activity_relay.core.sync.messages import ContactMessage, Disposition
from activity_relay.core.sync.ports import Lease
from benchmarks._harness import table
from leadlex_sandbox import Clock, Plan, Sandbox
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import RejectionLog

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PAGE_SECONDS = 0.25
PUBLISH_CALL_SECONDS = 0.02
PUBLISH_CONCURRENCY = 5
TIMEOUT_S = 60
VISIBILITY_S = 360
MAX_RECEIVES = 5
BACKOFF_S: tuple[float, ...] = ()  # LeadLexClient retries no 429 without Retry-After


class Killed(BaseException):
    """Lambda ended the invocation at its deadline (or the crash test killed it)."""


@dataclass
class World:
    """The simulated clock, the deadline of the invocation under way, and a kill switch."""

    clock: Clock
    deadline: datetime | None = None
    kill_at_call: int | None = None  # the crash test: die right after this AWS call
    aws_calls: int = 0
    killed: int = 0

    def now(self) -> datetime:
        return self.clock.now()

    def spend(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def check(self) -> None:
        if self.deadline is not None and self.now() > self.deadline:
            raise Killed("deadline")

    def aws_call(self) -> None:
        self.check()
        self.aws_calls += 1

    def after_aws_call(self) -> None:
        if self.kill_at_call is not None and self.aws_calls == self.kill_at_call:
            self.kill_at_call = None
            raise Killed(f"killed after AWS call {self.aws_calls}")


@dataclass
class SimulatedLeadLex:
    """An ActivitySource over the sandbox's request logic, on the simulated clock."""

    sandbox: Sandbox
    key: str
    world: World
    page_size: int = 100
    sent: int = 0
    counted: int = 0  # answered without 429: what the daily quota was charged

    def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
        query = {"page": str(page), "per_page": str(self.page_size)}
        for pause in (*BACKOFF_S, None):
            self.world.check()
            self.sent += 1
            response = self.sandbox.handle(
                "GET", f"/v1/contacts/{contact_id}/activities", query, f"Bearer {self.key}"
            )
            self.world.spend(PAGE_SECONDS)
            if response.status != 429:
                self.counted += 1
                break
            headers = dict(response.headers)
            if headers.get("X-RateLimit-Remaining") == "0":
                reset = datetime.fromtimestamp(int(headers["X-RateLimit-Reset"]), UTC)
                raise QuotaExhausted("daily quota exhausted", resets_at=reset)
            if pause is None:
                raise RateLimited("rate limited: 429 rate_limited")
            self.world.spend(pause)
        if response.status != 200:
            raise TransientSourceError(f"LeadLex answered {response.status}")
        body = json.loads(response.body)
        return ActivityPage(
            number=page,
            per_page=self.page_size,
            total=body["meta"]["total"],
            activities=tuple(Activity.from_api(raw) for raw in body["data"]["activities"]),
        )


@dataclass
class LatencyPublisher:
    """One channel: 20 ms per batch call of 10, 5 calls at a time; counts what arrived."""

    world: World
    received: Counter[str] = field(default_factory=Counter)

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        if not events:
            return
        self.world.aws_call()
        calls = math.ceil(len(events) / 10)
        self.world.spend(math.ceil(calls / PUBLISH_CONCURRENCY) * PUBLISH_CALL_SECONDS)
        self.world.check()  # killed in flight: nothing of this call counts as delivered
        self.received.update(event.event_id for event in events)
        self.world.after_aws_call()


class SimulatedStore(MemoryStateTable):
    """The in-memory store, each of its writes an AWS call of the invocation (10 ms)."""

    world: World

    def begin(
        self, contact_id: str, lease: Lease, *, covered_after: datetime | None = None
    ) -> ContactState | None:
        self.world.aws_call()
        self.world.spend(0.01)
        state = super().begin(contact_id, lease, covered_after=covered_after)
        self.world.after_aws_call()
        return state

    def save(self, state: ContactState, lease: Lease | None = None) -> ContactState:
        self.world.aws_call()
        self.world.spend(0.01)
        saved = super().save(state, lease)
        self.world.after_aws_call()
        return saved

    def release(self, contact_id: str, lease: Lease) -> None:
        self.world.aws_call()
        super().release(contact_id, lease)
        self.world.after_aws_call()


@dataclass
class Message:
    body: str
    sent_at: datetime
    visible_at: datetime
    receives: int = 0
    number: int = 0


@dataclass
class SimulatedQueue:
    """The contact queue: visibility timeout, receive counts, the dead-letter queue."""

    world: World
    waiting: list[Message] = field(default_factory=list)
    dead: list[Message] = field(default_factory=list)
    sent: int = 0

    def put(self, body: str, delay: int = 0) -> None:
        self.sent += 1
        now = self.world.now()
        self.waiting.append(Message(body, now, now + timedelta(seconds=delay), number=self.sent))

    def send(self, messages: Sequence[QueuedContact]) -> list[QueuedContact]:
        """The relay's ContactQueue port: one SendMessageBatch call."""
        self.world.aws_call()
        for message in messages:
            self.put(message.body, message.delay_seconds or 0)
        self.world.after_aws_call()
        return []

    def receive(self) -> Message | None:
        if not self.waiting:
            return None
        message = min(self.waiting, key=lambda m: (m.visible_at, m.number))
        if message.visible_at > self.world.now():
            self.world.clock.set(message.visible_at, frozen=True)
        message.receives += 1
        return message

    def returned(self, message: Message, invoked_at: datetime) -> None:
        if message.receives >= MAX_RECEIVES:
            self.waiting.remove(message)
            self.dead.append(message)
        else:
            message.visible_at = invoked_at + timedelta(seconds=VISIBILITY_S)


@dataclass
class Rig:
    world: World
    sandbox: Sandbox
    source: SimulatedLeadLex
    store: SimulatedStore
    channels: tuple[LatencyPublisher, LatencyPublisher]
    queue: SimulatedQueue
    relay: BatchSync


def build(plan: str | Plan, initial_sync: str = "all") -> Rig:
    clock = Clock(START, frozen=True)
    world = World(clock)
    sandbox = Sandbox(plan=plan, clock=clock)
    source = SimulatedLeadLex(sandbox, sandbox.create_key(), world)
    store = SimulatedStore(clock=world.now)
    store.world = world
    channels = (LatencyPublisher(world), LatencyPublisher(world))
    queue = SimulatedQueue(world)
    engine = SyncEngine(
        source=source,
        store=store,
        publisher=FanOutPublisher(channels),
        initial_sync=InitialSync.parse(initial_sync),
    )
    relay = BatchSync(
        engine=engine,
        rejected=RejectionLog(),
        deferrals=store,
        queue=queue,
        clock=world.now,
        concurrency=1,
    )
    return Rig(world, sandbox, source, store, channels, queue, relay)


def drain(rig: Rig, max_invocations: int = 5_000) -> int:
    """Invoke the function on every message until the queue is empty; the invocations used."""
    world, queue = rig.world, rig.queue
    invocations = 0
    while invocations < max_invocations:
        message = queue.receive()
        if message is None:
            if not rig.store.deferred:
                break
            # The sweep: deferred contacts enqueued again once the daily quota has reset.
            until = max(rig.store.deferred.values())
            world.clock.set(max(until, world.now()), frozen=True)
            for contact_id in sorted(rig.store.deferred):
                queue.put(contact_id)
            rig.store.deferred.clear()
            continue
        invocations += 1
        invoked_at = world.now()
        world.deadline = invoked_at + timedelta(seconds=TIMEOUT_S)

        def remaining_ms(deadline: datetime = world.deadline) -> int:
            return max(0, int((deadline - world.now()).total_seconds() * 1000))

        contact = ContactMessage(
            f"m{message.number}", message.body, message.sent_at, message.receives
        )
        try:
            results, _ = rig.relay.process([contact], remaining_ms)
        except Killed:
            world.killed += 1
            world.deadline = None
            queue.returned(message, invoked_at)
            continue
        world.deadline = None
        if results[0].disposition is Disposition.RETRY:
            queue.returned(message, invoked_at)
        else:
            queue.waiting.remove(message)
    return invocations


def first_sync(activities: int, plan: str | Plan, initial_sync: str = "all") -> dict[str, Any]:
    rig = build(plan, initial_sync)
    contact = rig.sandbox.create_contact(activities=activities)
    everything = {a["id"] for a in rig.sandbox.activities(contact)}
    rig.queue.put(contact)
    invocations = drain(rig)
    sns, bus = rig.channels
    pages = max(1, math.ceil(activities / 100))
    return {
        "activities": activities,
        "plan": plan if isinstance(plan, str) else plan.name,
        "initial_sync": initial_sync,
        "invocations": invocations,
        "invocations_killed": rig.world.killed,
        "leadlex_requests_sent": rig.source.sent,
        "leadlex_requests_counted": rig.source.counted,
        "requests_goal": math.floor(1.05 * pages) + invocations,
        "simulated_minutes": round((rig.world.now() - START).total_seconds() / 60, 1),
        "quota_days": (rig.world.now().date() - START.date()).days + 1,
        "sns_events": len(sns.received),
        "eventbridge_events": len(bus.received),
        "all_on_both": set(sns.received) == set(bus.received) == everything,
        "duplicates": sum(n - 1 for n in sns.received.values())
        + sum(n - 1 for n in bus.received.values()),
        "dead_letters": len(rig.queue.dead),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def crash_at_every_call(activities: int = 1_200, plan: str | Plan = "pro") -> dict[str, Any]:
    """Kill the process right after each AWS call of a first sync in turn, then let the
    message come back: activities lost, and the worst duplicates one crash cost."""
    calls = _calls_of_one_sync(activities, plan)
    worst, lost_total = 0, 0
    for kill_at in range(1, calls + 1):
        rig = build(plan)
        contact = rig.sandbox.create_contact(activities=activities)
        everything = {a["id"] for a in rig.sandbox.activities(contact)}
        rig.world.kill_at_call = kill_at
        rig.queue.put(contact)
        drain(rig)
        for channel in rig.channels:
            lost_total += len(everything - set(channel.received))
            worst = max(worst, sum(n - 1 for n in channel.received.values()))
    return {
        "activities": activities,
        "aws_calls_per_sync": calls,
        "crashes": calls,
        "activities_lost": lost_total,
        "worst_duplicates_per_crash_per_channel": worst,
    }


def _calls_of_one_sync(activities: int, plan: str | Plan) -> int:
    rig = build(plan)
    rig.queue.put(rig.sandbox.create_contact(activities=activities))
    drain(rig)
    return rig.world.aws_calls


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "12000-pro": lambda: first_sync(12_000, "pro"),
    "50000-pro": lambda: first_sync(50_000, "pro"),
    "12000-starter": lambda: first_sync(12_000, "starter"),
    "50000-starter": lambda: first_sync(50_000, "starter"),
    "10000-none": lambda: first_sync(10_000, "pro", "none"),
    "10000-since": lambda: first_sync(10_000, "pro", (START - timedelta(days=30)).isoformat()),
    "crashes": lambda: crash_at_every_call(),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=sorted(SCENARIOS), help="one scenario, in-process")
    args = parser.parse_args(argv)
    if args.only:
        print(json.dumps(SCENARIOS[args.only]()))
        return 0
    # One process per scenario, so that each peak RSS is its own.
    figures = {
        name: json.loads(
            subprocess.run(  # noqa: S603 - this very module, with a fixed argument
                [sys.executable, "-m", "benchmarks.long_sync", "--only", name],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for name in SCENARIOS
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    syncs = [f for name, f in figures.items() if name != "crashes"]
    keys = [
        "activities",
        "plan",
        "initial_sync",
        "invocations",
        "invocations_killed",
        "leadlex_requests_counted",
        "leadlex_requests_sent",
        "requests_goal",
        "simulated_minutes",
        "quota_days",
        "sns_events",
        "eventbridge_events",
        "duplicates",
        "dead_letters",
        "peak_rss_mb",
    ]
    print(table(keys, [[f[k] for k in keys] for f in syncs]))
    print()
    crashes = figures["crashes"]
    print(table(list(crashes), [list(crashes.values())]))
    ok = all(f["duplicates"] == 0 and f["dead_letters"] == 0 for f in syncs)
    return 0 if ok and crashes["activities_lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
