"""SNS and EventBridge publishers: the only code that speaks to either service.

Both send the event document of CONTRACT.md, serialized once by `serialize`, in batches of
at most MAX_BATCH_ENTRIES entries and MAX_BATCH_BYTES bytes, sized the way each service
counts them (SNS: message body plus every attribute's name, data type and value;
EventBridge: Source + DetailType + Detail, as "Calculating PutEvents event entry size" says).

Failures. A batch call reports failures per entry; only the failed entries are sent again,
at most RetryPolicy.attempts times in all, with jittered exponential pauses. What still
fails raises PublishFailed naming how many of the leading events were delivered: events go
out in order, chunk by chunk, so a failed entry ends that prefix even when later entries of
its chunk went through (they are published again on the next try, with the same event id,
which the contract allows). Throttling and other call-level errors are retried by botocore
(the clients are made with retries in standard mode); one that still surfaces raises
PublishFailed the same way.

Oversized activities. An entry above the service limit would be rejected on every retry and
block its contact for good, and dropping it would break the completeness guarantee. So
`fit_document` shrinks the document instead: it cuts `activity.description` and, if that is
not enough, replaces `activity.metadata`, `activity.title` and then the activity's other
fields, largest first, with null. The document then says `"truncated": true` and lists the
changed fields in `"truncated_fields"` (e.g. `["activity.description"]`), so consumers know to
fetch the whole activity from LeadLex. Only a document whose fixed fields alone exceed the
limit cannot be fitted; the events before it are delivered and PublishFailed names them.

FIFO topics. MessageGroupId is the contact id, MessageDeduplicationId the event id. SNS takes
at most 128 characters from ASCII 33-126 for the latter; an event id outside that is replaced
by its SHA-256 hex digest, still the same for every publication of the same activity.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.model import EVENT_TYPE, ActivityEvent
from activity_relay.ports import Publisher, PublishFailed

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import (
        MessageAttributeValueTypeDef,
        PublishBatchRequestEntryTypeDef,
    )

logger = logging.getLogger(__name__)

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 262_144  # both services: per entry and per call alike
DETAIL_TYPE = EVENT_TYPE

_DEDUPLICATION_ID = re.compile(r"[\x21-\x7e]{1,128}")
_STRING = "String"


class DocumentTooLarge(ValueError):
    """Even with every activity field cut, the document exceeds the limit."""


def serialize(document: Mapping[str, Any]) -> str:
    """The wire form: compact, and ASCII only, so that its length is its size in bytes and
    no subscriber (SQS rejects some code points) refuses a character of it."""
    return json.dumps(document, separators=(",", ":"))


def fit_document(document: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """A copy of `document`, cut down to fit in `limit` bytes once serialized and marked as
    truncated when it has to be (see the module docstring)."""
    if len(serialize(document)) <= limit:
        return dict(document)
    activity = dict(document["activity"])
    description = activity.get("description")
    trimmable = description if isinstance(description, str) else None
    replaced: list[str] = []

    def candidate(kept: int) -> dict[str, Any]:
        fields = [f"activity.{name}" for name in replaced]
        body = dict(activity)
        if trimmable is not None and kept < len(trimmable):
            body["description"] = trimmable[:kept]
            fields.insert(0, "activity.description")
        return {**document, "activity": body, "truncated": True, "truncated_fields": fields}

    def fits(kept: int) -> bool:
        return len(serialize(candidate(kept))) <= limit

    for name in _replacement_order(activity, skip="description" if trimmable is not None else None):
        if fits(0):
            break
        activity[name] = None
        replaced.append(name)
    if not fits(0):
        # The id may be the very thing too large: quote only its start.
        raise DocumentTooLarge(
            f"event {str(document.get('event_id'))[:100]!r} exceeds {limit} bytes"
        )
    if trimmable is None:
        return candidate(0)
    # Each kept character costs at least one byte, so no more than `limit` can be kept.
    low, high = 0, min(len(trimmable), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return candidate(low)


def _replacement_order(activity: Mapping[str, Any], skip: str | None) -> list[str]:
    # The id stays: it is what a consumer needs to fetch the full activity. A value no larger
    # than null gains nothing by being replaced, and would be listed as truncated for nothing.
    sizes = {name: len(serialize(value)) for name, value in activity.items()}
    candidates = [n for n in activity if n not in {"id", skip} and sizes[n] > len("null")]
    first = [name for name in ("metadata", "title") if name in candidates]
    others = [name for name in candidates if name not in first]
    others.sort(key=sizes.__getitem__, reverse=True)
    return first + others


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a failed entry is sent in all, and how long to pause in between."""

    attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def pause(self, retry: int) -> None:
        # Full jitter: concurrent invocations that failed together do not retry together.
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        self.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True, slots=True)
class _Entry[R]:
    position: int  # index of the event in the publish() call
    event_id: str
    request: R
    size: int  # bytes, as the service counts them against MAX_BATCH_BYTES


