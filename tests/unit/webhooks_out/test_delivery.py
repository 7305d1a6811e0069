"""Fan-out and delivery on a fake clock: the delivery queue's visibility carries the retries."""

from __future__ import annotations

import json
from datetime import timedelta

from standardwebhooks import Webhook

from activity_relay.core.webhooks_out.attempts import AttemptOutcome, RetrySchedule
from activity_relay.core.webhooks_out.delivery import Fate
from activity_relay.core.webhooks_out.fanout import WebhookFanOut
from tests.support.clock import Clock
from tests.support.webhooks_out import (
    START,
    MemoryDeliveryQueue,
    MemoryEndpointStore,
    MemoryEventStore,
    RecordedWebhookDeadLetters,
    Simulation,
    event,
    make_endpoint,
    status,
)

DEFAULT = RetrySchedule.parse("5s,5m,30m,2h,5h,10h,10h")


def queue_event(simulation: Simulation, *events: object) -> None:
    simulation.publish(*events)  # type: ignore[arg-type]


def test_three_failures_then_200_deliver_exactly_once_after_three_retries() -> None:
    sim = Simulation(DEFAULT)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [status(500), status(502), status(503), status(200)]
    queue_event(sim, event())

    sim.run()

    posts = sim.sender.to(endpoint.url)
    assert [p.at - START for p in posts] == [
        timedelta(0),
        timedelta(seconds=5),
        timedelta(seconds=5 + 300),
        timedelta(seconds=5 + 300 + 1800),
    ]
    assert [r.fate for r in sim.results] == [Fate.RETRY] * 3 + [Fate.DELIVERED]
    assert sim.dead_letters.letters == []
    assert sim.store.get(endpoint.endpoint_id).failure_streak == 0  # type: ignore[union-attr]
    # Every attempt carries the same webhook-id, re-signed with its own timestamp
    assert {p.headers["webhook-id"] for p in posts} == {"act_1"}
    assert len({p.headers["webhook-timestamp"] for p in posts}) == 4


def test_each_attempt_is_signed_for_its_own_timestamp() -> None:
    sim = Simulation(DEFAULT)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [status(500), status(200)]
    queue_event(sim, event())
    sim.run()

    for post in sim.sender.to(endpoint.url):
        webhook = Webhook(endpoint.secrets[0].value)
        expected = webhook.sign(post.headers["webhook-id"], post.at, post.body.decode())
        assert post.headers["webhook-signature"] == expected
        assert post.headers["webhook-timestamp"] == str(int(post.at.timestamp()))


def test_an_endpoint_that_always_fails_is_dead_lettered_after_the_last_attempt() -> None:
    sim = Simulation(DEFAULT)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [status(500)]
    queue_event(sim, event())

    sim.run()

    posts = sim.sender.to(endpoint.url)
    assert len(posts) == 8
    assert posts[-1].at - START == timedelta(seconds=sum(DEFAULT.delays))
    (letter,) = sim.dead_letters.letters
    assert letter["endpoint_id"] == endpoint.endpoint_id
    assert letter["event_id"] == "act_1"
    assert letter["last_status"] == "500"
    assert json.loads(letter["body"])["event_id"] == "act_1"
    # A day and a bit of failing is not yet five: the endpoint stays enabled
    assert sim.store.get(endpoint.endpoint_id).enabled  # type: ignore[union-attr]


def test_an_endpoint_failing_for_five_days_is_disabled_and_then_receives_nothing() -> None:
    sim = Simulation(DEFAULT)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [status(500)]

    # Given an event every 12 hours for a week, all of them failing
    for n in range(14):
        sim.clock.now = START + timedelta(hours=12 * n)
        sim.run(until=sim.clock.now)
        queue_event(sim, event(f"act_{n}"))
        sim.run(until=START + timedelta(hours=12 * (n + 1)) - timedelta(seconds=1))
    sim.run()

    stored = sim.store.get(endpoint.endpoint_id)
    assert stored is not None
    assert not stored.enabled
    assert "5 days" in (stored.disabled_reason or "")
    disabling = [r for r in sim.results if r.disabled_reason]
    assert len(disabling) == 1
    disabled_at = START + timedelta(days=5)
    last_post = max(p.at for p in sim.sender.to(endpoint.url))
    assert disabled_at <= last_post < disabled_at + timedelta(hours=11)
    # Nothing is posted once it is disabled: what came later is parked until it is enabled,
    # and every event is either dead-lettered (out of attempts, or the disabling one) or parked
    dead = {letter["event_id"] for letter in sim.dead_letters.letters}
    parked = {event_id for (_, event_id) in sim.ledger.parked_by_key}
    assert dead.isdisjoint(parked)
    assert dead | parked == {f"act_{n}" for n in range(14)}
    assert {f"act_{n}" for n in range(11, 14)} <= parked


