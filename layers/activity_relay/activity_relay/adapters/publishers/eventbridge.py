"""EventBridge publisher: PutEvents of the event document as the Detail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from activity_relay.adapters.publishers.batching import (
    DEFAULT_CONCURRENCY,
    MAX_BATCH_BYTES,
    Entry,
    RetryPolicy,
    publish_in_batches,
)
from activity_relay.core.contracts.event_document import (
    EVENT_TYPE,
    event_document,
    fit_document,
    serialize,
)
from activity_relay.core.model import ActivityEvent

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

DETAIL_TYPE = EVENT_TYPE


class EventBridgePublisher:
    """Puts events on an EventBridge bus with PutEvents."""

    def __init__(
        self,
        client: EventBridgeClient,
        bus_name: str,
        source: str,
        *,
        retry: RetryPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._client = client
        self._bus_name = bus_name
        self._source = source
        self._retry = retry or RetryPolicy()
        self._concurrency = concurrency

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        publish_in_batches(
            "EventBridge PutEvents",
            events,
            self._entry,
            self._send,
            self._retry,
            self._concurrency,
        )

    def _entry(self, position: int, event: ActivityEvent) -> Entry[PutEventsRequestEntryTypeDef]:
        overhead = len(self._source.encode()) + len(DETAIL_TYPE.encode())
        detail = serialize(fit_document(event_document(event), MAX_BATCH_BYTES - overhead))
        request: PutEventsRequestEntryTypeDef = {
            "Source": self._source,
            "DetailType": DETAIL_TYPE,
            "Detail": detail,
            "EventBusName": self._bus_name,
        }
        return Entry(position, event.event_id, request, len(detail) + overhead)

    def _send(self, entries: Sequence[Entry[PutEventsRequestEntryTypeDef]]) -> dict[int, str]:
        response = self._client.put_events(Entries=[entry.request for entry in entries])
        # Results match the request entries by position; an entry without an EventId (or
        # without any result) was not put, whatever FailedEntryCount says.
        results = response.get("Entries", [])
        failures: dict[int, str] = {}
        for index, entry in enumerate(entries):
            result = results[index] if index < len(results) else {}
            if "EventId" not in result or "ErrorCode" in result:
                failures[entry.position] = result.get("ErrorCode", "NotReported")
        return failures
