"""The benchmarks at a tiny scale: their own correctness checks pass and their figures are sane.

Timing figures are the benchmarks' output, not asserted here.
"""

from __future__ import annotations

import json

import pytest

from activity_relay.core.contracts.contact_queue import QueuedContact
from benchmarks import (
    fast_path_day,
    initial_sync,
    long_sync,
    parallel_batch,
    pro_day,
    receiver_latency,
    requests_per_scenario,
    two_instances,
    webhook_delivery,
    webhook_fast_path,
    webhook_guarantees,
)
from leadlex_sandbox import Plan


def test_first_syncs_that_skip_history_cost_what_they_publish() -> None:
    figures = initial_sync.run(history=1_200, since=(0, 100, 250))

    assert figures["ok"], figures["failures"]
    rows = figures["rows"]
    assert isinstance(rows, list)
    by_name = {row["scenario"]: row for row in rows}
    assert by_name["none, of 1200"]["requests"] == 1
    assert by_name["a date, 250 since, of 1200"]["requests"] == 3
    assert by_name["then 5 new on top"]["requests"] == 1
    # The one-off: the 1,101 left unread (all but 99 of the top page) go out with the new one
    one_off = by_name["then 1 backdated into the 1,101 left unread"]
    assert (one_off["published"], one_off["requests"]) == (1_102, 1 + 12)  # page 1, then 12
    assert by_name["then 1 more backdated there"]["published"] == 1


def test_requests_per_scenario_counts_and_publishes_as_the_readme_says() -> None:
    figures = requests_per_scenario.run(history=500, first=250)

    assert figures["ok"], figures["failures"]
    rows = figures["rows"]
    assert isinstance(rows, list)
    for row in rows:
        assert row["requests"] == row["engine"], row
        if row["model"] is not None:
            assert row["requests"] == row["model"], row
    by_name = {row["scenario"]: row for row in rows}
    assert by_name["(c) 0 new"]["requests"] == 1
    # Read from the end, the first sync also reads the three logged on top while it pages.
    assert by_name["(e) first sync, 3 logged while paging"]["published"] == 253
    assert by_name["(e) follow-up sync"]["published"] == 0


def test_parallel_batch_syncs_every_contact_with_one_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parallel_batch.main(["--runs", "1", "--latency", "0.02", "--batch", "3", "--json"]) == 0

    figures = json.loads(capsys.readouterr().out)
    assert figures["failures"] == []
    assert len(figures["one_contact_s"]) == len(figures["batch_s"]) == 1
    assert figures["median_one_contact_s"] >= 0.02
    assert figures["ratio"] > 0
    # Reported; how many calls three syncs share depends on thread timing at 20 ms latency
    # (tests/unit/sync/test_batch_sync.py pins the packing down deterministically)
    assert figures["publish_calls_one_contact"] == [1]
    assert 1 <= figures["publish_calls_batch"][0] <= 3


def test_pro_day_keeps_active_contacts_in_sync_and_loses_nothing() -> None:
    figures = pro_day.run(contacts=40, activities=50, delays=(0, 300))

    assert figures["ok"], figures["failures"]
    runs = figures["runs"]
    assert isinstance(runs, dict)
    assert set(runs) == {"delay 0 s", "delay 300 s", "no coalescing"}
    for day in runs.values():
        assert day["contacts_kept_in_sync"] == day["contacts_with_activity"] > 0
        assert day["quota_units_used"] == day["requests_counted_by_engine"] >= day["syncs"]
        assert day["messages_received"] == day["messages_sent"] == 50 + _duplicates(figures)
        assert day["catch_up"]["nothing_lost"]
        assert day["dead_letters"] == []
    assert runs["no coalescing"]["syncs"] == runs["no coalescing"]["messages_sent"]
    delayed = runs["delay 300 s"]
    assert isinstance(delayed["publication_delay_p50_s"], float)
    assert delayed["publication_delay_p50_s"] >= 300


