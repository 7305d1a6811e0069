"""A simulated LeadLex Pro day: contacts kept in sync, and requests per synced contact, for
several delivery delays of the contact queue, next to the same stream without coalescing.

    .venv/bin/python -m benchmarks.pro_day [--preset pro|starter] [--load 1.0]
        [--contacts 2000] [--activities 2500] [--delays 0,60,120,300,900]
        [--paced-delays 0,300,900] [--window 0] [--json]

Requirement (issue): "A benchmark in the repo reports, for a simulated Pro day (1,000 requests,
50/min) with webhook triggers from a realistic activity stream over 2,000 contacts, how many
contacts were kept in sync and how many requests were spent per synced contact, next to the
same stream without coalescing."

The real `BatchSync`, `SyncEngine`, `LeadLexClient` and `sweep` run against the LeadLex sandbox over
HTTP; state and published events are in memory; SQS, the Lambda trigger and the sweep's
schedule are simulated in simulated time, in one-second steps (idle stretches skipped), on the
sandbox's (frozen) clock. The relay and the client read that clock too, so quota windows, the
client's quota guard and coalescing agree.

Model
-----
Contacts. `--contacts` contacts (2,000), each with a history of 5-150 activities (log-uniform,
mean about 43) over the past year. They are synced once the evening before (unlimited plan, not
counted); then the sandbox switches to the Pro plan (1,000 a day, 50 a minute), its quota and
counters are reset and its clock set to the day's 00:00 UTC (Tuesday 2026-03-03).

Activity stream (seeded). Work comes in bursts ("touches") on one contact: a call alone; a call
then a note; a call, a note and an email; a meeting, a note, an email and an AI summary; an
email alone; an AI action alone — 1.8 activities a touch on average, 1-10 minutes apart. Which
contact a touch is on follows Pareto(1.16) weights (the 80/20 rule: a few busy matters, a long
tail). When a touch starts follows an hourly profile: a trickle at night (automations), a ramp
from 07:00, 08:00-18:00 at full rate with a lunch dip (12:00-14:00), an evening tail.
`--activities` activities in all (2,500). 1.5 % are backdated when logged (created_date 7 days
to 3 years back: an old email filed today).

Webhooks -> SQS. Each activity fires `activity.created`; its receiver sends one message for the
contact 1-10 s later (SentTimestamp). 1 % of deliveries are sent twice, 30-300 s apart (LeadLex
retries a delivery whose answer was slow).

Contact queue. Its DelaySeconds (`--delays`: the template's DeliveryDelaySeconds) holds back
every message sent without a delay of its own: the webhook receiver's. The sweep's messages name
theirs, 0 included, and a message's own DelaySeconds replaces the queue's, as in SQS. RETRY
messages become visible again after the visibility timeout (660 s) and move to the dead-letter
queue at their 5th receive.

Trigger (Lambda's SQS event source, template defaults unless said): batches of up to 10; a
batching window (`--window`, default 0 s as in the template: the poller waits that long after
the first visible message unless 10 are visible); at most 2 invocations at once
(MaximumConcurrency=2). An invocation runs `BatchSync.process(batch, remaining_ms)` at once in
simulated time (clock frozen) and keeps its slot for 1 s + 0.15 s per request of its longest
sync, in whole seconds. DEFERRED messages are acknowledged: the relay records the contact in
the store (`deferred`).

Sweep, as deployed: `activity_relay.core.sweep.sweep` on the store and the simulated queue every
15 minutes, all day and after midnight, with `requests_per_minute` 50 (Pro; the template's
RequestsPerMinute), no quota reserve, DefaultDailyQuota 100, no reconciliation
(StaleAfterHours 0). After the reset it enqueues at most 50 x 16 deferred contacts a run, paced
50 a minute by per-message delays, and postpones their deferrals by 2 h: a contact whose
message does not end in a successful sync (which clears the deferral) is enqueued again.

Runs (each on a fresh sandbox rebuilt identically, from the same synced state):
* "delay D s": the relay as built, the queue's DelaySeconds D. Messages of one contact in one
  batch share a sync; a message sent before the contact's last successful sync started costs no
  request, which a delay makes likelier (a burst's later messages wait past the first sync).
* "no coalescing": delay 0, and the trigger hands the relay one message per invocation (batch
  size 1) and withholds SentTimestamp (`sent_at=None`), so every message is a sync of its own.
* "paced, delay D s" (issue 13): pacing on, as the template deploys it by default. The relay
  has `PacePolicy()` (core/pacing.py: a head of 10 % of the day's budget, 25 % held for the
  last hour, the rest along a line); an arrival the allowance does not cover is recorded as
  waiting and acknowledged. The sweep runs every minute (SweepSchedule rate(1 minute)),
  releases at most `requests_per_minute` waiting contacts a run within the allowance, longest
  waiting first, with release bodies that the relay syncs without pacing them again, and
  claims them in the shared quota observation. Everything else as in "delay D s".

Presets: `--preset pro` (the default: 1,000 a day, 50 a minute, 2,000 contacts, 2,500
activities) and `--preset starter` (100, 10, 200, 250: the same load per unit of quota).
`--load 0.1` scales the activities (a day at a tenth of the load, where pacing must cost
nothing: the paced runs' latency equals the unpaced ones').

The client retries a 429 with no backoff (backoff_factor 0) so that retries take no wall time;
an invocation that met a 429 instead keeps its slot 3.5 s longer, what the default backoff
would have slept.

Reported per run, for the day (00:00-23:59:59): requests the API served (and how many were
429s) and quota units used (the sandbox's counters), messages sent and received, syncs,
messages coalesced (no request) and merged (shared a batch-mate's sync), retries, dead-lettered,
when the quota ran out, contacts deferred at 23:59:59; contacts with activity that day, contacts
kept in sync (every activity the sandbox holds for them by 23:59:59 published by then, checked
against the sandbox for every contact), requests (quota units) per contact kept in sync.

Then the catch-up: the simulation carries on after midnight (sweeps every 15 minutes) until no
webhook is pending, the queue is empty and no contact is deferred (postponed or due), for at
most 48 h after the day's 00:00. "nothing lost": every activity the sandbox holds was
published; "everything published at": when the last activity of the stream was first published.
Latency: from an activity's logging (its created_date; for a backdated one, when it was logged)
to its event's first publication, in simulated time: p50 and p95 of those published on the day,
and p50, p95 and max of all of them. Dead-lettered messages are listed (contact, origin, reason,
whether a later sweep still had the contact). A failed check exits non-zero: an activity never
published or published twice, a message dead-lettered or rejected, the catch-up unfinished, or
the API's count of pages disagreeing with the engine's.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import itertools
import math
import random
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from activity_relay.core.contracts.contact_queue import (
    MAX_DELAY_SECONDS,
    QueuedContact,
    release_body,
)
from activity_relay.core.quota.pacing import PacePolicy
from activity_relay.core.quota.sweep import SweepPolicy, sweep
from activity_relay.core.sync.engine import SyncStatus
from activity_relay.core.sync.messages import ContactMessage, Disposition, MessageResult
from benchmarks._harness import (
    PLENTY_OF_TIME_MS,
    BenchmarkParser,
    Rig,
    build_rig,
    conclude,
    shown_rounded,
    table,
)
from leadlex_sandbox import Plan, SandboxServer
from relay_local.fakes.state_table import MemoryStateTable

DAY = datetime(2026, 3, 3, tzinfo=UTC)  # a Tuesday
BASELINE_AT = DAY - timedelta(hours=6)
PRO = Plan("pro", 1_000, 50)
STARTER = Plan("starter", 100, 10)
DAY_SECONDS = 86_400

BATCH_SIZE = 10
MAX_CONCURRENCY = 2
VISIBILITY_TIMEOUT = 660
MAX_RECEIVE_COUNT = 5
SWEEP_EVERY = 900
PACED_SWEEP_EVERY = 60  # the template's SweepSchedule with pacing: rate(1 minute)
SECONDS_PER_REQUEST = 0.15

# Relative rate of touches starting in each UTC hour.
HOURLY = (
    *(0.02,) * 7,  # 00-06: automations only
    0.3,  # 07
    0.8,  # 08
    1.0,  # 09
    1.1,  # 10
    1.0,  # 11
    0.5,  # 12 lunch
    0.6,  # 13
    1.0,  # 14
    1.0,  # 15
    0.9,  # 16
    0.6,  # 17
    0.3,  # 18
    0.15,  # 19
    0.08,  # 20
    *(0.03,) * 3,  # 21-23
)
TOUCHES: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.40, ("call",)),
    (0.20, ("call", "note")),
    (0.15, ("call", "note", "email_sent")),
    (0.10, ("meeting", "note", "email_sent", "ai_action")),
    (0.10, ("email_sent",)),
    (0.05, ("ai_action",)),
)
BACKDATED_SHARE = 0.015
DUPLICATE_DELIVERY_SHARE = 0.01


@dataclass(frozen=True)
class Logged:
    """One activity of the stream: logged (and its webhook fired) at `at` s after 00:00."""

    at: float
    contact: str
    activity_id: str
    activity_type: str
    created: datetime  # the logged moment, or earlier when backdated


@dataclass(frozen=True)
class Stream:
    contacts: list[str]
    history: dict[str, int]
    activities: list[Logged]  # by `at`
    webhooks: list[tuple[float, str, str]]  # (sent, contact, activity id), by sent
    touches: int
    backdated: int
    duplicates: int


def make_stream(contacts_n: int, activities_n: int, seed: int) -> Stream:
    rng = random.Random(seed)
    contacts = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(contacts_n)]
    history = {c: round(math.exp(rng.uniform(math.log(5), math.log(150)))) for c in contacts}
    weights = list(itertools.accumulate(rng.paretovariate(1.16) for _ in contacts))
    hours = list(itertools.accumulate(HOURLY))
    kinds = list(itertools.accumulate(share for share, _ in TOUCHES))
    activities: list[Logged] = []
    touches = backdated = 0
    while len(activities) < activities_n:
        touches += 1
        contact = contacts[bisect.bisect(weights, rng.random() * weights[-1])]
        hour = bisect.bisect(hours, rng.random() * hours[-1])
        at = hour * 3600 + rng.uniform(0, 3600)
        kind = TOUCHES[bisect.bisect(kinds, rng.random() * kinds[-1])][1]
        for activity_type in kind:
            if len(activities) == activities_n or at >= DAY_SECONDS - 60:
                break
            logged = DAY + timedelta(seconds=at)
            created = logged
            if rng.random() < BACKDATED_SHARE:
                backdated += 1
                created = logged - timedelta(seconds=rng.uniform(7 * 86_400, 3 * 365 * 86_400))
            activity_id = f"act_{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            activities.append(Logged(at, contact, activity_id, activity_type, created))
            at += rng.uniform(60, 600)
    activities.sort(key=lambda a: a.at)
    webhooks = []
    duplicates = 0
    for activity in activities:
        sent = activity.at + 1 + min(9.0, rng.expovariate(1 / 2))
        webhooks.append((sent, activity.contact, activity.activity_id))
        if rng.random() < DUPLICATE_DELIVERY_SHARE:
            duplicates += 1
            webhooks.append((sent + rng.uniform(30, 300), activity.contact, activity.activity_id))
    webhooks.sort()
    return Stream(contacts, history, activities, webhooks, touches, backdated, duplicates)


def build_sandbox(stream: Stream, seed: int) -> tuple[SandboxServer, str]:
    """A running sandbox holding the contacts' histories, and a digest of every activity id
    (two builds from the same stream and seed must agree, or a shared baseline is wrong)."""
    sandbox = SandboxServer(plan="unlimited", seed=seed).start()
    sandbox.clock.set(BASELINE_AT, frozen=True)
    digest = hashlib.blake2b(digest_size=16)
    for contact in stream.contacts:
        sandbox.create_contact(activities=stream.history[contact], contact_id=contact)
        for activity in sandbox.activities(contact):
            digest.update(str(activity["id"]).encode())
    return sandbox, digest.hexdigest()


@dataclass(frozen=True)
class Baseline:
    """Every contact's history synced once, before the day: each run of the day starts from it."""

    stream: Stream
    seed: int
    digest: str
    store: MemoryStateTable
    ids: set[str]  # the events the baseline published

    @classmethod
    def sync(cls, stream: Stream, seed: int) -> Baseline:
        sandbox, digest = build_sandbox(stream, seed)
        try:
            rig = build_rig(sandbox)
            for contact in stream.contacts:
                outcome = rig.engine.sync(contact, started_at=sandbox.clock.now())
                assert outcome.status is SyncStatus.SYNCED, outcome
        finally:
            sandbox.stop()
        return cls(stream, seed, digest, rig.store, set(rig.publisher.ids))

    @contextmanager
    def day(self, plan: Plan, pacing: PacePolicy | None) -> Iterator[Rig]:
        """A relay at the day's 00:00 with a copy of the baseline's state, on a sandbox rebuilt
        as the baseline left it; the sandbox stops after."""
        sandbox, rebuilt = build_sandbox(self.stream, self.seed)
        try:
            if rebuilt != self.digest:
                raise RuntimeError("the sandbox did not rebuild identically")
            sandbox.plan = plan
            sandbox.clock.set(DAY, frozen=True)
            sandbox.reset_quota()
            sandbox.reset_stats()
            store = MemoryStateTable(
                states={c: replace(s, seen=s.seen.copy()) for c, s in self.store.states.items()},
                clock=sandbox.clock.now,
            )
            yield build_rig(sandbox, store=store, backoff_factor=0, backoff_jitter=0, pacing=pacing)
        finally:
            sandbox.stop()


