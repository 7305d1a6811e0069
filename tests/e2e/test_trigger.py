"""The local SQS trigger behaves as Lambda's event source: record shape, context, deletion of
acknowledged messages only, retries after the visibility timeout, the DLQ after
maxReceiveCount (moto's own redrive policy)."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay_local.embedded import EmbeddedRelay
from relay_local.trigger import EventSourceMapping, SqsTrigger
from tests.support.embedded import StartRelay, refuse_the_sync_key
from tests.support.lambdas import SQS_RECORD_KEYS

pytestmark = pytest.mark.e2e


class Recorder:
    """A handler that records what it is given and fails the bodies it is told to."""

    def __init__(self, fail_bodies: frozenset[str] = frozenset(), raises: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.remaining: list[tuple[int, int]] = []
        self.fail_bodies = fail_bodies
        self.raises = raises

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        first = context.get_remaining_time_in_millis()
        time.sleep(0.02)
        self.remaining.append((first, context.get_remaining_time_in_millis()))
        self.events.append(event)
        if self.raises:
            raise RuntimeError("the function crashed")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]}
                for r in event["Records"]
                if r["body"] in self.fail_bodies
            ]
        }


def trigger(relay: EmbeddedRelay, handler: Recorder, visibility_timeout: int = 1) -> SqsTrigger:
    return SqsTrigger(
        relay.sqs,
        EventSourceMapping.from_stack(relay.stack),
        handler,
        visibility_timeout=visibility_timeout,
    )


def queue_counts(relay: EmbeddedRelay, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = relay.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def test_records_have_the_shape_lambda_sends(start_relay: StartRelay) -> None:
    relay = start_relay(parameter_overrides={"BatchSize": 3, "FunctionTimeout": 30})
    url = relay.stack.contact_queue_url
    relay.sqs.send_message(
        QueueUrl=url,
        MessageBody="first",
        MessageAttributes={"origin": {"DataType": "String", "StringValue": "webhook"}},
    )
    for body in ("second", "third", "fourth"):
        relay.sqs.send_message(QueueUrl=url, MessageBody=body)
    recorder = Recorder()

    results = trigger(relay, recorder).drain()

    assert [len(r.received) for r in results] == [3, 1], "BatchSize from the template"
    records = [record for event in recorder.events for record in event["Records"]]
    first = next(r for r in records if r["body"] == "first")
    assert set(first) == SQS_RECORD_KEYS | {"md5OfMessageAttributes"}  # it has attributes
    assert first["md5OfBody"] == hashlib.md5(b"first").hexdigest()
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == relay.stack.contact_queue_arn
    assert first["awsRegion"] == "us-east-1"
    attributes = first["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert int(attributes["SentTimestamp"]) <= int(attributes["ApproximateFirstReceiveTimestamp"])
    assert attributes["SenderId"]
    assert first["messageAttributes"] == {
        "origin": {
            "stringValue": "webhook",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    for before, after in recorder.remaining:
        assert 29_000 < before <= 30_000, "counts down from the template's FunctionTimeout"
        assert after < before
    assert queue_counts(relay, url) == (0, 0), "acknowledged messages are deleted"


def test_failed_messages_come_back_after_the_visibility_timeout(relay: EmbeddedRelay) -> None:
    url = relay.stack.contact_queue_url
    for body in ("ok-1", "flaky", "ok-2"):
        relay.sqs.send_message(QueueUrl=url, MessageBody=body)
    recorder = Recorder(fail_bodies=frozenset({"flaky"}))
    poller = trigger(relay, recorder)

    result = poller.poll_once()

    assert result is not None
    assert len(result.received) == 3
    assert len(result.failed) == 1
    assert queue_counts(relay, url) == (0, 1), "only the failed one is left, hidden"
    assert poller.poll_once() is None
    time.sleep(1.2)
    again = poller.poll_once()
    assert again is not None
    assert again.received == result.failed
    record = recorder.events[-1]["Records"][0]
    assert record["body"] == "flaky"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"


def test_a_raising_handler_returns_the_whole_batch(relay: EmbeddedRelay) -> None:
    url = relay.stack.contact_queue_url
    for body in ("a", "b"):
        relay.sqs.send_message(QueueUrl=url, MessageBody=body)

    result = trigger(relay, Recorder(raises=True)).poll_once()

    assert result is not None
    assert sorted(result.failed) == sorted(result.received)
    assert queue_counts(relay, url) == (0, 2)


def test_an_unknown_item_identifier_returns_the_whole_batch(relay: EmbeddedRelay) -> None:
    url = relay.stack.contact_queue_url
    relay.sqs.send_message(QueueUrl=url, MessageBody="a")
    relay.sqs.send_message(QueueUrl=url, MessageBody="b")

    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}

    poller = SqsTrigger(relay.sqs, EventSourceMapping.from_stack(relay.stack), handler)
    result = poller.poll_once()

    assert result is not None
    assert result.acknowledged == ()
    assert queue_counts(relay, url) == (0, 2)


def test_the_handler_syncs_through_the_trigger_and_the_dlq_takes_what_keeps_failing(
    start_relay: StartRelay,
) -> None:
    relay = start_relay(parameter_overrides={"MaxReceiveCount": 2}, visibility_timeout=1)
    sandbox = relay.sandbox
    contact = sandbox.create_contact(activities=3)
    url = relay.stack.contact_queue_url
    # Given a key LeadLex refuses: every receive fails, as an auth failure does
    good_key = refuse_the_sync_key(relay)
    relay.sqs.send_message(QueueUrl=url, MessageBody=contact)

    # When the trigger polls past maxReceiveCount receives
    receives = 0
    for _ in range(3):
        result = relay.trigger.poll_once()
        if result is not None:
            receives += 1
        time.sleep(1.1)

    # Then SQS moved the message to the DLQ after 2 failed receives
    assert receives == 2
    assert queue_counts(relay, url) == (0, 0)
    dead = relay.sqs.receive_message(QueueUrl=relay.stack.dead_letter_queue_url)["Messages"]
    assert [m["Body"] for m in dead] == [contact]
    assert relay.received() == []

    # And once the key is fixed, the same message (redriven by hand) syncs the contact
    relay.update_function_environment({"LEADLEX_API_KEY": good_key})
    relay.sqs.send_message(QueueUrl=url, MessageBody=dead[0]["Body"])
    assert [r.failed for r in relay.trigger.drain()] == [()]
    bus = [r.document["event_id"] for r in relay.received() if r.subscriber == "bus"]
    assert sorted(bus) == sorted(a["id"] for a in sandbox.activities(contact))


# --- failure paths you can watch (make local) ----------------------------------------------------


def test_the_log_says_when_a_returned_message_comes_back_and_when_it_goes_to_the_dlq(
    start_relay: StartRelay, caplog: pytest.LogCaptureFixture
) -> None:
    relay = start_relay(parameter_overrides={"MaxReceiveCount": 2})
    url = relay.stack.contact_queue_url
    relay.sqs.send_message(QueueUrl=url, MessageBody="flaky")
    poller = trigger(relay, Recorder(fail_bodies=frozenset({"flaky"})), visibility_timeout=1)

    with caplog.at_level("INFO", logger="relay_local.trigger"):
        first = poller.poll_once()
        time.sleep(1.2)
        second = poller.poll_once()

    assert first is not None
    assert second is not None
    (message_id,) = first.failed
    lines = [r.getMessage() for r in caplog.records if r.name == "relay_local.trigger"]
    assert len(lines) == 3
    # Each line names the function whose queue the trigger polls (make local runs three)
    function = f"{relay.stack.stack_name}-SyncActivitiesFunction"
    assert lines[0].startswith(
        f"{function}: message {message_id} returns to the queue: visible again in 1 s"
    )
    # The local trigger shortened the template's minutes, and says so
    assert "(the local trigger's visibility timeout; the queue's own is 660 s)" in lines[0]
    assert lines[0].endswith("receive 2 of 2")
    assert lines[1].startswith(f"{function}: message {message_id} is back after 1.")
    assert lines[1].endswith("s: receive 2 of 2")
    assert lines[2].endswith("then SQS moves it to the dead-letter queue (maxReceiveCount reached)")
    assert poller.max_receive_count() == 2


def test_a_function_that_postpones_what_it_returns_is_not_contradicted(
    relay: EmbeddedRelay, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a function that returns a message and makes it visible again at once itself (as
    # the webhook delivery function does on its retry schedule), under a queue's minutes
    url = relay.stack.contact_queue_url
    relay.sqs.send_message(QueueUrl=url, MessageBody="retry soon")
    recorder = Recorder(fail_bodies=frozenset({"retry soon"}))

    def postponing(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        for record in event["Records"]:
            relay.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )
        return recorder(event, context)

    poller = SqsTrigger(
        relay.sqs, EventSourceMapping.from_stack(relay.stack), postponing, function_sets_delay=True
    )

    with caplog.at_level("INFO", logger="relay_local.trigger"):
        assert poller.poll_once() is not None
        assert poller.poll_once() is not None

    # Then the log promises no 660 s, and says when it really came back
    returned, back, _ = [r.getMessage() for r in caplog.records if r.name == "relay_local.trigger"]
    assert "the function itself set when it is visible again; receive 2 of 5" in returned
    assert "660" not in returned
    assert "visible again in" not in returned
    assert re.search(r"is back after 0\.\d s: receive 2 of 5$", back), back


def test_without_an_override_the_queues_own_visibility_timeout_is_named(
    relay: EmbeddedRelay, caplog: pytest.LogCaptureFixture
) -> None:
    relay.sqs.send_message(QueueUrl=relay.stack.contact_queue_url, MessageBody="flaky")
    poller = SqsTrigger(
        relay.sqs,
        EventSourceMapping.from_stack(relay.stack),
        Recorder(fail_bodies=frozenset({"flaky"})),
    )

    with caplog.at_level("WARNING", logger="relay_local.trigger"):
        assert poller.poll_once() is not None

    # The template's: 6 x the 60 s function timeout + 300 s
    (line,) = [r.getMessage() for r in caplog.records if r.name == "relay_local.trigger"]
    assert "visible again in 660 s" in line
    assert line.endswith("receive 2 of 5")


def test_make_local_shows_a_failure_reach_the_dlq_within_a_minute() -> None:
    from relay_local import serve
    from relay_local.template import load_template

    # Given the template's default MaxReceiveCount and make local's visibility timeout
    max_receives = int(load_template()["Parameters"]["MaxReceiveCount"]["Default"])

    # Then a message failing every time is in the dead-letter queue within a minute
    assert 1 <= serve.LOCAL_VISIBILITY_TIMEOUT <= 10
    assert serve.LOCAL_VISIBILITY_TIMEOUT * max_receives < 60
    parsed = serve.build_parser().parse_args([])
    assert parsed.visibility_timeout == serve.LOCAL_VISIBILITY_TIMEOUT
