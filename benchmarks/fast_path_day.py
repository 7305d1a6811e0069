"""A simulated Pro (or Starter) day with the webhook fast path: the webhooks carry their
activities, a few are lost, and polling only reconciles.

    .venv/bin/python -m benchmarks.fast_path_day [--preset pro|starter] [--load 1.0]
        [--windows 60,360,1440] [--delay 300] [--lost 0.02] [--json]

The day, the stream and the machinery are benchmarks/pro_day.py's (read its docstring): the
same contacts, the same 2,500 activities in 1,428 touches with 41 backdated, the real
`BatchSync`, `SyncEngine`, `LeadLexClient` and `sweep` against the LeadLex sandbox over HTTP,
pacing on as the template deploys it, the queue's DelaySeconds `--delay`. What changes:

* Each activity's webhook carries the activity (`data.activity`, as the sandbox sends it) and
  reaches the real receiver logic, `FastPath` over the relay's state table and its publishers:
  published at once, with no request, and its contact's reconciliation scheduled `--windows`
  minutes later (one run per window; the sweep releases due reconciliations after the waiting
  contacts, and every one left in the day's last hour). A webhook whose activity the state
  cannot name (backdated below its recent window) enqueues its contact, as today.
* `--lost` of the deliveries (2 %, seeded) never arrive: their activities reach the
  subscribers only through a poll. A contact all of whose deliveries that day were lost leaves
  no trace: nothing polls it until StaleAfterHours (off here) or its next webhook, and the
  figures count those apart.
* 1 % of deliveries arrive twice (LeadLex's retries), as in pro_day.

Reported beside pro_day's paced run (`delay D s`, the fast path off, nothing lost): latency from
logging to first publication (p50 / p95 / max) of the activities a webhook carried, and of all;
from the webhook's arrival; contacts in sync at 23:59:59 and the share of them; requests per
active contact (quota units used / contacts with activity); quota used; the lost deliveries'
activities published by 23:59:59 through their contact's reconciliation; duplicates; nothing
lost by the end of the catch-up.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from activity_relay.core.contracts.contact_queue import MAX_DELAY_SECONDS
from activity_relay.core.model import Activity
from activity_relay.core.quota.pacing import PacePolicy
from activity_relay.core.webhooks_in.fast_path import FastPath, FastPathOutcome
from benchmarks._harness import BenchmarkParser, conclude, shown_rounded, table
from benchmarks.pro_day import (
    DAY,
    PRESETS,
    Baseline,
    Simulation,
    check,
    make_stream,
    percentile,
)

DEFAULT_WINDOWS = (60, 360, 1440)


class FastPathSimulation(Simulation):
    """pro_day's simulation with the receiver's fast path in front of the queue."""

    def __init__(
        self, *args: Any, reconcile_window: timedelta, lost: set[int], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fast = FastPath(
            self.rig.store,
            self.rig.publisher,
            clock=self.sandbox.clock.now,
            reconcile_window=reconcile_window,
        )
        self.lost = lost
        self.deliveries = 0
        self.lost_activities: set[str] = set()
        self.arrived_at: dict[str, float] = {}
        self.outcomes: dict[str, int] = {}

    def deliver(self, sent: float, contact: str, activity_id: str) -> None:
        number, self.deliveries = self.deliveries, self.deliveries + 1
        if number in self.lost:
            self.lost_activities.add(activity_id)
            return
        self.arrived_at.setdefault(activity_id, sent)
        raw = {**self.sandbox.activity(activity_id), "contact_id": contact}
        outcome = self.fast.publish(contact, Activity.from_api(raw)).outcome
        self.outcomes[str(outcome)] = self.outcomes.get(str(outcome), 0) + 1
        if outcome is FastPathOutcome.LEFT_TO_A_POLL:
            self.queue.arrive(contact, sent)

    def fast_path_figures(self) -> dict[str, object]:
        first = self.rig.publisher.first_delivered_at
        logged = {a.activity_id: DAY + timedelta(seconds=a.at) for a in self.stream.activities}
        by_webhook = [
            event.event_id for event in self.rig.publisher.delivered if event.origin == "webhook"
        ]
        carried = set(by_webhook)
        reset = DAY + timedelta(days=1)

        def delays(ids: set[str]) -> list[float]:
            return sorted((first[i] - logged[i]).total_seconds() for i in ids if i in first)

        from_arrival = sorted(
            (first[i] - DAY).total_seconds() - self.arrived_at[i]
            for i in carried
            if i in self.arrived_at
        )
        only_lost = {
            a.contact for a in self.stream.activities if a.activity_id in self.lost_activities
        } - {a.contact for a in self.stream.activities if a.activity_id in self.arrived_at}
        lost_ids = self.lost_activities - carried
        lost_contacts_traced = {
            a.activity_id
            for a in self.stream.activities
            if a.activity_id in lost_ids and a.contact not in only_lost
        }
        carried_delays = delays(carried)
        published = self.baseline | set(self.rig.publisher.ids)
        last_delivered: dict[str, float] = {}
        for activity in self.stream.activities:
            if activity.activity_id in self.arrived_at:
                last_delivered[activity.contact] = max(
                    last_delivered.get(activity.contact, 0.0), self.arrived_at[activity.activity_id]
                )
        never = [a for a in self.stream.activities if a.activity_id not in published]
        # Left with no trace: no webhook of its contact arrived after it was logged, so nothing
        # scheduled a poll that could find it (its next webhook's, or StaleAfterHours, would).
        traceless = [a for a in never if last_delivered.get(a.contact, -1.0) < a.at]
        return {
            "never_published": len(never),
            "never_published_without_a_trace": len(traceless),
            "webhook_outcomes": dict(sorted(self.outcomes.items())),
            "activities_carried_by_webhooks": len(carried),
            "carried_latency_p50_s": percentile(carried_delays, 0.5),
            "carried_latency_p95_s": percentile(carried_delays, 0.95),
            "carried_latency_max_s": carried_delays[-1] if carried_delays else None,
            "carried_from_arrival_p95_s": percentile(from_arrival, 0.95),
            "deliveries_lost": len(self.lost),
            "activities_of_lost_deliveries": len(lost_ids),
            "lost_on_traced_contacts": len(lost_contacts_traced),
            "lost_published_before_reset": sum(
                1 for i in lost_contacts_traced if i in first and first[i] < reset
            ),
            "contacts_all_lost": len(only_lost),
        }


def run(
    preset: str = "pro",
    load: float = 1.0,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    delay: int = 300,
    lost_share: float = 0.02,
    seed: int = 2026,
) -> dict[str, object]:
    plan, contacts_n, activities_n = PRESETS[preset]
    started = time.perf_counter()
    stream = make_stream(contacts_n, max(1, round(activities_n * load)), seed)
    baseline = Baseline.sync(stream, seed)
    rng = random.Random(seed + 1)
    lost = {i for i in range(len(stream.webhooks)) if rng.random() < lost_share}
    runs: dict[str, dict[str, object]] = {}
    failures: list[str] = []
    modes: list[tuple[str, int | None]] = [(f"paced, delay {delay} s (no fast path)", None)]
    modes += [(f"fast path, window {w} min", w) for w in windows]
    for name, window in modes:
        run_started = time.perf_counter()
        pacing = PacePolicy(reserve=0, default_limit=100)
        with baseline.day(plan, pacing) as rig:
            common: dict[str, Any] = {
                "window": 0.0,
                "coalescing": True,
                "baseline": baseline.ids,
                "delay": delay,
                "requests_per_minute": plan.per_minute,
                "pacing": pacing,
            }
            simulation: Simulation
            if window is None:
                simulation = Simulation(rig, stream, **common)
            else:
                simulation = FastPathSimulation(
                    rig,
                    stream,
                    reconcile_window=timedelta(minutes=window),
                    lost=lost,
                    **common,
                )
            figures = simulation.run()
            if isinstance(simulation, FastPathSimulation):
                figures["fast_path"] = simulation.fast_path_figures()
                failures += traced_losses(name, figures)
        active = figures["contacts_with_activity"]
        assert isinstance(active, int)
        units = figures["quota_units_used"]
        assert isinstance(units, int)
        figures["requests_per_active_contact"] = units / active if active else None
        figures["dead_letters"] = simulation.dead_letters
        figures["wall_seconds"] = round(time.perf_counter() - run_started, 1)
        failures += [
            failure
            for failure in check(name, figures)
            # The fast-path runs' losses are judged by traced_losses: a delivery lost without
            # a trace cannot be published by anything but a later poll of its contact.
            if not ("fast_path" in figures and failure.endswith("never published"))
        ]
        runs[name] = figures
    return {
        "preset": preset,
        "plan": {"name": plan.name, "per_day": plan.per_day, "per_minute": plan.per_minute},
        "activities": len(stream.activities),
        "touches": stream.touches,
        "backdated": stream.backdated,
        "webhook_deliveries": len(stream.webhooks),
        "lost_share": lost_share,
        "delay_s": delay,
        "runs": runs,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "failures": failures,
        "ok": not failures,
    }


def traced_losses(name: str, figures: dict[str, Any]) -> list[str]:
    """A lost delivery whose contact had a later webhook must have been published by the
    reconciliation that webhook scheduled: anything else is a loss of the relay's."""
    fast_path = figures["fast_path"]
    traced = fast_path["never_published"] - fast_path["never_published_without_a_trace"]
    return (
        [f"{name}: {traced} activities never published despite a later webhook"] if traced else []
    )


