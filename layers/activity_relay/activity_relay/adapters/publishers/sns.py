"""SNS publisher: PublishBatch of the event document with its filter attributes.

FIFO topics. MessageGroupId is the contact id, MessageDeduplicationId the event id. SNS takes
at most 128 characters from ASCII 33-126 for the latter; an event id outside that is replaced
by its SHA-256 hex digest, still the same for every publication of the same activity.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from activity_relay.adapters.publishers.batching import (
    DEFAULT_CONCURRENCY,
    MAX_BATCH_BYTES,
    Entry,
    RetryPolicy,
    publish_in_batches,
)
from activity_relay.core.contracts.event_document import (
    event_document,
    filter_attributes,
    fit_document,
    serialize,
)
from activity_relay.core.model import ActivityEvent

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import (
        MessageAttributeValueTypeDef,
        PublishBatchRequestEntryTypeDef,
    )

_DEDUPLICATION_ID = re.compile(r"[\x21-\x7e]{1,128}")
_STRING = "String"


class SnsPublisher:
    """Publishes to a standard or FIFO (ARN ending in `.fifo`) SNS topic with PublishBatch."""

    def __init__(
        self,
        client: SNSClient,
        topic_arn: str,
        *,
        retry: RetryPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._fifo = topic_arn.endswith(".fifo")
        self._retry = retry or RetryPolicy()
        # A FIFO topic orders a group by the order of the calls: one at a time.
        self._concurrency = 1 if self._fifo else concurrency

    def publish(self, events: Sequence[ActivityEvent]) -> None:
        publish_in_batches(
            "SNS PublishBatch", events, self._entry, self._send, self._retry, self._concurrency
        )

    def _entry(self, position: int, event: ActivityEvent) -> Entry[PublishBatchRequestEntryTypeDef]:
        document = event_document(event)
        attributes = _message_attributes(document)
        overhead = sum(
            len(name.encode()) + len(_STRING) + len(value["StringValue"].encode())
            for name, value in attributes.items()
        )
        message = serialize(fit_document(document, MAX_BATCH_BYTES - overhead))
        request: PublishBatchRequestEntryTypeDef = {
            "Id": str(position),
            "Message": message,
            "MessageAttributes": attributes,
        }
        if self._fifo:
            request["MessageGroupId"] = event.contact_id
            request["MessageDeduplicationId"] = deduplication_id(event.event_id)
        return Entry(position, event.event_id, request, len(message) + overhead)

    def _send(self, entries: Sequence[Entry[PublishBatchRequestEntryTypeDef]]) -> dict[int, str]:
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


def _message_attributes(document: Mapping[str, Any]) -> dict[str, MessageAttributeValueTypeDef]:
    # SNS rejects an empty String attribute; leaving it out lets filter policies match
    # on its absence instead.
    return {
        name: {"DataType": _STRING, "StringValue": value}
        for name, value in filter_attributes(document).items()
        if value
    }


def deduplication_id(event_id: str) -> str:
    """The FIFO MessageDeduplicationId of an event: its id, or the id's SHA-256 hex digest
    when SNS would not accept the id as it is."""
    if _DEDUPLICATION_ID.fullmatch(event_id):
        return event_id
    return hashlib.sha256(event_id.encode()).hexdigest()
