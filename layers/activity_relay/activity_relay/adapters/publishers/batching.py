"""What the SNS and EventBridge publishers share: batch calls with per-entry retries.

Both publishers (sns.py, eventbridge.py) send the event document of CONTRACT.md, serialized
once by `core.documents.serialize`, in batches of at most MAX_BATCH_ENTRIES entries and
MAX_BATCH_BYTES bytes, sized the way each service counts them (SNS: message body plus every
attribute's name, data type and value; EventBridge: Source + DetailType + Detail, as
"Calculating PutEvents event entry size" says).

Speed. The chunks of one publish() go out in up to `concurrency` batch calls at once (a
thread per call; boto3 clients are thread-safe): 100 events are 10 calls, about one call's
latency instead of ten. A FIFO topic gets one call at a time, since its order is the order of
the calls. Whatever the concurrency, an event counts as delivered only as part of the leading
run of delivered events, as below.

Failures. A batch call reports failures per entry; only the failed entries are sent again,
at most RetryPolicy.attempts times in all, with jittered exponential pauses. What still
fails raises PublishFailed naming how many of the leading events were delivered: events go
out in order, chunk by chunk, so a failed entry ends that prefix even when later entries of
its chunk went through (they are published again on the next try, with the same event id,
which the contract allows). Throttling and other call-level errors are retried by botocore
(the clients are made with retries in standard mode); one that still surfaces raises
PublishFailed the same way.

Oversized activities are cut to size by `core.documents.fit_document`.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.core.contracts.event_document import DocumentTooLarge
from activity_relay.core.model import ActivityEvent
from activity_relay.core.sync.ports import PublishFailed

logger = logging.getLogger(__name__)

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 262_144  # both services: per entry and per call alike
DEFAULT_CONCURRENCY = 5  # batch calls in flight per publish(): a slice of 100 in two rounds


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
class Entry[R]:
    position: int  # index of the event in the publish() call
    event_id: str
    request: R
    size: int  # bytes, as the service counts them against MAX_BATCH_BYTES


# Sends entries in one call; returns the error code of each failed one, by position.
type Send[R] = Callable[[Sequence[Entry[R]]], dict[int, str]]


def publish_in_batches[R](
    service: str,
    events: Sequence[ActivityEvent],
    build: Callable[[int, ActivityEvent], Entry[R]],
    send: Send[R],
    retry: RetryPolicy,
    concurrency: int = 1,
) -> None:
    entries: list[Entry[R]] = []
    unfit: DocumentTooLarge | None = None
    for position, event in enumerate(events):
        try:
            entries.append(build(position, event))
        except DocumentTooLarge as error:
            logger.error("%s: event %.100s cannot be cut to size", service, event.event_id)
            unfit = error
            break
    chunks = list(_chunks(entries))
    if concurrency > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(chunks))) as pool:
            outcomes = list(pool.map(lambda c: _attempt(service, c, send, retry), chunks))
        failures = [failure for failure in outcomes if failure is not None]
        if failures:
            # The earliest failed entry ends the delivered prefix, whichever call it was in.
            raise min(failures, key=lambda failure: failure.delivered)
    else:
        for chunk in chunks:
            _deliver(service, chunk, send, retry)
    if unfit is not None:
        raise PublishFailed(f"{service}: {unfit}", delivered=len(entries)) from unfit


def _chunks[R](entries: Sequence[Entry[R]]) -> Iterator[list[Entry[R]]]:
    chunk: list[Entry[R]] = []
    size = 0
    for entry in entries:
        if chunk and (len(chunk) == MAX_BATCH_ENTRIES or size + entry.size > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry.size
    if chunk:
        yield chunk


def _attempt[R](
    service: str, chunk: list[Entry[R]], send: Send[R], retry: RetryPolicy
) -> PublishFailed | None:
    try:
        _deliver(service, chunk, send, retry)
    except PublishFailed as failure:
        return failure
    return None


def _deliver[R](service: str, chunk: list[Entry[R]], send: Send[R], retry: RetryPolicy) -> None:
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
