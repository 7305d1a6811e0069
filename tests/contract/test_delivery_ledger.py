"""DeliveryLedger: MemoryDeliveryLedger agrees with DynamoDbDeliveryLedger (the attempt table,
the reference) on counting each delivery's POSTs, the attempt records, and parking: a parked
delivery is claimed back exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activity_relay.adapters.dynamodb.attempts import DynamoDbDeliveryLedger
from activity_relay.core.webhooks_out.attempts import AttemptRecord
from activity_relay.core.webhooks_out.endpoints import new_endpoint_id
from activity_relay.core.webhooks_out.ports import Delivery, ParkedDelivery
from relay_local.fakes.webhook_records import MemoryDeliveryLedger
from tests.contract.conftest import FAKE, REAL, fake_or_real

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

Ledger = MemoryDeliveryLedger | DynamoDbDeliveryLedger


@pytest.fixture(params=[FAKE, REAL])
def ledger(request: pytest.FixtureRequest) -> Ledger:
    return fake_or_real(
        request, MemoryDeliveryLedger, DynamoDbDeliveryLedger, "dynamodb", "WebhookAttemptTableName"
    )


def test_each_delivery_counts_its_own_posts(ledger: Ledger) -> None:
    endpoint = new_endpoint_id()
    first = Delivery(endpoint, "{}", message_id="m1", receives=7)
    again = Delivery(endpoint, "{}", message_id="m2")  # a redrive: a new message

    counted = [ledger.count_attempt(first, "act_1", T0) for _ in range(3)]

    assert counted == [1, 2, 3]  # whatever the receive count
    assert ledger.count_attempt(again, "act_1", T0) == 1
    assert (
        ledger.count_attempt(Delivery(new_endpoint_id(), "{}", message_id="m1"), "act_1", T0) == 1
    )


def test_attempts_list_newest_first(ledger: Ledger) -> None:
    endpoint = new_endpoint_id()
    for n in (1, 2, 3):
        ledger.record_attempt(
            AttemptRecord(endpoint, "act_1", n, T0 + timedelta(minutes=n), 500, None, 12, "retry")
        )

    assert [a.attempt for a in ledger.attempts(endpoint, limit=2)] == [3, 2]
    assert ledger.attempts(new_endpoint_id()) == []


def test_an_attempt_comes_back_as_it_was_recorded_with_when_its_retry_is_due(
    ledger: Ledger,
) -> None:
    endpoint = new_endpoint_id()
    retried = AttemptRecord(
        endpoint, "act_1", 1, T0, None, "connection refused", 3, "retry", T0 + timedelta(seconds=5)
    )
    delivered = AttemptRecord(
        endpoint, "act_1", 2, T0 + timedelta(seconds=5), 200, None, 9, "delivered"
    )
    ledger.record_attempt(retried)
    ledger.record_attempt(delivered)

    assert ledger.attempts(endpoint) == [delivered, retried]


def test_a_parked_delivery_is_listed_and_claimed_exactly_once(ledger: Ledger) -> None:
    endpoint = new_endpoint_id()
    ledger.park(Delivery(endpoint, '{"event_id": "act_1"}'), "act_1", T0)
    ledger.park(Delivery(endpoint, '{"event_id": "act_2"}'), "act_2", T0)
    ledger.park(Delivery(new_endpoint_id(), '{"event_id": "act_3"}'), "act_3", T0)

    assert sorted(p.event_id for p in ledger.parked(endpoint)) == ["act_1", "act_2"]
    claimed = ledger.claim_parked(endpoint, "act_1", now=T0)
    assert claimed == ParkedDelivery(endpoint, "act_1", '{"event_id": "act_1"}', T0)
    assert ledger.claim_parked(endpoint, "act_1", now=T0) is None
    assert [p.event_id for p in ledger.parked(endpoint)] == ["act_2"]


def test_a_held_parked_delivery_is_neither_claimed_nor_held_again_until_its_hold_ends(
    ledger: Ledger,
) -> None:
    # Given a parked delivery an enable holds for a minute
    endpoint = new_endpoint_id()
    ledger.park(Delivery(endpoint, '{"event_id": "act_1"}'), "act_1", T0)
    until = T0 + timedelta(minutes=1)
    held = ledger.hold_parked(endpoint, "act_1", until=until, now=T0)
    assert held == ParkedDelivery(endpoint, "act_1", '{"event_id": "act_1"}', T0, until)

    # Then, while it holds, the deliverer cannot claim it, nor another enable hold it
    during = T0 + timedelta(seconds=30)
    assert ledger.claim_parked(endpoint, "act_1", now=during) is None
    assert ledger.hold_parked(endpoint, "act_1", until=until, now=during) is None
    assert [p.held_until for p in ledger.parked(endpoint)] == [until]

    # And a hold whose holder died ends: the next enable takes the delivery
    after = until + timedelta(seconds=1)
    assert ledger.hold_parked(endpoint, "act_1", until=after + timedelta(minutes=1), now=after)


def test_a_held_delivery_once_queued_is_released_and_a_gone_one_cannot_be_held(
    ledger: Ledger,
) -> None:
    endpoint = new_endpoint_id()
    ledger.park(Delivery(endpoint, "{}"), "act_1", T0)
    assert ledger.hold_parked(endpoint, "act_1", until=T0 + timedelta(minutes=1), now=T0)

    ledger.release_parked(endpoint, "act_1")

    assert list(ledger.parked(endpoint)) == []
    assert ledger.hold_parked(endpoint, "act_1", until=T0 + timedelta(minutes=1), now=T0) is None
    assert ledger.claim_parked(endpoint, "act_1", now=T0) is None


def test_forgetting_an_endpoint_forgets_everything_of_it(ledger: Ledger) -> None:
    endpoint, other = new_endpoint_id(), new_endpoint_id()
    ledger.park(Delivery(endpoint, "{}"), "act_1", T0)
    ledger.record_attempt(AttemptRecord(endpoint, "act_1", 1, T0, 500, None, 1, "retry"))
    ledger.park(Delivery(other, "{}"), "act_1", T0)

    ledger.forget(endpoint)

    assert list(ledger.parked(endpoint)) == []
    assert ledger.attempts(endpoint) == []
    assert [p.endpoint_id for p in ledger.parked(other)] == [other]


def test_an_event_s_history_is_every_endpoint_s_attempts_and_parked_deliveries(
    ledger: Ledger,
) -> None:
    delivered, parking = new_endpoint_id(), new_endpoint_id()
    event_id = f"act_{new_endpoint_id()}"
    for n, status, action in ((1, 500, "retry"), (2, 200, "delivered")):
        at = T0 + timedelta(seconds=n)
        ledger.record_attempt(AttemptRecord(delivered, event_id, n, at, status, None, 9, action))
    ledger.record_attempt(AttemptRecord(delivered, "act_other", 1, T0, 200, None, 9, "delivered"))
    ledger.count_attempt(Delivery(delivered, "{}", message_id="m1"), event_id, T0)
    ledger.park(Delivery(parking, '{"big": "body"}'), event_id, T0)

    attempts, parked = ledger.history(event_id)

    assert sorted((a.endpoint_id, a.attempt, a.status, a.action) for a in attempts) == [
        (delivered, 1, 500, "retry"),
        (delivered, 2, 200, "delivered"),
    ]
    assert [(p.endpoint_id, p.event_id, p.parked_at, p.body) for p in parked] == [
        (parking, event_id, T0, "")
    ]
    assert ledger.history("act_never") == ([], [])