def test_pro_day_defers_past_the_quota_and_catches_up_after_the_reset() -> None:
    figures = pro_day.run(contacts=40, activities=60, delays=(0, 120), plan=Plan("tiny", 15, 50))

    assert figures["ok"], figures["failures"]
    runs = figures["runs"]
    assert isinstance(runs, dict)
    for day in runs.values():
        assert day["quota_units_used"] == 15
        assert day["deferred_contacts_at_end_of_day"] > 0
        assert day["contacts_kept_in_sync"] < day["contacts_with_activity"]
        catch_up = day["catch_up"]
        assert catch_up["swept_contacts"] == day["deferred_contacts_at_end_of_day"]
        assert catch_up["nothing_lost"]
        assert catch_up["deferred_contacts_left"] == 0
        assert catch_up["everything_published_at"] is not None


def test_pro_day_dead_letters_are_reported_and_their_contacts_swept_again() -> None:
    # The sweep told 50 a minute while the plan allows 2: its messages bounce off the
    # per-minute limit until the DLQ; the postponed deferrals bring the contacts back.
    figures = pro_day.run(
        contacts=40, activities=60, delays=(0,), plan=Plan("tiny", 15, 2), sweep_per_minute=50
    )

    assert not figures["ok"]
    failures = figures["failures"]
    assert isinstance(failures, list)
    assert failures
    assert all("dead-lettered" in failure for failure in failures), failures
    runs = figures["runs"]
    assert isinstance(runs, dict)
    for day in runs.values():
        dead_letters = day["dead_letters"]
        assert dead_letters
        assert all(d["origin"] == "sweep" for d in dead_letters)
        assert all(d["contact_deferred_until"] is not None for d in dead_letters)
        catch_up = day["catch_up"]
        assert catch_up["contacts_swept_more_than_once"] > 0
        assert catch_up["nothing_lost"]


def test_the_simulated_queue_delays_messages_as_sqs_does() -> None:
    queue = pro_day.SimQueue(delay=300, now=1_000)

    delays = {"a": 0, "b": 60, "c": 900}
    assert queue.send([QueuedContact(c, delay_seconds=d) for c, d in delays.items()]) == []
    queue.arrive("d", 1_000)

    visible_at = sorted((at, message.contact) for at, _, message in queue.pending)
    # A message naming its own delay (0 included) keeps it; one naming none waits the queue's.
    assert visible_at == [(1_000, "a"), (1_060, "b"), (1_300, "d"), (1_900, "c")]
    with pytest.raises(ValueError, match="0-900"):
        queue.send([QueuedContact("e", delay_seconds=901)])


def _duplicates(figures: dict[str, object]) -> int:
    stream = figures["stream"]
    assert isinstance(stream, dict)
    duplicates = stream["duplicate_deliveries"]
    assert isinstance(duplicates, int)
    return duplicates


# --- Pacing (issue 13) -------------------------------------------------------------------------


def test_a_paced_quota_bound_day_keeps_more_in_sync_and_loses_nothing() -> None:
    # A tiny plan the stream exhausts by mid-morning first come, first served
    figures = pro_day.run(
        contacts=40,
        activities=80,
        delays=(0,),
        plan=Plan("tiny", 30, 50),
        paced_delays=(0,),
        coalescing_off=False,
    )

    assert figures["ok"], figures["failures"]
    runs = figures["runs"]
    assert isinstance(runs, dict)
    unpaced, paced = runs["delay 0 s"], runs["paced, delay 0 s"]
    assert paced["paced_messages"] > 0, "contacts ahead of the line waited"
    assert paced["quota_units_used"] <= 30
    assert paced["contacts_kept_in_sync"] > unpaced["contacts_kept_in_sync"]
    assert paced["dead_letters"] == []
    catch_up = paced["catch_up"]
    assert catch_up["nothing_lost"]
    assert catch_up["deferred_contacts_left"] == 0


def test_at_low_load_pacing_costs_nothing() -> None:
    figures = pro_day.run(
        contacts=40, activities=50, delays=(300,), paced_delays=(300,), coalescing_off=False
    )

    assert figures["ok"], figures["failures"]
    runs = figures["runs"]
    assert isinstance(runs, dict)
    unpaced, paced = runs["delay 300 s"], runs["paced, delay 300 s"]
    assert paced["paced_messages"] == 0
    for key in ("publication_delay_p50_s", "publication_delay_p95_s", "contacts_kept_in_sync"):
        assert paced[key] == unpaced[key], key
    assert paced["catch_up"]["latency_max_s"] == unpaced["catch_up"]["latency_max_s"]