ROWS = (
    ("contacts with activity", "contacts_with_activity", None),
    ("contacts in sync at 23:59:59", "contacts_kept_in_sync", None),
    ("  share", "contacts_kept_in_sync_share", None),
    ("quota units used that day", "quota_units_used", None),
    ("requests per active contact", "requests_per_active_contact", None),
    ("latency p50, published that day (s)", "publication_delay_p50_s", None),
    ("latency p95, published that day (s)", "publication_delay_p95_s", None),
    ("webhook-carried: latency p50 (s)", "carried_latency_p50_s", "fast_path"),
    ("webhook-carried: latency p95 (s)", "carried_latency_p95_s", "fast_path"),
    ("webhook-carried: latency max (s)", "carried_latency_max_s", "fast_path"),
    ("webhook-carried: p95 from arrival (s)", "carried_from_arrival_p95_s", "fast_path"),
    ("deliveries lost", "deliveries_lost", "fast_path"),
    ("their activities (not carried)", "activities_of_lost_deliveries", "fast_path"),
    (
        "  on contacts with another webhook",
        "lost_on_traced_contacts",
        "fast_path",
    ),
    ("  published before the reset", "lost_published_before_reset", "fast_path"),
    (
        "contacts whose every delivery was lost",
        "contacts_all_lost",
        "fast_path",
    ),
    ("after: quota units used", "quota_units_used", "catch_up"),
    ("latency p95, all activities (s)", "latency_p95_s", "catch_up"),
    ("latency max, all activities (s)", "latency_max_s", "catch_up"),
    ("duplicates published", "duplicates_published", "catch_up"),
    ("never published", "never_published", "fast_path"),
    ("  left without a trace", "never_published_without_a_trace", "fast_path"),
    ("nothing lost (all published)", "nothing_lost", "catch_up"),
)


