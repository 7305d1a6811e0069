"""Sealed secrets (point 5): the endpoint table holds ciphertext bound to its endpoint; the
deliverer unseals it once per container and signs; a secret that cannot be unsealed sends
nothing and costs no attempt; one still in the clear (not migrated) signs, with a warning."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from standardwebhooks import Webhook

from activity_relay.core.webhooks_out.attempts import RetrySchedule
from activity_relay.core.webhooks_out.delivery import Fate
from activity_relay.core.webhooks_out.sealing import SecretKeeper, is_sealed, seal
from activity_relay.core.webhooks_out.signing import SealedSecret, SigningSecret
from tests.support.webhooks_out import FakeSealer, Simulation, event, make_endpoint
from tests.support.webhooks_out import sealed_endpoint as sealed

SCHEDULE = RetrySchedule.parse("5s")


def test_a_sealed_secret_signs_and_is_unsealed_once_per_container() -> None:
    sim = Simulation(SCHEDULE)
    endpoint, secret = sealed(sim.sealer)
    sim.store.add(endpoint)
    sim.publish(*(event(f"act_{n}") for n in range(25)))  # three batches

    sim.run()

    assert len(sim.sender.posts) == 25
    for post in sim.sender.posts:
        signed = Webhook(secret).sign(post.headers["webhook-id"], post.at, post.body.decode())
        assert post.headers["webhook-signature"] == signed
    assert sim.sealer.unseals == 1


def test_a_ciphertext_copied_to_another_endpoint_signs_nothing_and_costs_no_attempt() -> None:
    sim = Simulation(SCHEDULE)
    victim, _ = sealed(sim.sealer)
    thief, _ = sealed(sim.sealer)
    sim.store.add(replace(thief, secrets=victim.secrets))  # a table writer's swap
    sim.publish(event())

    results = sim.deliverer.deliver(sim.queue.receive(), lambda: 60_000)

    assert [r.fate for r in results] == [Fate.RETURNED]
    assert sim.sender.posts == []
    assert sim.ledger.counts == {}


def test_the_key_out_of_reach_returns_the_delivery_unsent() -> None:
    sim = Simulation(SCHEDULE)
    endpoint, _ = sealed(sim.sealer)
    sim.store.add(endpoint)
    sim.sealer.down = True
    sim.publish(event())

    results = sim.deliverer.deliver(sim.queue.receive(), lambda: 60_000)

    assert [r.fate for r in results] == [Fate.RETURNED]
    assert sim.sender.posts == []


def test_a_secret_still_in_the_clear_signs_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = Simulation(SCHEDULE)
    legacy = sim.store.add(make_endpoint())
    sim.publish(event("act_1"), event("act_2"))

    with caplog.at_level(logging.WARNING):
        sim.run()

    assert len(sim.sender.posts) == 2
    warnings = [r.getMessage() for r in caplog.records if "unsealed" in r.getMessage()]
    assert warnings == [
        f"the signing secret of {legacy.endpoint_id} is stored unsealed: "
        "run `relay webhooks migrate`"
    ]
    assert legacy.secrets[0].value not in caplog.text  # type: ignore[union-attr]


def test_migration_seals_each_secret_for_its_endpoint_keeping_its_expiry() -> None:
    sealer = FakeSealer()
    legacy = make_endpoint()
    old = legacy.secrets[0]
    assert isinstance(old, SigningSecret)
    assert not is_sealed(legacy)

    migrated = replace(
        legacy, secrets=tuple(seal(sealer, legacy.endpoint_id, s) for s in legacy.secrets)
    )

    assert is_sealed(migrated)
    (secret,) = migrated.secrets
    assert isinstance(secret, SealedSecret)
    assert SecretKeeper(sealer).signing_secrets(migrated) == (old,)
