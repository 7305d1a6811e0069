"""An event's trace (`relay events show`) assembled from records: its publications oldest first,
and per endpoint the state its last record says, its attempts oldest first and the command that
moves a waiting delivery on; endpoints without records only when their filter matched it."""

from __future__ import annotations

import json
from datetime import timedelta

from activity_relay.core.webhooks_out.attempts import AttemptRecord
from activity_relay.core.webhooks_out.ports import ParkedDelivery, StoredEvent
from activity_relay.core.webhooks_out.trace import (
    DeliveryState,
    Publication,
    assemble_trace,
    publication_of,
)
from tests.support.webhooks_out import START, document, make_endpoint

EVENT = "act_1"
CALL = {"activity_type": "call", "contact_id": "c1"}


def publication(minutes: int = 1, origin: str = "poll", message_id: str = "m1") -> Publication:
    return Publication(
        EVENT, START + timedelta(minutes=minutes), message_id, origin, "2026-03-01", CALL
    )


def attempt(endpoint_id: str, n: int, status: int | None, action: str) -> AttemptRecord:
    at = START + timedelta(minutes=1 + n)
    error = None if status is not None else "connection refused"
    return AttemptRecord(endpoint_id, EVENT, n, at, status, error, 20, action)


def test_a_retried_then_delivered_event_and_a_dead_lettered_one() -> None:
    good, bad = make_endpoint(), make_endpoint()
    records = [
        attempt(good.endpoint_id, 2, 200, "delivered"),
        attempt(good.endpoint_id, 1, 500, "retry"),
        attempt(bad.endpoint_id, 1, None, "retry"),
        attempt(bad.endpoint_id, 2, 503, "dead_letter"),
    ]

    trace = assemble_trace(
        EVENT, [publication(5, "poll", "m2"), publication(1, "webhook")], records, [], [good, bad]
    )

    assert trace.found
    assert [(p.origin, p.message_id) for p in trace.publications] == [
        ("webhook", "m1"),
        ("poll", "m2"),
    ]
    by_id = {e.endpoint_id: e for e in trace.endpoints}
    delivered, dead = by_id[good.endpoint_id], by_id[bad.endpoint_id]
    assert delivered.state is DeliveryState.DELIVERED
    assert [a.attempt for a in delivered.attempts] == [1, 2]
    assert delivered.next_step is None
    assert delivered.url == good.url
    assert dead.state is DeliveryState.DEAD_LETTERED
    assert dead.next_step == f"relay webhooks redrive {bad.endpoint_id}"


def test_a_delivery_waiting_for_its_next_attempt_is_retrying() -> None:
    endpoint = make_endpoint()

    trace = assemble_trace(
        EVENT, [publication()], [attempt(endpoint.endpoint_id, 1, 500, "retry")], [], [endpoint]
    )

    assert trace.endpoints[0].state is DeliveryState.RETRYING
    assert trace.endpoints[0].next_step is None


def test_a_delivery_parked_while_its_endpoint_is_disabled_says_how_to_enable_it() -> None:
    endpoint = make_endpoint(enabled=False)
    parked_at = START + timedelta(minutes=30)
    parked = ParkedDelivery(endpoint.endpoint_id, EVENT, "", parked_at)

    trace = assemble_trace(
        EVENT,
        [publication()],
        [attempt(endpoint.endpoint_id, 1, 500, "retry")],  # then it was disabled
        [parked],
        [endpoint],
    )

    (traced,) = trace.endpoints
    assert traced.state is DeliveryState.PARKED
    assert traced.parked_at == parked_at
    assert len(traced.attempts) == 1
    assert traced.next_step == f"relay webhooks enable {endpoint.endpoint_id}"


def test_without_records_only_endpoints_that_existed_then_and_match_are_pending() -> None:
    matching = make_endpoint(filter_policy={"activity_type": ["call"]})
    other_type = make_endpoint(filter_policy={"activity_type": ["note"]})
    added_later = make_endpoint(created_at=START + timedelta(days=1))
    removed = make_endpoint(removed=True)

    trace = assemble_trace(
        EVENT, [publication()], [], [], [matching, other_type, added_later, removed]
    )

    assert [(e.endpoint_id, e.state) for e in trace.endpoints] == [
        (matching.endpoint_id, DeliveryState.PENDING)
    ]
    assert trace.endpoints[0].attempts == ()


def test_deliveries_outlive_an_expired_publication_and_a_removed_endpoint() -> None:
    trace = assemble_trace(EVENT, [], [attempt("ep_gone", 1, 200, "delivered")], [], [])

    assert trace.found
    assert trace.publications == ()
    (traced,) = trace.endpoints
    assert traced.url is None
    assert traced.state is DeliveryState.DELIVERED


def test_no_record_at_all_is_not_found() -> None:
    trace = assemble_trace(EVENT, [], [], [], [make_endpoint()])

    assert not trace.found
    assert trace.endpoints == ()


def test_a_stored_event_s_publication_reads_its_path_from_the_document() -> None:
    body = json.dumps(
        {**json.loads(document(EVENT)), "origin": "webhook", "occurred_at": "2026-03-01T08:59:00Z"}
    )
    stored = StoredEvent(EVENT, body, START, CALL, "m1")

    found = publication_of(stored)

    assert (found.origin, found.occurred_at, found.message_id) == (
        "webhook",
        "2026-03-01T08:59:00Z",
        "m1",
    )
    assert (found.contact_id, found.activity_type) == ("c1", "call")
    unreadable = publication_of(StoredEvent(EVENT, "not json", START))
    assert (unreadable.origin, unreadable.occurred_at) == (None, None)
