"""Nothing missed while an endpoint is disabled (point 7): its deliveries are parked, not sent
and not dead-lettered, and each is sent exactly once after it is enabled, whoever claims it
(`relay webhooks enable`, or the deliverer that finds it enabled meanwhile)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from activity_relay.core.webhooks_out.attempts import RetrySchedule
from activity_relay.core.webhooks_out.delivery import Fate
from activity_relay.core.webhooks_out.endpoints import Endpoint
from activity_relay.core.webhooks_out.parking import HOLD, resume_parked
from activity_relay.core.webhooks_out.ports import Delivery
from tests.support.webhooks_out import START, Simulation, event, make_endpoint, status

SCHEDULE = RetrySchedule.parse("5s,5m")


def enable(sim: Simulation, endpoint_id: str) -> int:
    """What `relay webhooks enable` does: enable, then queue what was parked."""
    sim.store.enable(endpoint_id)
    resumed = resume_parked(sim.ledger, sim.queue, endpoint_id, now=sim.clock.now)
    assert resumed.unsent == 0
    return resumed.queued


def parked_while_disabled(count: int) -> tuple[Simulation, Endpoint]:
    """A disabled endpoint and `count` events published to it since, each delivery parked."""
    sim = Simulation(SCHEDULE)
    endpoint = sim.store.add(make_endpoint())
    sim.store.disable(endpoint.endpoint_id, "by hand", START)
    sim.publish(*(event(f"act_{n}") for n in range(count)))
    sim.run()
    return sim, endpoint


def test_events_published_while_disabled_are_sent_once_each_after_enable() -> None:
    sim, endpoint = parked_while_disabled(20)

    assert sim.sender.posts == []
    assert sim.dead_letters.letters == []
    assert {r.fate for r in sim.results} == {Fate.PARKED}

    assert enable(sim, endpoint.endpoint_id) == 20
    sim.run()

    ids = [p.headers["webhook-id"] for p in sim.sender.to(endpoint.url)]
    assert sorted(ids) == sorted(f"act_{n}" for n in range(20))
    assert list(sim.ledger.parked(endpoint.endpoint_id)) == []
    assert enable(sim, endpoint.endpoint_id) == 0  # a second enable sends nothing again


def test_a_delivery_retrying_when_its_endpoint_is_disabled_is_parked_and_resumes() -> None:
    sim = Simulation(SCHEDULE)
    endpoint = sim.store.add(make_endpoint())
    sim.sender.scripts[endpoint.url] = [status(500), status(500)]
    sim.publish(event())
    sim.run(until=START)  # the first attempt fails; the retry waits 5 s
    sim.store.disable(endpoint.endpoint_id, "by hand", START)
    sim.run()
    assert [r.fate for r in sim.results] == [Fate.RETRY, Fate.PARKED]

    enable(sim, endpoint.endpoint_id)
    sim.sender.scripts[endpoint.url] = []
    sim.run()

    assert [r.fate for r in sim.results][-1] is Fate.DELIVERED
    assert len(sim.sender.posts) == 2


class EnabledOnSecondRead:
    """An endpoint store whose endpoint is enabled between the deliverer's two reads."""

    def __init__(self, sim: Simulation, endpoint: Endpoint) -> None:
        self.sim = sim
        self.endpoint = endpoint
        self.reads = 0

    def __call__(self, endpoint_id: str) -> Endpoint | None:
        self.reads += 1
        if self.reads == 2:
            self.sim.store.enable(endpoint_id)
        return self.sim.store.endpoints_by_id.get(endpoint_id)


def test_enabled_while_parking_the_deliverer_claims_it_back_and_sends_it_once() -> None:
    sim = Simulation(SCHEDULE)
    endpoint = sim.store.add(make_endpoint(enabled=False))
    sim.publish(event())
    sim.store.get = EnabledOnSecondRead(sim, endpoint)  # type: ignore[method-assign]

    sim.run()

    assert [r.fate for r in sim.results] == [Fate.DELIVERED]
    assert list(sim.ledger.parked(endpoint.endpoint_id)) == []
    assert enable(sim, endpoint.endpoint_id) == 0  # nothing left for the CLI to send twice


def test_if_the_cli_claimed_it_first_the_deliverer_leaves_it() -> None:
    sim = Simulation(SCHEDULE)
    endpoint = sim.store.add(make_endpoint(enabled=False))
    sim.publish(event())
    original_park = sim.ledger.park

    def park_then_cli_enables(delivery: Delivery, event_id: str, at: object) -> None:
        original_park(delivery, event_id, at)  # type: ignore[arg-type]
        enable(sim, endpoint.endpoint_id)  # the CLI runs right after the park

    sim.ledger.park = park_then_cli_enables  # type: ignore[method-assign]
    sim.run(until=START)
    sim.ledger.park = original_park  # type: ignore[method-assign]
    sim.clock.now += timedelta(seconds=1)
    sim.run()

    assert [r.fate for r in sim.results] == [Fate.PARKED, Fate.DELIVERED]
    assert [p.headers["webhook-id"] for p in sim.sender.posts] == ["act_1"]


class Killed(BaseException):
    """The CLI's process killed mid-enable: nothing after this point of it runs."""


def test_an_enable_killed_while_queueing_loses_nothing_and_the_next_one_sends_it() -> None:
    # Given deliveries parked for a disabled endpoint
    sim, endpoint = parked_while_disabled(3)
    assert len(list(sim.ledger.parked(endpoint.endpoint_id))) == 3

    # When an enable is killed after holding them, before anything was queued
    def killed(deliveries: object) -> list[tuple[Delivery, str]]:
        raise Killed

    sim.store.enable(endpoint.endpoint_id)
    with pytest.raises(Killed):
        resume_parked(
            sim.ledger, SimpleNamespace(enqueue=killed), endpoint.endpoint_id, now=sim.clock.now
        )  # type: ignore[arg-type]
    # Then they stay parked, held: an enable at once leaves them to the holder...
    assert len(list(sim.ledger.parked(endpoint.endpoint_id))) == 3
    assert enable(sim, endpoint.endpoint_id) == 0
    # ...and once the dead holder's hold has ended, the next enable sends each, once
    sim.clock.now += HOLD
    assert enable(sim, endpoint.endpoint_id) == 3
    sim.run()
    ids = sorted(p.headers["webhook-id"] for p in sim.sender.to(endpoint.url))
    assert ids == ["act_0", "act_1", "act_2"]
    assert list(sim.ledger.parked(endpoint.endpoint_id)) == []