def test_two_instances_on_one_contact_publish_nothing_twice() -> None:
    figures = two_instances.run(runs=1, new=5, latency=0.05)

    assert figures["ok"], figures["failures"]
    by_case = {row["case"]: row for row in figures["rows"]}
    during, before, unleased = by_case["sent during"], by_case["sent before"], by_case["no lease"]
    for row in (during, before):
        assert (row["published"], row["duplicates"], row["receive_counts_used"]) == (5, 0, 0)
        assert row["requests_holder_and_loser"] == 1
    assert (during["loser"], during["follow_up"], during["follow_up_published"]) == (
        "requeued",
        "synced",
        0,
    )
    assert during["requests_follow_up"] == 1
    assert before["loser"] == "covered"
    # Without the lease both instances publish the five
    assert unleased["duplicates"] == 5


def test_webhook_delivery_delivers_every_event_once_verified() -> None:
    figures = webhook_delivery.run(deliveries=20, answer_ms=5, latency_events=2)

    assert figures["ok"], figures["failures"]
    assert figures["batches"] == 2  # one instance, batches of 10
    assert figures["deliveries_per_second"] > 0
    assert figures["latency_events"] == 2
    # Each delivery counted once before its POST and recorded once after; the endpoint read
    # once per batch; the sealed secret unsealed (at most once per thread of the first batch)
    calls = figures["calls"]
    assert calls["dynamodb.UpdateItem (count)"] == calls["https POST"] == 20
    assert calls["dynamodb.PutItem (attempt)"] == 20
    assert calls["dynamodb.GetItem"] == 2
    assert 1 <= calls["kms.Decrypt"] <= 10
    where = figures["where_ms"]
    assert where["slowest_delivery"] >= where["post_mean"]
    assert figures["cpu_ms_per_delivery"] > 0


def test_webhook_guarantees_a_large_event_and_what_a_disabled_endpoint_missed() -> None:
    figures = webhook_guarantees.run(endpoints=3, size=250_000, disabled_events=25)

    assert figures["ok"], figures["failures"]
    assert figures["large"]["received"] == 3
    missed = figures["disabled"]
    assert (missed["parked"], missed["posted_while_disabled"]) == (25, 0)
    assert (missed["delivered"], missed["twice"]) == (25, 0)


def test_long_first_syncs_continue_across_cut_off_invocations_without_duplicates() -> None:
    # 1,500 activities at 5 requests a minute: four invocations, each rate limited
    figures = long_sync.first_sync(1_500, Plan("slow", per_day=1_000, per_minute=5))

    assert figures["invocations"] >= 4
    assert figures["all_on_both"]
    assert figures["duplicates"] == figures["dead_letters"] == 0
    assert figures["leadlex_requests_counted"] <= 15 + 1
    assert figures["leadlex_requests_sent"] <= figures["requests_goal"] + 3 * figures["invocations"]


def test_long_syncs_are_cut_at_the_deadline_and_come_back_after_the_visibility_timeout() -> None:
    # Pages of 20 s: an invocation is killed in the middle of its third page, yet the work
    # that was checkpointed holds and the message's next receive finishes the sync.
    original = long_sync.PAGE_SECONDS
    long_sync.PAGE_SECONDS = 20.0
    try:
        figures = long_sync.first_sync(600, "unlimited")
    finally:
        long_sync.PAGE_SECONDS = original
    assert figures["invocations_killed"] >= 1
    assert figures["all_on_both"]
    assert figures["duplicates"] <= 100 * figures["invocations_killed"]
    assert figures["dead_letters"] == 0


def test_a_crash_after_any_aws_call_loses_nothing_and_repeats_at_most_a_slice() -> None:
    figures = long_sync.crash_at_every_call(activities=350)

    assert figures["crashes"] == figures["aws_calls_per_sync"] > 5
    assert figures["activities_lost"] == 0
    assert figures["worst_duplicates_per_crash_per_channel"] <= 100