def report(figures: dict[str, object]) -> str:
    runs = figures["runs"]
    assert isinstance(runs, dict)
    names = list(runs)

    def value(run: dict[str, Any], key: str, part: str | None) -> object:
        found = (run.get(part) or {}) if part else run
        return shown_rounded(found.get(key))

    rows = [[label, *(value(runs[n], key, part) for n in names)] for label, key, part in ROWS]
    plan = figures["plan"]
    assert isinstance(plan, dict)
    return "\n".join(
        [
            f"Simulated {plan['name']} day ({plan['per_day']:,}/day, {plan['per_minute']}/min), "
            f"pacing on, DelaySeconds {figures['delay_s']}: {figures['activities']:,} activities "
            f"in {figures['touches']:,} touches ({figures['backdated']} backdated), "
            f"{figures['webhook_deliveries']:,} deliveries, {figures['lost_share']:.0%} of them "
            "lost in the fast-path runs",
            "",
            table(["", *names], rows),
            "",
            f"wall time {figures['wall_seconds']} s",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(__doc__, seed=2026)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="pro")
    parser.add_argument("--load", type=float, default=1.0)
    parser.add_argument(
        "--windows",
        default=",".join(str(w) for w in DEFAULT_WINDOWS),
        help="reconcile windows (minutes), comma-separated: one fast-path run each",
    )
    parser.add_argument("--delay", type=int, default=300, help="the queue's DelaySeconds")
    parser.add_argument("--lost", type=float, default=0.02, help="share of deliveries lost")
    args = parser.parse_quietly(argv)
    if not 0 <= args.delay <= MAX_DELAY_SECONDS:
        parser.error(f"--delay: between 0 and {MAX_DELAY_SECONDS}")
    windows = [int(w) for w in args.windows.split(",") if w.strip()]
    figures = run(args.preset, args.load, windows, args.delay, args.lost, args.seed)
    return conclude(figures, report, args.json)


if __name__ == "__main__":
    sys.exit(main())