CATCH_UP_UNTIL = 2 * DAY_SECONDS  # the simulation stops 48 h after the day's 00:00 at the latest
DEFAULT_DELAYS = (0, 60, 120, 300, 900)


def clock_time(seconds: float) -> str:
    """Seconds after the day's 00:00 as HH:MM, "(+1 d)" for the next day."""
    days, rest = divmod(int(seconds), DAY_SECONDS)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}"
    return f"{text} (+{days} d)" if days else text


def percentile(ordered: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Message:
    id: str
    contact: str
    sent: float
    origin: str  # "webhook" or "sweep"
    receives: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass
class SimQueue:
    """The contact queue in simulated time; also the sweep's ContactQueue.

    `delay` is the queue's DelaySeconds. A message sent with a delay of its own (the sweep's
    always name one, 0 included) waits that instead, as SQS does.
    """

    delay: float = 0.0
    now: float = 0.0
    pending: list[tuple[float, int, Message]] = field(default_factory=list)
    visible: deque[Message] = field(default_factory=deque)
    sent: int = 0
    swept: int = 0
    swept_per_contact: Counter[str] = field(default_factory=Counter)
    sweeps_enqueueing: list[tuple[float, int]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def arrive(
        self, contact: str, sent: float, *, origin: str = "webhook", delay: int | None = None
    ) -> None:
        self.sent += 1
        # As SQS: the queue's own delay applies only to a message that names none.
        wait = self.delay if delay is None else delay
        self.later(Message(f"m{self.sent}", contact, sent, origin), sent + wait)

    def later(self, message: Message, visible_at: float) -> None:
        heapq.heappush(self.pending, (visible_at, next(self._ids), message))

    def send(self, messages: Sequence[QueuedContact]) -> list[QueuedContact]:
        """The sweep's ContactQueue port."""
        waits = [m.delay_seconds for m in messages]
        if any(wait is not None and not 0 <= wait <= MAX_DELAY_SECONDS for wait in waits):
            raise ValueError(f"SQS refuses delays outside 0-{MAX_DELAY_SECONDS} s: {waits}")
        contact_ids = [m.contact_id for m in messages]
        for contact, wait in zip(contact_ids, waits, strict=True):
            self.arrive(contact, self.now, origin="sweep", delay=wait)
        if contact_ids:
            self.sweeps_enqueueing.append((self.now, len(contact_ids)))
        self.swept += len(contact_ids)
        self.swept_per_contact.update(contact_ids)
        return []

    def release_due(self, now: float) -> None:
        while self.pending and self.pending[0][0] <= now:
            self.visible.append(heapq.heappop(self.pending)[2])

    @property
    def empty(self) -> bool:
        return not self.pending and not self.visible


@dataclass
class Tally:
    received: int = 0
    invocations: int = 0
    syncs: int = 0
    coalesced: int = 0
    merged: int = 0
    deferred_messages: int = 0
    paced_messages: int = 0
    retries: int = 0
    rate_limited: int = 0
    dead_lettered: int = 0
    not_found: int = 0
    engine_requests: int = 0


class Simulation:
    def __init__(
        self,
        rig: Rig,
        stream: Stream,
        *,
        window: float,
        coalescing: bool,
        baseline: set[str],
        delay: float = 0.0,
        requests_per_minute: int = PRO.per_minute,
        pacing: PacePolicy | None = None,
    ) -> None:
        self.rig = rig
        self.sandbox = rig.sandbox
        self.stream = stream
        self.window = window
        self.coalescing = coalescing
        self.batch_size = BATCH_SIZE if coalescing else 1
        self.baseline = baseline
        self.queue = SimQueue(delay=delay)
        self.slots = [0.0] * MAX_CONCURRENCY
        self.gathering_since: float | None = None
        self.tally = Tally()
        self.day_tally = Tally()
        self.day_swept = 0
        self.quota_exhausted_at: float | None = None
        self.day_requests = (0, 0, 0)
        self.dead_letters: list[dict[str, object]] = []
        self.paced = pacing is not None
        self.sweep_every = PACED_SWEEP_EVERY if self.paced else SWEEP_EVERY
        self.sweep_policy = SweepPolicy(
            quota_reserve=0,
            default_daily_quota=100,
            requests_per_minute=requests_per_minute,
            stale_after=None,
            pace=pacing,
        )

    def run(self) -> dict[str, object]:
        activities = deque(self.stream.activities)
        webhooks = deque(self.stream.webhooks)
        second = 0
        while second < DAY_SECONDS:
            self.step(second, activities, webhooks)
            second = self.next_second(second, activities, webhooks)
        day = self.end_of_day()
        # After midnight: the sweeps enqueue the deferred contacts; carry on until nothing is
        # left to do (no webhook pending, the queue empty, no deferral postponed or due).
        finished: int | None = None
        while second < CATCH_UP_UNTIL:
            self.step(second, activities, webhooks)
            if not activities and not webhooks and self.queue.empty and self.nothing_waits():
                finished = second
                break
            second = self.next_second(second, activities, webhooks)
        day["catch_up"] = self.end_of_catch_up(finished, second)
        return day

    def nothing_waits(self) -> bool:
        """No contact deferred (postponed or due), none waiting for its reconciliation."""
        return not self.rig.store.deferred and not self.rig.store.reconciling

    def next_second(
        self, second: int, activities: deque[Logged], webhooks: deque[tuple[float, str, str]]
    ) -> int:
        """The next second at which anything can happen (one-second steps while messages wait)."""
        if self.queue.visible:
            return second + 1
        upcoming = [(second // self.sweep_every + 1) * self.sweep_every]
        if activities:
            upcoming.append(math.ceil(activities[0].at))
        if webhooks:
            upcoming.append(math.ceil(webhooks[0][0]))
        if self.queue.pending:
            upcoming.append(math.ceil(self.queue.pending[0][0]))
        return max(second + 1, min(upcoming))

    def step(
        self, second: int, activities: deque[Logged], webhooks: deque[tuple[float, str, str]]
    ) -> None:
        self.sandbox.clock.set(DAY + timedelta(seconds=second), frozen=True)
        self.queue.now = second
        while activities and activities[0].at <= second:
            logged = activities.popleft()
            self.sandbox.add_activity(
                logged.contact,
                id=logged.activity_id,
                activity_type=logged.activity_type,
                created_date=logged.created,
            )
        while webhooks and webhooks[0][0] <= second:
            self.deliver(*webhooks.popleft())
        if second % self.sweep_every == 0:
            sweep(self.rig.store, self.queue, self.sweep_policy, now=self.sandbox.clock.now())
        self.queue.release_due(second)
        self.trigger(second)

    def deliver(self, sent: float, contact: str, activity_id: str) -> None:
        """A webhook reaches the receiver, which (the fast path off) enqueues its contact."""
        self.queue.arrive(contact, sent)

    def trigger(self, now: float) -> None:
        visible = self.queue.visible
        if not visible:
            self.gathering_since = None
            return
        since = now if self.gathering_since is None else self.gathering_since
        self.gathering_since = since
        for slot, busy_until in enumerate(self.slots):
            if not visible:
                break
            if busy_until > now:
                continue
            if len(visible) < self.batch_size and now - since < self.window:
                break
            batch = [visible.popleft() for _ in range(min(self.batch_size, len(visible)))]
            self.slots[slot] = now + self.invoke(batch, now)
            since = now
            self.gathering_since = now if visible else None

    def invoke(self, batch: list[Message], now: float) -> float:
        """Run the relay on one batch; the seconds the invocation keeps its slot."""
        messages = [
            ContactMessage(
                m.id,
                # As the sweep sends them when pacing is on
                release_body(m.contact) if self.paced and m.origin == "sweep" else m.contact,
                DAY + timedelta(seconds=m.sent) if self.coalescing else None,
            )
            for m in batch
        ]
        for message in batch:
            message.receives += 1
        results, _ = self.rig.relay.process(messages, lambda: PLENTY_OF_TIME_MS)
        by_id = {m.id: m for m in batch}
        self.count(results, by_id, now)
        longest = max((r.requests for r in results), default=0)
        # A 429 without Retry-After is not retried: it costs one request's time, counted above.
        busy = 1 + SECONDS_PER_REQUEST * longest
        return math.ceil(busy)

    def count(self, results: list[MessageResult], by_id: dict[str, Message], now: float) -> None:
        tally = self.tally
        tally.invocations += 1
        tally.received += len(results)
        synced_contacts = set()
        for result in results:
            tally.engine_requests += result.requests
            disposition = result.disposition
            if disposition is Disposition.SYNCED:
                synced_contacts.add(result.contact_id)
            elif disposition is Disposition.COALESCED:
                tally.coalesced += 1
            elif disposition is Disposition.DEFERRED and (result.reason or "").startswith("paced"):
                tally.paced_messages += 1
            elif disposition is Disposition.DEFERRED:
                tally.deferred_messages += 1
                if self.quota_exhausted_at is None:
                    self.quota_exhausted_at = now
            elif disposition is Disposition.NOT_FOUND:
                tally.not_found += 1
            elif disposition is Disposition.RETRY:
                message = by_id[result.message_id]
                reason = result.reason or ""
                message.reasons.append(reason)
                if "rate limited" in reason:
                    tally.rate_limited += 1
                if message.receives >= MAX_RECEIVE_COUNT:
                    tally.dead_lettered += 1
                    self.dead_letter(message, now)
                else:
                    tally.retries += 1
                    self.queue.later(message, now + VISIBILITY_TIMEOUT)
            else:
                raise AssertionError(f"unexpected disposition {disposition}: {result}")
        synced = sum(r.disposition is Disposition.SYNCED for r in results)
        tally.syncs += len(synced_contacts)
        tally.merged += synced - len(synced_contacts)

    def dead_letter(self, message: Message, now: float) -> None:
        deferred_until = self.rig.store.deferred.get(message.contact)
        self.dead_letters.append(
            {
                "message": message.id,
                "contact": message.contact,
                "origin": message.origin,
                "sent": clock_time(message.sent),
                "dead_lettered": clock_time(now),
                "reasons": message.reasons,
                # Still deferred: a later sweep enqueues the contact again.
                "contact_deferred_until": None
                if deferred_until is None
                else deferred_until.isoformat(),
            }
        )

    # --- checks ---------------------------------------------------------------------------

    def unpublished(self) -> dict[str, int]:
        """Per contact, activities the sandbox holds that were never published."""
        published = self.baseline | set(self.rig.publisher.ids)
        missing = {}
        for contact in self.stream.contacts:
            count = sum(1 for a in self.sandbox.activities(contact) if a["id"] not in published)
            if count:
                missing[contact] = count
        return missing

    def served(self) -> tuple[int, int, int]:
        """(requests the API answered, quota units they used, 429s): 429s use none."""
        log = self.sandbox.request_log
        limited = sum(1 for r in log if r.status == 429)
        return len(log), sum(1 for r in log if r.status not in (429, None)), limited

    def latencies(self, before: datetime | None = None) -> list[float]:
        """Seconds from logging to first publication of the stream's activities published
        (before `before`), sorted."""
        first = self.rig.publisher.first_delivered_at
        return sorted(
            (first[a.activity_id] - (DAY + timedelta(seconds=a.at))).total_seconds()
            for a in self.stream.activities
            if a.activity_id in first and (before is None or first[a.activity_id] < before)
        )

    def end_of_day(self) -> dict[str, object]:
        self.day_tally = replace(self.tally)
        self.day_swept = self.queue.swept
        active = {a.contact for a in self.stream.activities}
        missing = self.unpublished()
        kept = len(active - set(missing))
        requests, units, limited = self.served()
        self.day_requests = (requests, units, limited)
        delays = self.latencies(before=DAY + timedelta(days=1))
        return {
            "requests_served": requests,
            "quota_units_used": units,
            "answered_429": limited,
            "requests_counted_by_engine": self.tally.engine_requests,
            "messages_sent": self.queue.sent,
            **{f"messages_{k}" if k == "received" else k: v for k, v in vars(self.tally).items()},
            "quota_exhausted_at": None
            if self.quota_exhausted_at is None
            else clock_time(self.quota_exhausted_at),
            "deferred_contacts_at_end_of_day": len(self.rig.store.deferred),
            "messages_in_flight_at_end_of_day": len(self.queue.pending) + len(self.queue.visible),
            "contacts_with_activity": len(active),
            "contacts_kept_in_sync": kept,
            "contacts_kept_in_sync_share": kept / len(active) if active else None,
            "contacts_out_of_sync_without_activity": len(set(missing) - active),
            "activities_unpublished_at_end_of_day": sum(missing.values()),
            "requests_per_synced_contact": units / kept if kept else None,
            "activities_published_that_day": len(delays),
            "publication_delay_p50_s": percentile(delays, 0.5),
            "publication_delay_p95_s": percentile(delays, 0.95),
        }

    def end_of_catch_up(self, finished: int | None, last: int) -> dict[str, object]:
        requests, units, limited = self.served()
        missing = self.unpublished()
        ids = self.rig.publisher.ids
        duplicates = len(ids) - len(set(ids)) + len(set(ids) & self.baseline)
        first = self.rig.publisher.first_delivered_at
        stream_ids = [a.activity_id for a in self.stream.activities]
        everything_at = (
            max(first[i] for i in stream_ids) if all(i in first for i in stream_ids) else None
        )
        delays = self.latencies()
        swept_after = self.queue.swept_per_contact
        return {
            "finished_at": None if finished is None else clock_time(finished),
            "simulated_until": clock_time(last),
            "sweeps_enqueueing": len(self.queue.sweeps_enqueueing),
            "swept_contacts": self.queue.swept - self.day_swept,
            "contacts_swept_more_than_once": sum(1 for n in swept_after.values() if n > 1),
            "messages_received": self.tally.received - self.day_tally.received,
            "coalesced": self.tally.coalesced - self.day_tally.coalesced,
            "requests_served": requests - self.day_requests[0],
            "quota_units_used": units - self.day_requests[1],
            "requests_counted_by_engine": self.tally.engine_requests
            - self.day_tally.engine_requests,
            "answered_429": limited - self.day_requests[2],
            "retries": self.tally.retries - self.day_tally.retries,
            "dead_lettered": self.tally.dead_lettered - self.day_tally.dead_lettered,
            "deferred_contacts_left": len(self.rig.store.deferred),
            "activities_never_published": sum(missing.values()),
            "duplicates_published": duplicates,
            "everything_published_at": None
            if everything_at is None
            else clock_time((everything_at - DAY).total_seconds()),
            "latency_p50_s": percentile(delays, 0.5),
            "latency_p95_s": percentile(delays, 0.95),
            "latency_max_s": delays[-1] if delays else None,
            "nothing_lost": not missing,
        }


def run(
    contacts: int = 2_000,
    activities: int = 2_500,
    delays: Sequence[int] = DEFAULT_DELAYS,
    window: float = 0.0,
    seed: int = 2026,
    plan: Plan = PRO,
    sweep_per_minute: int | None = None,
    paced_delays: Sequence[int] = (),
    coalescing_off: bool = True,
) -> dict[str, object]:
    """`sweep_per_minute`: the sweep's requests_per_minute (RequestsPerMinute), by default the
    plan's per-minute limit, as the template asks a Pro user to set it. `delays`: runs with
    pacing off (first come, first served); `paced_delays`: runs with pacing on (the template's
    default), the sweep every minute; `coalescing_off`: the "no coalescing" run too."""
    per_minute = plan.per_minute if sweep_per_minute is None else sweep_per_minute
    started = time.perf_counter()
    stream = make_stream(contacts, activities, seed)
    baseline = Baseline.sync(stream, seed)
    baseline_seconds = time.perf_counter() - started

    modes = [(f"delay {d} s", d, True, False) for d in delays]
    if coalescing_off:
        modes.append(("no coalescing", 0, False, False))
    modes += [(f"paced, delay {d} s", d, True, True) for d in paced_delays]
    runs: dict[str, dict[str, object]] = {}
    failures: list[str] = []
    for name, delay, coalescing, paced in modes:
        run_started = time.perf_counter()
        pacing = PacePolicy(reserve=0, default_limit=100) if paced else None
        with baseline.day(plan, pacing) as rig:
            simulation = Simulation(
                rig,
                stream,
                window=window,
                coalescing=coalescing,
                baseline=baseline.ids,
                delay=delay,
                requests_per_minute=per_minute,
                pacing=pacing,
            )
            figures = simulation.run()
            if rig.rejections.rejected:
                failures.append(f"{name}: messages rejected: {rig.rejections.rejected[:3]}")
        figures["dead_letters"] = simulation.dead_letters
        figures["wall_seconds"] = round(time.perf_counter() - run_started, 1)
        failures += check(name, figures)
        runs[name] = figures

    hourly = Counter(int(a.at // 3600) for a in stream.activities)
    return {
        "stream": {
            "contacts": contacts,
            "baseline_activities": sum(stream.history.values()),
            "activities": len(stream.activities),
            "touches": stream.touches,
            "backdated": stream.backdated,
            "webhook_messages": len(stream.webhooks),
            "duplicate_deliveries": stream.duplicates,
            "contacts_with_activity": len({a.contact for a in stream.activities}),
            "busiest_contact_activities": max(
                Counter(a.contact for a in stream.activities).values()
            ),
            "activities_per_hour": [hourly.get(h, 0) for h in range(24)],
        },
        "plan": {"name": plan.name, "per_day": plan.per_day, "per_minute": plan.per_minute},
        "window_s": window,
        "sweep_requests_per_minute": per_minute,
        "runs": runs,
        "baseline_wall_seconds": round(baseline_seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "failures": failures,
        "ok": not failures,
    }


def check(name: str, figures: dict[str, object]) -> list[str]:
    failures = []
    catch_up = figures["catch_up"]
    assert isinstance(catch_up, dict)
    for period, part in (("the day", figures), ("the catch-up", catch_up)):
        served, counted = part["requests_served"], part["requests_counted_by_engine"]
        assert isinstance(served, int)
        assert isinstance(counted, int)
        # Every request a sync sends is counted, whatever the answer (429s and retries too).
        if counted != served:
            failures.append(
                f"{name}, {period}: the relay counted {counted} requests, the API received {served}"
            )
    if not catch_up["nothing_lost"]:
        failures.append(f"{name}: {catch_up['activities_never_published']} never published")
    if catch_up["finished_at"] is None:
        failures.append(
            f"{name}: not caught up by {catch_up['simulated_until']} "
            f"({catch_up['deferred_contacts_left']} contacts still deferred)"
        )
    dead_letters = figures["dead_letters"]
    assert isinstance(dead_letters, list)
    if dead_letters:
        origins = Counter(str(d["origin"]) for d in dead_letters)
        still_deferred = sum(1 for d in dead_letters if d["contact_deferred_until"] is not None)
        first = dead_letters[0]
        reasons = first["reasons"]
        assert isinstance(reasons, list)
        failures.append(
            f"{name}: {len(dead_letters)} messages dead-lettered ({dict(origins)}); "
            f"{still_deferred} of their contacts still deferred (a later sweep enqueues them "
            f"again); first: {first['message']} ({first['origin']}, sent {first['sent']}, "
            f"dead-lettered {first['dead_lettered']}): {str(reasons[-1])[:40]}"
        )
    if catch_up["duplicates_published"]:
        failures.append(f"{name}: {catch_up['duplicates_published']} published twice")
    return failures


ROWS = (
    ("requests served (API)", "requests_served"),
    ("  of which 429", "answered_429"),
    ("quota units used", "quota_units_used"),
    ("messages sent", "messages_sent"),
    ("messages received", "messages_received"),
    ("invocations", "invocations"),
    ("syncs", "syncs"),
    ("coalesced (no request)", "coalesced"),
    ("merged into a batch-mate's sync", "merged"),
    ("deferred by the quota (messages)", "deferred_messages"),
    ("paced: waited (messages)", "paced_messages"),
    ("retried (messages)", "retries"),
    ("dead-lettered", "dead_lettered"),
    ("quota exhausted at", "quota_exhausted_at"),
    ("deferred contacts at 23:59:59", "deferred_contacts_at_end_of_day"),
    ("contacts with activity", "contacts_with_activity"),
    ("contacts kept in sync at 23:59:59", "contacts_kept_in_sync"),
    ("  share of the active", "contacts_kept_in_sync_share"),
    ("activities unpublished at 23:59:59", "activities_unpublished_at_end_of_day"),
    ("requests per synced contact", "requests_per_synced_contact"),
    ("latency p50, published that day (s)", "publication_delay_p50_s"),
    ("latency p95, published that day (s)", "publication_delay_p95_s"),
)
CATCH_UP_ROWS = (
    ("after: contacts swept", "swept_contacts"),
    ("after: contacts swept more than once", "contacts_swept_more_than_once"),
    ("after: messages received", "messages_received"),
    ("after: coalesced", "coalesced"),
    ("after: quota units used", "quota_units_used"),
    ("after: 429 answers", "answered_429"),
    ("after: retried (messages)", "retries"),
    ("after: dead-lettered", "dead_lettered"),
    ("caught up at", "finished_at"),
    ("everything published at", "everything_published_at"),
    ("latency p50, all activities (s)", "latency_p50_s"),
    ("latency p95, all activities (s)", "latency_p95_s"),
    ("latency max, all activities (s)", "latency_max_s"),
    ("nothing lost (all published once)", "nothing_lost"),
)


def report(figures: dict[str, object]) -> str:
    stream = figures["stream"]
    runs = figures["runs"]
    assert isinstance(stream, dict)
    assert isinstance(runs, dict)
    names = list(runs)
    rows = [[label, *(shown_rounded(runs[n][key]) for n in names)] for label, key in ROWS]
    rows += [
        [label, *(shown_rounded(runs[n]["catch_up"][key]) for n in names)]
        for label, key in CATCH_UP_ROWS
    ]
    rows.append(["wall time (s)", *(f"{runs[n]['wall_seconds']:.1f}" for n in names)])
    per_hour = stream["activities_per_hour"]
    plan = figures["plan"]
    assert isinstance(plan, dict)
    return "\n".join(
        [
            f"Simulated {plan['name']} day ({plan['per_day']:,} requests/day, "
            f"{plan['per_minute']}/min), {stream['contacts']:,} contacts "
            f"({stream['baseline_activities']:,} activities synced beforehand)",
            f"Stream: {stream['activities']:,} activities in {stream['touches']:,} touches on "
            f"{stream['contacts_with_activity']:,} contacts (busiest: "
            f"{stream['busiest_contact_activities']}), {stream['backdated']} backdated; "
            f"{stream['webhook_messages']:,} webhook messages "
            f"({stream['duplicate_deliveries']} duplicate deliveries)",
            "Activities per hour (UTC): " + " ".join(str(n) for n in per_hour),
            f"Trigger: batch size 10 (1 without coalescing), batching window "
            f"{figures['window_s']:g} s, 2 concurrent invocations; sweep every 15 min "
            "(every minute when paced), "
            f"{figures['sweep_requests_per_minute']} requests/min; columns: the queue's "
            "DelaySeconds",
            "",
            table(["", *names], rows),
            "",
            "requests per synced contact = quota units used that day / contacts with activity "
            "kept in sync; after = after 23:59:59, until caught up (at most 48 h after 00:00)",
            f"baseline build and sync: {figures['baseline_wall_seconds']} s; "
            f"total wall time {figures['wall_seconds']} s",
        ]
    )


PRESETS = {
    # plan, contacts, activities
    "pro": (PRO, 2_000, 2_500),
    "starter": (STARTER, 200, 250),
}
DEFAULT_PACED_DELAYS = (0, 300, 900)


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(__doc__, seed=2026)
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="pro",
        help="pro: 1,000 a day, 50 a minute, 2,000 contacts, 2,500 activities; starter: 100, "
        "10, 200, 250. --contacts/--activities/--per-day/--per-minute override it",
    )
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--activities", type=int, default=None)
    parser.add_argument(
        "--load", type=float, default=1.0, help="scale the activities (0.1: a tenth of the load)"
    )
    parser.add_argument(
        "--paced-delays",
        default=",".join(str(d) for d in DEFAULT_PACED_DELAYS),
        help="DelaySeconds of the runs with pacing on (the default), comma-separated; '' none",
    )
    parser.add_argument(
        "--delays",
        default=",".join(str(d) for d in DEFAULT_DELAYS),
        help="the contact queue's DelaySeconds (0-900) of the coalescing runs, comma-separated",
    )
    parser.add_argument(
        "--window", type=float, default=0.0, help="batching window (s) of every run"
    )
    parser.add_argument("--per-day", type=int, default=None, help="daily quota")
    parser.add_argument(
        "--per-minute",
        type=int,
        default=None,
        help="per-minute quota (also the sweep's requests_per_minute unless --sweep-per-minute)",
    )
    parser.add_argument(
        "--sweep-per-minute",
        type=int,
        default=None,
        help="the sweep's requests_per_minute (RequestsPerMinute); default: --per-minute",
    )
    # Deferrals log a warning per contact: thousands over a simulated day.
    args = parser.parse_quietly(argv)
    delays = [int(d) for d in args.delays.split(",") if d.strip()]
    paced_delays = [int(d) for d in args.paced_delays.split(",") if d.strip()]
    if any(not 0 <= d <= MAX_DELAY_SECONDS for d in [*delays, *paced_delays]):
        parser.error(f"--delays, --paced-delays: each between 0 and {MAX_DELAY_SECONDS}")
    preset, preset_contacts, preset_activities = PRESETS[args.preset]
    per_day = preset.per_day if args.per_day is None else args.per_day
    per_minute = preset.per_minute if args.per_minute is None else args.per_minute
    plan = (
        preset
        if (per_day, per_minute) == (preset.per_day, preset.per_minute)
        else Plan("custom", per_day, per_minute)
    )
    activities = preset_activities if args.activities is None else args.activities
    figures = run(
        preset_contacts if args.contacts is None else args.contacts,
        max(1, round(activities * args.load)),
        delays,
        args.window,
        args.seed,
        plan,
        sweep_per_minute=args.sweep_per_minute,
        paced_delays=paced_delays,
    )
    return conclude(figures, report, args.json)


if __name__ == "__main__":
    sys.exit(main())
