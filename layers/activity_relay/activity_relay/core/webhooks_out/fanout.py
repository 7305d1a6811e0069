"""Webhook fan-out: an event from the activity topic → one delivery per matching endpoint, each
its own message on the delivery queue."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from activity_relay.core.contracts.event_document import filter_attributes
from activity_relay.core.webhooks_out.filters import matches
from activity_relay.core.webhooks_out.ports import Delivery, DeliveryQueue, EndpointStore


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """An event from the activity topic (raw delivery): the document and its attributes."""

    message_id: str
    body: str
    attributes: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class FanOutResult:
    queued: int
    failed_message_ids: list[str]
    """Events some of whose deliveries could not be queued: they come back, whole."""


def event_attributes(event: IncomingEvent) -> dict[str, str | None]:
    """The filter attributes: the message attributes SNS delivered, else the document's."""
    try:
        document: Any = json.loads(event.body)
    except ValueError:
        document = {}
    from_document = filter_attributes(document if isinstance(document, Mapping) else {})
    return {name: event.attributes.get(name, value) for name, value in from_document.items()}


class WebhookFanOut:
    def __init__(self, endpoints: EndpointStore, queue: DeliveryQueue) -> None:
        self._endpoints = endpoints
        self._queue = queue

    def fan_out(self, events: Sequence[IncomingEvent]) -> FanOutResult:
        endpoints = self._endpoints.enabled_endpoints()
        deliveries: list[Delivery] = []
        origin: dict[int, str] = {}
        for event in events:
            attributes = event_attributes(event)
            for endpoint in endpoints:
                if matches(endpoint.filter_policy, attributes):
                    origin[len(deliveries)] = event.message_id
                    deliveries.append(Delivery(endpoint.endpoint_id, event.body))
        failed = self._queue.enqueue(deliveries) if deliveries else []
        failed_ids = {id(d) for d in failed}
        returned = sorted(
            {origin[i] for i, d in enumerate(deliveries) if id(d) in failed_ids},
            key=[e.message_id for e in events].index,
        )
        return FanOutResult(len(deliveries) - len(failed), returned)
