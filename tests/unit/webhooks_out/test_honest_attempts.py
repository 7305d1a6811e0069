"""Attempts counted honestly (point 3): the attempt number is the POSTs this delivery has sent,
counted before each POST; a receive that sent nothing costs none; a delivery that names no
endpoint, an unknown one, or no event is dead-lettered alone with its reason; on the queue's last
receive a delivery is dead-lettered here, with its endpoint, rather than moved blind by SQS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from activity_relay.core.webhooks_out.attempts import RetrySchedule
from activity_relay.core.webhooks_out.delivery import Fate
from activity_relay.core.webhooks_out.endpoints import new_endpoint_id
from activity_relay.core.webhooks_out.ports import Delivery
from tests.support.webhooks_out import Simulation, document, event, make_endpoint, status

ONE_RETRY = RetrySchedule.parse("1s")


def out_of_time_for(receives: int) -> Callable[[], int]:
    """The invocation's remaining time: too little to start a POST for the first `receives`
    invocations (a throttled or slow batch), plenty afterwards."""
    calls = {"n": 0}

    def remaining() -> int:
        calls["n"] += 1
        return 5_000 if calls["n"] <= receives else 60_000

    return remaining


def test_receives_that_sent_nothing_cost_no_attempt() -> None:
    sim = Simulation(ONE_RETRY)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [status(503)]
    sim.publish(event())

    # Two invocations run out of time before sending; then two POSTs, both 503
    sim.run(remaining_ms=out_of_time_for(2))

    assert [r.fate for r in sim.results] == [
        Fate.RETURNED,
        Fate.RETURNED,
        Fate.RETRY,
        Fate.DEAD_LETTERED,
    ]
    assert len(sim.sender.posts) == 2
    assert [(a.attempt, a.status, a.action) for a in sim.ledger.records] == [
        (1, 503, "retry"),
        (2, 503, "dead_letter"),
    ]
    (letter,) = sim.dead_letters.letters
    assert (letter["attempts"], letter["reason"]) == ("2", "503 after 2 attempt(s)")


def test_the_attempt_is_counted_before_the_post_and_a_failed_count_sends_nothing() -> None:
    sim = Simulation(ONE_RETRY)
    endpoint = sim.store.add(make_endpoint())
    sim.publish(event())
    sim.ledger.down = True

    results = sim.deliverer.deliver(sim.queue.receive(), lambda: 60_000)

    assert [r.fate for r in results] == [Fate.RETURNED]
    assert sim.sender.posts == []
    sim.ledger.down = False
    sim.clock.now += timedelta(seconds=360)
    sim.run()
    assert [p.url for p in sim.sender.posts] == [endpoint.url]
    assert sim.results[-1].attempt == 1  # the failed receive cost nothing


def test_a_delivery_naming_no_endpoint_is_dead_lettered_alone_and_the_rest_go_out() -> None:
    sim = Simulation(ONE_RETRY)
    first = sim.store.add(make_endpoint("https://one.example.com/"))
    second = sim.store.add(make_endpoint("https://two.example.com/"))
    batch = [
        Delivery(first.endpoint_id, document("act_1"), "m1"),
        Delivery("", document("act_2"), "m2"),  # its endpoint attribute lost
        Delivery(second.endpoint_id, document("act_3"), "m3"),
    ]

    results = sim.deliverer.deliver(batch, lambda: 60_000)

    assert [r.fate for r in results] == [Fate.DELIVERED, Fate.DEAD_LETTERED, Fate.DELIVERED]
    assert sorted(p.url for p in sim.sender.posts) == [first.url, second.url]
    (letter,) = sim.dead_letters.letters
    assert (letter["event_id"], letter["reason"]) == ("act_2", "the delivery names no endpoint")


def test_an_unknown_or_malformed_endpoint_is_dead_lettered_with_its_reason() -> None:
    sim = Simulation(ONE_RETRY)
    good = sim.store.add(make_endpoint())
    unknown = new_endpoint_id()
    batch = [
        Delivery(unknown, document("act_1"), "m1"),
        Delivery("../etc/passwd", document("act_2"), "m2"),
        Delivery(good.endpoint_id, "not json", "m3"),
        Delivery(good.endpoint_id, document("act_4"), "m4"),
    ]

    results = sim.deliverer.deliver(batch, lambda: 60_000)

    assert [r.fate for r in results] == [Fate.DEAD_LETTERED] * 3 + [Fate.DELIVERED]
    assert [letter["reason"] for letter in sim.dead_letters.letters] == [
        f"unknown endpoint {unknown}",
        "not an endpoint id: '../etc/passwd'",
        "not an event document (no event_id)",
    ]
    assert [p.headers["webhook-id"] for p in sim.sender.posts] == ["act_4"]


def test_a_removed_endpoint_s_deliveries_are_dropped_and_counted_not_dead_lettered() -> None:
    sim = Simulation(ONE_RETRY)
    endpoint = sim.store.add(make_endpoint())
    sim.publish(event())
    sim.store.remove(endpoint.endpoint_id, sim.clock())

    sim.run()

    assert [r.fate for r in sim.results] == [Fate.DROPPED]
    assert sim.dead_letters.letters == []


def test_on_its_last_receive_a_delivery_that_would_retry_is_dead_lettered_here() -> None:
    # Given a queue that moves a message away after its 3rd receive, and 3 attempts planned
    sim = Simulation(RetrySchedule.parse("1s,1s"), max_receives=3)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [status(500)]
    sim.publish(event())

    # One receive is spent without a POST; the 3rd receive is the 2nd attempt
    sim.run(remaining_ms=out_of_time_for(1))

    assert len(sim.sender.posts) == 2
    assert sim.queue.redriven == []  # SQS never moved it blind
    (letter,) = sim.dead_letters.letters
    assert letter["endpoint_id"] == endpoint.endpoint_id
    assert letter["attempts"] == "2"
    assert "receive limit (3) is reached" in letter["reason"]


def test_on_its_last_receive_a_delivery_not_attempted_is_dead_lettered_with_its_reason() -> None:
    sim = Simulation(ONE_RETRY, max_receives=2)
    endpoint = sim.store.add(make_endpoint())
    sim.publish(event())

    sim.run(remaining_ms=lambda: 5_000)  # never enough time

    assert sim.sender.posts == []
    assert sim.queue.redriven == []
    (letter,) = sim.dead_letters.letters
    assert letter["endpoint_id"] == endpoint.endpoint_id
    assert letter["attempts"] == "0"
    assert letter["reason"] == "the queue's receive limit (2) is reached before it was sent"


def test_a_delivered_post_whose_record_fails_is_still_acknowledged() -> None:
    sim = Simulation(ONE_RETRY)
    sim.store.add(make_endpoint())
    sim.publish(event())

    def failing(record: object) -> None:
        raise ConnectionError("the attempt table is out of reach")

    sim.ledger.record_attempt = failing  # type: ignore[method-assign]
    sim.run()

    assert [r.fate for r in sim.results] == [Fate.DELIVERED]
    assert len(sim.sender.posts) == 1  # not sent again