def test_receiver_latency_answers_warm_and_cold_and_a_delayed_burst_costs_one_sync() -> None:
    figures = receiver_latency.run(warm=5, cold=1, burst=5)

    assert figures["ok"], figures["failures"]
    assert figures["warm_ms"]["calls"] == 5
    (cold,) = figures["cold"]
    assert cold["status"] == 202
    assert cold["process_s"] >= cold["import_s"] + cold["first_request_s"] > 0
    bursts = figures["burst"]
    assert set(bursts) == {"delay 0 s", "delay 3 s"}
    for burst in bursts.values():
        assert burst["published"] == burst["webhooks"] == 5
    assert bursts["delay 3 s"]["leadlex_requests"] <= 2


def test_cold_start_times_each_handler_in_fresh_processes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import cold_start

    # A limit no import can exceed: the figures are reported, not asserted
    assert cold_start.main(["--runs", "1", "--json", "--limit", "1000"]) == 0

    figures = json.loads(capsys.readouterr().out)
    rows = {row["case"]: row for row in figures["rows"]}
    assert set(rows) == {case.name for case in cold_start.CASES}
    assert rows["import boto3"]["ratio"] == 1.0
    assert all(row["median_s"] > 0 for row in rows.values())
    assert figures["over_limit"] == []
    # Every handler's first invocation did its whole job against the stub
    assert figures["failures"] == []
    calls = {row["case"]: row for row in figures["invocations"]}
    assert set(calls) == {invocation.name for invocation in cold_start.invocations()}
    for row in calls.values():
        assert row["cold_s"] == pytest.approx(row["import_s"] + row["first_call_s"], abs=1e-3)
        assert row["warm_call_s"] > 0
    assert calls["receive handler"]["answer"]["statusCode"] == 202
    # And a limit every handler exceeds is reported as a failure
    assert cold_start.main(["--runs", "1", "--json", "--limit", "0.01"]) == 1
    assert json.loads(capsys.readouterr().out)["over_limit"]


def test_the_cold_start_benchmark_fails_a_first_invocation_that_does_not_do_its_job() -> None:
    from benchmarks import cold_start

    assert cold_start.served_in_full({"batchItemFailures": []})
    assert not cold_start.served_in_full({"batchItemFailures": [{"itemIdentifier": "m1"}]})
    assert cold_start.served_in_full({"statusCode": 202})
    assert not cold_start.served_in_full({"statusCode": 503})
    assert cold_start.served_in_full({"budget": 10, "failed": 0})
    assert not cold_start.served_in_full({"error": "CONTACT_QUEUE_URL is required"})


def test_a_fast_path_day_publishes_carried_activities_at_once_and_reconciles_for_less() -> None:
    # Given the Starter day with every webhook carrying its activity and 2% of deliveries lost
    figures = fast_path_day.run(preset="starter", windows=(1440,))

    # Then its own checks pass: every lost delivery's activity on a contact that had another
    # webhook is published by the reconciliation before the reset, and nothing twice
    assert figures["ok"], figures["failures"]
    runs = figures["runs"]
    assert isinstance(runs, dict)
    paced, fast = runs["paced, delay 300 s (no fast path)"], runs["fast path, window 1440 min"]
    carried = fast["fast_path"]
    assert carried["lost_published_before_reset"] == carried["lost_on_traced_contacts"] > 0
    assert fast["catch_up"]["duplicates_published"] == 0
    # And it costs fewer requests and keeps more contacts in sync than the paced poll alone
    assert fast["requests_per_active_contact"] < paced["requests_per_active_contact"]
    assert fast["contacts_kept_in_sync"] > paced["contacts_kept_in_sync"]
    # And the relay's own share of the latency is within the simulation's one-second step
    assert carried["carried_from_arrival_p95_s"] <= 1


def test_the_embedded_fast_path_delivers_every_webhook_once_with_no_leadlex_request() -> None:
    figures = webhook_fast_path.run(webhooks=6, contacts=2, interval=0.01)

    assert figures["ok"], figures["failures"]
    assert figures["leadlex_requests"] == 0
    assert 0 < figures["channels"]["p50_s"] <= figures["channels"]["max_s"]
    assert 0 < figures["endpoint"]["p50_s"] <= figures["endpoint"]["max_s"]