def test_410_disables_the_endpoint_at_once() -> None:
    sim = Simulation(DEFAULT)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [status(410)]
    queue_event(sim, event("act_1"), event("act_2"))

    sim.run()

    stored = sim.store.get(endpoint.endpoint_id)
    assert stored is not None
    assert not stored.enabled
    assert "410" in (stored.disabled_reason or "")
    # The batch's two deliveries went out together; nothing is retried afterwards
    assert len(sim.sender.to(endpoint.url)) == 2
    assert [r.fate for r in sim.results] == [Fate.DEAD_LETTERED] * 2


def test_retry_after_is_honoured_and_capped() -> None:
    sim = Simulation(DEFAULT)
    polite = sim.store.add(make_endpoint("https://polite.example.com/"))
    greedy = sim.store.add(make_endpoint("https://greedy.example.com/"))
    sim.sender.scripts[polite.url] = [status(429, retry_after="120"), status(200)]
    sim.sender.scripts[greedy.url] = [status(503, retry_after=str(30 * 86_400)), status(200)]
    queue_event(sim, event())

    sim.run()

    assert [p.at - START for p in sim.sender.to(polite.url)] == [
        timedelta(0),
        timedelta(seconds=120),
    ]
    # Thirty days asked, the longest step (10 h) granted
    assert [p.at - START for p in sim.sender.to(greedy.url)] == [
        timedelta(0),
        timedelta(hours=10),
    ]


def test_a_failing_endpoint_does_not_hold_back_another() -> None:
    sim = Simulation(DEFAULT)
    failing = sim.store.add(make_endpoint("https://down.example.com/"))
    healthy = sim.store.add(make_endpoint("https://up.example.com/"))
    sim.sender.scripts[failing.url] = [status(500)]
    queue_event(sim, event("act_1"))

    sim.run(until=START)
    queue_event(sim, event("act_2"))
    sim.run(until=START + timedelta(seconds=1))

    # Each event reached the healthy endpoint when it came, whatever the other one's retries
    assert [(p.headers["webhook-id"], p.at) for p in sim.sender.to(healthy.url)] == [
        ("act_1", START),
        ("act_2", START),
    ]


def test_fan_out_applies_each_endpoints_filter() -> None:
    store = MemoryEndpointStore()
    everything = store.add(make_endpoint())
    calls = store.add(make_endpoint(filter_policy={"activity_type": ["call", "meeting"]}))
    removed = store.add(make_endpoint())
    store.remove(removed.endpoint_id, START)
    queue = MemoryDeliveryQueue(Clock(START))

    result = WebhookFanOut(
        store.endpoints, MemoryEventStore(), queue, RecordedWebhookDeadLetters()
    ).fan_out([event("a", "call"), event("b", "note"), event("c", "meeting")])

    assert result.queued == 5
    routed = sorted(
        (m.delivery.endpoint_id, json.loads(m.delivery.body)["event_id"])
        for m in queue.messages.values()
    )
    assert routed == sorted(
        [(everything.endpoint_id, e) for e in "abc"]
        + [(calls.endpoint_id, "a"), (calls.endpoint_id, "c")]
    )


def test_deliveries_to_a_disabled_endpoint_are_parked_unsent() -> None:
    sim = Simulation(DEFAULT)
    endpoint = sim.store.add(make_endpoint())
    queue_event(sim, event())
    sim.store.disable(endpoint.endpoint_id, "by hand", START)

    sim.run()

    assert sim.sender.posts == []
    assert sim.dead_letters.letters == []
    assert [r.fate for r in sim.results] == [Fate.PARKED]
    assert list(sim.ledger.parked_by_key) == [(endpoint.endpoint_id, "act_1")]


def test_deliveries_to_a_removed_endpoint_are_dropped() -> None:
    sim = Simulation(DEFAULT)
    endpoint = sim.store.add(make_endpoint())
    queue_event(sim, event())
    sim.store.remove(endpoint.endpoint_id, START)

    sim.run()

    assert sim.sender.posts == []
    assert [r.fate for r in sim.results] == [Fate.DROPPED]


def test_every_attempt_is_recorded_with_its_status() -> None:
    sim = Simulation(DEFAULT)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [
        AttemptOutcome(None, error="timeout after 15 s"),
        status(200),
    ]
    queue_event(sim, event())
    sim.run()

    assert [(a.attempt, a.status, a.error, a.action) for a in sim.ledger.records] == [
        (1, None, "timeout after 15 s", "retry"),
        (2, 200, None, "delivered"),
    ]


def test_a_retried_attempt_records_when_its_retry_is_due_and_a_final_one_none() -> None:
    sim = Simulation(DEFAULT)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [status(503), status(500), status(200)]
    queue_event(sim, event())
    sim.run()

    first, second, delivered = sim.ledger.records
    assert first.retry_at == first.at + timedelta(seconds=5)
    assert second.retry_at == second.at + timedelta(minutes=5)
    assert delivered.retry_at is None


def test_out_of_time_deliveries_are_returned_unattempted() -> None:
    sim = Simulation(DEFAULT)
    sim.store.add(make_endpoint())
    queue_event(sim, event())

    results = sim.deliverer.deliver(sim.queue.receive(), lambda: 5_000)

    assert [r.fate for r in results] == [Fate.RETURNED]
    assert sim.sender.posts == []