# Sends entries in one call; returns the error code of each failed one, by position.
type _Send[R] = Callable[[Sequence[_Entry[R]]], dict[int, str]]


def _publish[R](
    service: str,
    events: Sequence[ActivityEvent],
    build: Callable[[int, ActivityEvent], _Entry[R]],
    send: _Send[R],
    retry: RetryPolicy,
) -> None:
    entries: list[_Entry[R]] = []
    unfit: DocumentTooLarge | None = None
    for position, event in enumerate(events):
        try:
            entries.append(build(position, event))
        except DocumentTooLarge as error:
            logger.error("%s: event %.100s cannot be cut to size", service, event.event_id)
            unfit = error
            break
    for chunk in _chunks(entries):
        _deliver(service, chunk, send, retry)
    if unfit is not None:
        raise PublishFailed(f"{service}: {unfit}", delivered=len(entries)) from unfit


def _chunks[R](entries: Sequence[_Entry[R]]) -> Iterator[list[_Entry[R]]]:
    chunk: list[_Entry[R]] = []
    size = 0
    for entry in entries:
        if chunk and (len(chunk) == MAX_BATCH_ENTRIES or size + entry.size > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry.size
    if chunk:
        yield chunk


def _deliver[R](service: str, chunk: list[_Entry[R]], send: _Send[R], retry: RetryPolicy) -> None:
    pending = chunk
    for attempt in range(1, retry.attempts + 1):
        if attempt > 1:
            retry.pause(attempt - 1)
        try:
            failures = send(pending)
        except (ClientError, BotoCoreError) as error:
            logger.error("%s call failed: %s", service, _error_code(error))
            raise PublishFailed(f"{service}: {error}", delivered=pending[0].position) from error
        pending = [entry for entry in pending if entry.position in failures]
        if not pending:
            return
        logger.warning(
            "%s: %d entries failed (attempt %d of %d): %s; events %s",
            service,
            len(pending),
            attempt,
            retry.attempts,
            dict(Counter(failures.values())),
            [entry.event_id for entry in pending],
        )
    # Everything in the chunk before the first failed entry went through.
    raise PublishFailed(
        f"{service}: {len(pending)} entries still failing after {retry.attempts} attempts",
        delivered=pending[0].position,
    )


def _error_code(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


class SnsPublisher:
    """Publishes to a standard or FIFO (ARN ending in `.fifo`) SNS topic with PublishBatch."""

    def __init__(
        self, client: SNSClient, topic_arn: str, *, retry: RetryPolicy | None = None
    ) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._fifo = topic_arn.endswith(".fifo")
        self._retry = retry or RetryPolicy()

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        _publish("SNS PublishBatch", events, self._entry, self._send, self._retry)

    def _entry(
        self, position: int, event: ActivityEvent
    ) -> _Entry[PublishBatchRequestEntryTypeDef]:
        attributes = _message_attributes(event)
        overhead = sum(
            len(name.encode()) + len(_STRING) + len(value["StringValue"].encode())
            for name, value in attributes.items()
        )
        message = serialize(fit_document(event.document(), MAX_BATCH_BYTES - overhead))
        request: PublishBatchRequestEntryTypeDef = {
            "Id": str(position),
            "Message": message,
            "MessageAttributes": attributes,
        }
        if self._fifo:
            request["MessageGroupId"] = event.contact_id
            request["MessageDeduplicationId"] = deduplication_id(event.event_id)
        return _Entry(position, event.event_id, request, len(message) + overhead)

    def _send(self, entries: Sequence[_Entry[PublishBatchRequestEntryTypeDef]]) -> dict[int, str]:
        response = self._client.publish_batch(
            TopicArn=self._topic_arn,
            PublishBatchRequestEntries=[entry.request for entry in entries],
        )
        # An entry counts as published only when SNS says so; silence is a failure.
        succeeded = {result.get("Id") for result in response.get("Successful", [])}
        codes = {failure["Id"]: failure["Code"] for failure in response.get("Failed", [])}
        return {
            entry.position: codes.get(entry.request["Id"], "NotReported")
            for entry in entries
            if entry.request["Id"] not in succeeded
        }


def _message_attributes(event: ActivityEvent) -> dict[str, MessageAttributeValueTypeDef]:
    values = {
        "event_type": EVENT_TYPE,
        "activity_type": event.activity.activity_type,
        "entity_type": event.activity.entity_type,
        "contact_id": event.contact_id,
    }
    # SNS rejects an empty String attribute; leaving it out lets filter policies match
    # on its absence instead.
    return {
        name: {"DataType": _STRING, "StringValue": value} for name, value in values.items() if value
    }


def deduplication_id(event_id: str) -> str:
    """The FIFO MessageDeduplicationId of an event: its id, or the id's SHA-256 hex digest
    when SNS would not accept the id as it is."""
    if _DEDUPLICATION_ID.fullmatch(event_id):
        return event_id
    return hashlib.sha256(event_id.encode()).hexdigest()


class EventBridgePublisher:
    """Puts events on an EventBridge bus with PutEvents."""

    def __init__(
        self,
        client: EventBridgeClient,
        bus_name: str,
        source: str,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._bus_name = bus_name
        self._source = source
        self._retry = retry or RetryPolicy()

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        _publish("EventBridge PutEvents", events, self._entry, self._send, self._retry)

    def _entry(self, position: int, event: ActivityEvent) -> _Entry[PutEventsRequestEntryTypeDef]:
        overhead = len(self._source.encode()) + len(DETAIL_TYPE.encode())
        detail = serialize(fit_document(event.document(), MAX_BATCH_BYTES - overhead))
        request: PutEventsRequestEntryTypeDef = {
            "Source": self._source,
            "DetailType": DETAIL_TYPE,
            "Detail": detail,
            "EventBusName": self._bus_name,
        }
        return _Entry(position, event.event_id, request, len(detail) + overhead)

    def _send(self, entries: Sequence[_Entry[PutEventsRequestEntryTypeDef]]) -> dict[int, str]:
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


class FanOutPublisher:
    """Publishes to every publisher; an event is delivered once all of them delivered it."""

    def __init__(self, publishers: Sequence[Publisher]) -> None:
        if not publishers:
            raise ValueError("FanOutPublisher needs at least one publisher")
        self._publishers = tuple(publishers)

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        delivered = len(events)
        failure: PublishFailed | None = None
        for publisher in self._publishers:
            # Later publishers get only what all earlier ones delivered: whatever lies beyond
            # is published again on the next try anyway, so sending it now only duplicates.
            try:
                publisher.publish(events[:delivered])
            except PublishFailed as error:
                delivered, failure = error.delivered, error
        if failure is not None:
            raise PublishFailed(str(failure), delivered=delivered) from failure
