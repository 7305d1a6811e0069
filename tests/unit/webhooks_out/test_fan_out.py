"""Fan-out (point 1, "nothing lost", and point 6, reads that do not grow): every event is kept
for replays, then one delivery per matching endpoint; one delivery the queue refuses is
dead-lettered alone, as the (event, endpoint) that `relay webhooks redrive` moves; the endpoint
list is read at most once per cache period."""

from __future__ import annotations

import json
from datetime import timedelta

from activity_relay.core.webhooks_out.fanout import (
    EndpointDirectory,
    IncomingEvent,
    WebhookFanOut,
)
from tests.support.clock import Clock
from tests.support.webhooks_out import (
    START,
    MemoryDeliveryQueue,
    MemoryEndpointStore,
    MemoryEventStore,
    RecordedWebhookDeadLetters,
    event,
    make_endpoint,
)


class Parts:
    def __init__(self) -> None:
        self.clock = Clock(START)
        self.endpoints = MemoryEndpointStore()
        self.events = MemoryEventStore()
        self.queue = MemoryDeliveryQueue(self.clock)
        self.dead_letters = RecordedWebhookDeadLetters()
        self.fan_out = WebhookFanOut(
            EndpointDirectory(self.endpoints, timedelta(seconds=30), self.clock),
            self.events,
            self.queue,
            self.dead_letters,
        )

    def queued(self) -> list[tuple[str, str]]:
        return sorted(
            (m.delivery.endpoint_id, json.loads(m.delivery.body)["event_id"])
            for m in self.queue.messages.values()
        )


def test_a_delivery_the_queue_refuses_is_dead_lettered_alone_and_the_others_go_out() -> None:
    parts = Parts()
    small = parts.endpoints.add(make_endpoint())
    refused = parts.endpoints.add(make_endpoint())
    parts.queue.refuse = lambda d: (
        "MessageTooLong: 262200 bytes" if d.endpoint_id == refused.endpoint_id else None
    )

    result = parts.fan_out.fan_out([event("act_1")])

    assert result.failed_message_ids == []  # nothing comes back to be fanned out twice
    assert (result.queued, result.dead_lettered) == (1, 1)
    assert parts.queued() == [(small.endpoint_id, "act_1")]
    (letter,) = parts.dead_letters.letters
    assert (letter["endpoint_id"], letter["event_id"]) == (refused.endpoint_id, "act_1")
    assert letter["reason"] == "not queued: MessageTooLong: 262200 bytes"
    assert letter["attempts"] == "0"
    assert json.loads(letter["body"])["event_id"] == "act_1"


def test_an_event_comes_back_only_when_its_delivery_can_be_neither_queued_nor_kept() -> None:
    parts = Parts()
    parts.endpoints.add(make_endpoint())
    parts.queue.refuse = lambda d: "InternalError" if "act_2" in d.body else None
    parts.dead_letters.down = True

    result = parts.fan_out.fan_out([event("act_1"), event("act_2")])

    assert result.failed_message_ids == ["msg-act_2"]
    assert result.queued == 1


def test_every_event_is_kept_before_anything_is_queued_and_one_not_kept_comes_back() -> None:
    parts = Parts()
    endpoint = parts.endpoints.add(make_endpoint())
    parts.events.refuse = {"act_2"}
    later = START + timedelta(minutes=1)

    result = parts.fan_out.fan_out([event("act_1"), event("act_2", published_at=later)])

    assert result.failed_message_ids == ["msg-act_2"]
    assert parts.queued() == [(endpoint.endpoint_id, "act_1")]  # nothing for the one not kept
    (kept,) = parts.events.between(START, START + timedelta(hours=1))
    assert (kept.event_id, kept.published_at, kept.message_id) == ("act_1", START, "msg-act_1")
    assert kept.attributes["activity_type"] == "call"
    assert kept.attributes["contact_id"] == "123e4567-e89b-12d3-a456-426614174000"


def test_events_matching_no_endpoint_are_kept_for_replays_too() -> None:
    parts = Parts()
    parts.endpoints.add(make_endpoint(filter_policy={"activity_type": ["meeting"]}))

    result = parts.fan_out.fan_out([event("act_1", "call")])

    assert result.queued == 0
    assert [e.event_id for e in parts.events.between(START, START + timedelta(1))] == ["act_1"]


def test_an_unreadable_event_is_dead_lettered_with_its_reason_not_fanned_out() -> None:
    parts = Parts()
    parts.endpoints.add(make_endpoint())

    result = parts.fan_out.fan_out([IncomingEvent("msg-x", "not json", {}, START)])

    assert (result.queued, result.dead_lettered, result.failed_message_ids) == (0, 1, [])
    (letter,) = parts.dead_letters.letters
    assert letter["reason"] == "not an event document (no event_id)"
    assert letter["body"] == "not json"


def test_disabled_endpoints_get_their_deliveries_and_removed_ones_do_not() -> None:
    parts = Parts()
    disabled = parts.endpoints.add(make_endpoint(enabled=False, disabled_reason="by hand"))
    removed = parts.endpoints.add(make_endpoint())
    parts.endpoints.remove(removed.endpoint_id, START)

    parts.fan_out.fan_out([event("act_1")])

    # The deliverer parks it until the endpoint is enabled: nothing published meanwhile is missed
    assert parts.queued() == [(disabled.endpoint_id, "act_1")]


def test_the_endpoint_list_is_read_once_per_cache_period_not_per_batch() -> None:
    parts = Parts()
    parts.endpoints.add(make_endpoint())

    for n in range(5):
        parts.fan_out.fan_out([event(f"act_{n}")])
        parts.clock.now += timedelta(seconds=5)  # 25 s in all
    assert parts.endpoints.reads == 1

    parts.clock.now = START + timedelta(seconds=30)
    added = parts.endpoints.add(make_endpoint())
    parts.fan_out.fan_out([event("act_late")])

    assert parts.endpoints.reads == 2
    assert (added.endpoint_id, "act_late") in parts.queued()
