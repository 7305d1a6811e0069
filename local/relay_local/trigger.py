"""The contact queue → the sync function, in-process, as Lambda's SQS event source does it.

    mapping = EventSourceMapping.from_stack(stack)      # batch size, timeout... from the template
    trigger = SqsTrigger(sqs_client, mapping, app.lambda_handler)
    trigger.poll_once()             # one batch, or None when the queue had nothing visible
    trigger.start(); ...; trigger.stop()                # or keep polling from a thread

What matches AWS: the record shape (system attributes, ``md5OfBody``, ``eventSourceARN``...),
a context whose remaining time counts down from the function's timeout, deletion of only the
messages the handler acknowledged (``ReportBatchItemFailures``), a whole batch returned when the
handler raises or names a message it was not given. Failed messages stay invisible for the
queue's visibility timeout and SQS itself (moto honours the redrive policy) moves them to the
dead-letter queue after ``maxReceiveCount`` receives. What does not: one poller, so no
concurrency; no batching window beyond gathering what is visible at once.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay_local.template import FUNCTION_ID, LocalStack, TemplateError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

logger = logging.getLogger(__name__)


class FunctionLog(logging.LoggerAdapter[logging.Logger]):
    """The trigger's lines, each naming the function whose queue it polls: make local runs one
    trigger per SQS function, and their lines meet in one terminal."""

    def process(self, msg: object, kwargs: Any) -> tuple[str, Any]:
        return f"{(self.extra or {})['function']}: {msg}", kwargs


Handler = Callable[[dict[str, Any], LambdaContext], Mapping[str, Any]]

# What Lambda asks SQS for. AttributeNames is deprecated but still what older SQS-compatible
# servers read; asking both ways costs nothing.
SYSTEM_ATTRIBUTES = (
    "All",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SenderId",
)
SQS_MAX_MESSAGES = 10  # per ReceiveMessage and per DeleteMessageBatch


@dataclass(frozen=True)
class EventSourceMapping:
    """The SQS event of the sync function as the template declares it, resolved locally."""

    queue_url: str
    queue_arn: str
    region: str
    account_id: str
    batch_size: int
    function_name: str
    timeout_seconds: int
    memory_mb: int

    @classmethod
    def from_stack(
        cls, stack: LocalStack, function_id: str = FUNCTION_ID, event_name: str | None = None
    ) -> EventSourceMapping:
        """The function's one SQS event, or the one named `event_name` (which must then be
        the function's: FanOutWebhooksFunction's ActivityEvents, DeliverWebhooksFunction's
        Deliveries)."""
        resources: Mapping[str, Any] = stack.template["Resources"]
        properties = resources[function_id].get("Properties") or {}
        globals_ = (stack.template.get("Globals") or {}).get("Function") or {}
        sqs_events = [
            event["Properties"]
            for name, event in (properties.get("Events") or {}).items()
            if event.get("Type") == "SQS" and event_name in (None, name)
        ]
        if len(sqs_events) != 1:
            raise TemplateError(
                f"{function_id}: expected one SQS event{f' {event_name}' if event_name else ''}, "
                f"found {len(sqs_events)}"
            )
        event = stack.resolve(sqs_events[0])
        queue_arn = str(event["Queue"])
        queue_url = next(
            (r.ref for r in stack.resources.values() if r.attributes.get("Arn") == queue_arn),
            None,
        )
        if queue_url is None:
            raise TemplateError(f"{function_id}: its SQS event's queue is not provisioned locally")

        def setting(name: str, default: int) -> int:
            value = properties.get(name, globals_.get(name))
            return default if value is None else int(stack.resolve(value))

        return cls(
            queue_url=queue_url,
            queue_arn=queue_arn,
            region=stack.region,
            account_id=stack.account_id,
            batch_size=int(event.get("BatchSize", 10)),
            function_name=f"{stack.stack_name}-{function_id}",
            # Lambda's own defaults when the template says nothing.
            timeout_seconds=setting("Timeout", 3),
            memory_mb=setting("MemorySize", 128),
        )


class LocalContext(LambdaContext):
    """A Lambda context whose remaining time counts down from the function's timeout."""

    def __init__(self, mapping: EventSourceMapping) -> None:
        self._function_name = mapping.function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = (
            f"arn:aws:lambda:{mapping.region}:{mapping.account_id}:function:{mapping.function_name}"
        )
        self._memory_limit_in_mb = mapping.memory_mb
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{mapping.function_name}"
        self._log_stream_name = f"local/{self._aws_request_id}"
        self._deadline = time.monotonic() + mapping.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class PollResult:
    """One invocation: the message ids it got, and those that will come back."""

    received: tuple[str, ...]
    failed: tuple[str, ...]

    @property
    def acknowledged(self) -> tuple[str, ...]:
        return tuple(m for m in self.received if m not in self.failed)


def lambda_record(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as Lambda hands it to the function."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _attribute_value(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _attribute_value(value: MessageAttributeValueOutputTypeDef) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [
            base64.b64encode(item).decode() for item in value.get("BinaryListValues") or []
        ],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return converted


class SqsTrigger:
    """Polls the queue and invokes the handler with Lambda-shaped batches."""

    def __init__(
        self,
        sqs: SQSClient,
        mapping: EventSourceMapping,
        handler: Handler,
        *,
        visibility_timeout: int | None = None,
        function_sets_delay: bool = False,
    ) -> None:
        """``visibility_timeout`` overrides the queue's for received messages: the template ties
        it to six function timeouts (minutes), too long to watch a retry happen locally.
        ``function_sets_delay``: the function postpones each message it returns itself
        (ChangeMessageVisibility, e.g. the webhook retry schedule), so neither timeout says when
        it is back."""
        self._sqs = sqs
        self.mapping = mapping
        self._handler = handler
        self._visibility_timeout = visibility_timeout
        self._function_sets_delay = function_sets_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one invocation at a time, thread or caller
        self._policy: tuple[int, int | None] | None = None
        self._returned: dict[str, float] = {}
        """Message id → when it was returned (time.monotonic()), to say when it came back."""
        self._logger = FunctionLog(logger, {"function": mapping.function_name})

    def poll_once(self, wait_seconds: int = 0) -> PollResult | None:
        """Receive up to a batch and invoke the handler once; None if nothing was visible."""
        with self._lock:
            messages = self._receive(wait_seconds)
            if not messages:
                return None
            received_at = time.time()
            self._log_comebacks(messages)
            return self._invoke(messages, received_at)

    def drain(self, *, max_batches: int = 1000) -> list[PollResult]:
        """Invoke until no message is visible (failed ones stay hidden, so this ends)."""
        results: list[PollResult] = []
        while len(results) < max_batches and (result := self.poll_once()) is not None:
            results.append(result)
        return results

    def start(self, *, wait_seconds: int = 1) -> None:
        """Poll from a daemon thread until stop(); long polls stay short so stop() is quick."""
        if self._thread is not None:
            raise RuntimeError("trigger already running")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(wait_seconds,), name="sqs-trigger", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _run(self, wait_seconds: int) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_seconds)
            except Exception:
                self._logger.exception("polling %s failed; retrying", self.mapping.queue_url)
                self._stop.wait(1)

    def _receive(self, wait_seconds: int) -> list[MessageTypeDef]:
        messages: list[MessageTypeDef] = []
        while len(messages) < self.mapping.batch_size:
            request: dict[str, Any] = {
                "QueueUrl": self.mapping.queue_url,
                "MaxNumberOfMessages": min(
                    SQS_MAX_MESSAGES, self.mapping.batch_size - len(messages)
                ),
                "AttributeNames": ["All"],
                "MessageSystemAttributeNames": list(SYSTEM_ATTRIBUTES),
                "MessageAttributeNames": ["All"],
                # Only the first receive waits: later ones top up what is already visible.
                "WaitTimeSeconds": 0 if messages else wait_seconds,
            }
            if self._visibility_timeout is not None:
                request["VisibilityTimeout"] = self._visibility_timeout
            batch = self._sqs.receive_message(**request).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
        return messages

    def _invoke(self, messages: Sequence[MessageTypeDef], received_at: float) -> PollResult:
        mapping = self.mapping
        event = {"Records": [lambda_record(m, mapping.queue_arn, mapping.region) for m in messages]}
        received = tuple(m["MessageId"] for m in messages)
        try:
            response = self._handler(event, LocalContext(mapping))
            failed = _failed_ids(response, received, self._logger)
        except Exception:
            self._logger.exception("the function raised; the batch of %d returns", len(received))
            failed = received
        handles = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        self._delete([(mid, handles[mid]) for mid in received if mid not in failed])
        self._log_returns([m for m in messages if m["MessageId"] in failed], received_at)
        return PollResult(received, failed)

    # --- when a returned message comes back ------------------------------------------------

    def _log_returns(self, returned: Sequence[MessageTypeDef], received_at: float) -> None:
        """One line per returned message: when it is visible again (as far as the trigger
        knows), or that SQS moves it to the dead-letter queue at its next receive."""
        if not returned:
            return
        queue_visibility, max_receives = self._return_policy()
        hidden = self._visibility_timeout
        back_at = received_at + (queue_visibility if hidden is None else hidden)
        if self._function_sets_delay:
            when = "the function itself set when it is visible again"
        else:
            clock = time.strftime("%H:%M:%S", time.localtime(back_at))
            why = (
                "the queue's visibility timeout"
                if hidden is None
                else f"the local trigger's visibility timeout; the queue's own is "
                f"{queue_visibility} s"
            )
            when = f"visible again in {max(0, round(back_at - time.time()))} s, at {clock} ({why})"
        for message in returned:
            receives = _receives(message)
            if max_receives is not None and receives >= max_receives:
                fate = "then SQS moves it to the dead-letter queue (maxReceiveCount reached)"
            else:
                self._returned[message["MessageId"]] = time.monotonic()
                fate = f"receive {_of(receives + 1, max_receives)}"
            self._logger.warning(
                "message %s returns to the queue: %s; %s", message["MessageId"], when, fate
            )

    def _log_comebacks(self, messages: Sequence[MessageTypeDef]) -> None:
        """When a returned message really came back: what the return line could only expect."""
        for message in messages:
            returned_at = self._returned.pop(message["MessageId"], None)
            if returned_at is not None:
                self._logger.info(
                    "message %s is back after %.1f s: receive %s",
                    message["MessageId"],
                    time.monotonic() - returned_at,
                    _of(_receives(message), self._return_policy()[1]),
                )

    def max_receive_count(self) -> int | None:
        """Receives before SQS moves a message to the dead-letter queue (the queue's policy)."""
        return self._return_policy()[1]

    def _return_policy(self) -> tuple[int, int | None]:
        """(the queue's visibility timeout, maxReceiveCount or None), from the queue."""
        if self._policy is None:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self.mapping.queue_url,
                AttributeNames=["VisibilityTimeout", "RedrivePolicy"],
            )["Attributes"]
            redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
            count = redrive.get("maxReceiveCount")
            self._policy = (
                int(attributes.get("VisibilityTimeout", 30)),
                int(count) if count is not None else None,
            )
        return self._policy

    def _delete(self, acknowledged: Sequence[tuple[str, str]]) -> None:
        for start in range(0, len(acknowledged), SQS_MAX_MESSAGES):
            chunk = acknowledged[start : start + SQS_MAX_MESSAGES]
            response = self._sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": handle}
                    for index, (_, handle) in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                message_id = chunk[int(failure["Id"])][0]
                # As on AWS: an acknowledged message that could not be deleted is delivered again.
                self._logger.warning(
                    "could not delete message %s (%s: %s); it will be delivered again",
                    message_id,
                    failure.get("Code"),
                    failure.get("Message"),
                )


def _receives(message: MessageTypeDef) -> int:
    return int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))


def _of(receive: int, max_receives: int | None) -> str:
    return f"{receive} of {max_receives}" if max_receives is not None else str(receive)


def _failed_ids(
    response: Mapping[str, Any], received: tuple[str, ...], log: FunctionLog
) -> tuple[str, ...]:
    """The batchItemFailures as Lambda reads them: an identifier it cannot match (missing,
    empty, not in the batch) fails the whole batch."""
    failures = response.get("batchItemFailures") if isinstance(response, Mapping) else None
    if not failures:
        return ()
    ids: list[str] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in received:
            log.error("batchItemFailures names %r, not in the batch: all return", identifier)
            return received
        ids.append(identifier)
    return tuple(ids)
