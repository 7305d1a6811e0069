"""Partial and total failures of PublishBatch and PutEvents, played by botocore's Stubber
(moto cannot fail single entries). A Stubber answers in call order, so its publishers send one
call at a time (concurrent calls: test_publish_concurrency.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from activity_relay.adapters.publishers.batching import RetryPolicy
from activity_relay.adapters.publishers.eventbridge import EventBridgePublisher
from activity_relay.adapters.publishers.sns import SnsPublisher
from activity_relay.core.model import ActivityEvent
from activity_relay.core.sync.ports import PublishFailed
from tests.support.aws import record_calls
from tests.support.events import MakeEvent

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:activities"


class Pauses:
    """An injectable sleep that records instead of sleeping."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def pauses() -> Pauses:
    return Pauses()


@pytest.fixture
def retry(pauses: Pauses) -> RetryPolicy:
    return RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0, sleep=pauses)


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


@dataclass(frozen=True)
class Stubbed[P]:
    """A publisher sending one call at a time through `client`, whose answers `stubber`
    scripts (answer, fail) in call order."""

    client: Any
    stubber: Stubber
    operation: str
    """The stubber's name of the publisher's one call (publish_batch, put_events)."""
    publisher: P

    def answer(self, response: dict[str, Any]) -> None:
        """Script the answer to the next call."""
        self.stubber.add_response(self.operation, response)

    def fail(self, code: str, status: int = 400) -> None:
        """Script the next call to fail with an error `code`, answered with `status`."""
        self.stubber.add_client_error(
            self.operation, service_error_code=code, http_status_code=status
        )


@pytest.fixture
def sns_stub(retry: RetryPolicy) -> Iterator[Stubbed[SnsPublisher]]:
    client, stubber = stubbed("sns")
    with stubber:
        yield Stubbed(
            client,
            stubber,
            "publish_batch",
            SnsPublisher(client, TOPIC_ARN, retry=retry, concurrency=1),
        )
        # Every scripted answer was asked for: no call was skipped
        stubber.assert_no_pending_responses()


@pytest.fixture
def events_stub(retry: RetryPolicy) -> Iterator[Stubbed[EventBridgePublisher]]:
    client, stubber = stubbed("events")
    publisher = EventBridgePublisher(
        client, "activities", "leadlex.activities", retry=retry, concurrency=1
    )
    with stubber:
        yield Stubbed(client, stubber, "put_events", publisher)
        stubber.assert_no_pending_responses()


def batch_answer(ids: list[str], failed: set[str]) -> dict[str, Any]:
    return {
        "Successful": [{"Id": i, "MessageId": f"m-{i}"} for i in ids if i not in failed],
        "Failed": [
            {"Id": i, "Code": "InternalError", "SenderFault": False, "Message": "try again"}
            for i in ids
            if i in failed
        ],
    }


def ids_of(call: dict[str, Any]) -> list[str]:
    return [entry["Id"] for entry in call["PublishBatchRequestEntries"]]


def ten(make_event: MakeEvent, count: int = 10) -> list[ActivityEvent]:
    return [make_event() for _ in range(count)]


class TestSnsPartialFailures:
    def test_only_the_failed_entries_are_sent_again(
        self,
        sns_stub: Stubbed[SnsPublisher],
        pauses: Pauses,
        make_event: MakeEvent,
    ) -> None:
        # Given a batch of 10 in which entries 3 and 7 fail once
        ids = [str(i) for i in range(10)]
        sns_stub.answer(batch_answer(ids, {"3", "7"}))
        sns_stub.answer(batch_answer(["3", "7"], set()))
        calls = record_calls(sns_stub.client, "PublishBatch")
        events = ten(make_event)

        # When published
        sns_stub.publisher.publish(events)

        # Then the second call carries exactly those two, unchanged, after one short pause
        assert [ids_of(call) for call in calls] == [ids, ["3", "7"]]
        first = {e["Id"]: e for e in calls[0]["PublishBatchRequestEntries"]}
        assert calls[1]["PublishBatchRequestEntries"] == [first["3"], first["7"]]
        assert len(pauses.seconds) == 1
        assert 0 <= pauses.seconds[0] <= 0.1

    def test_persistent_failure_reports_the_delivered_prefix(
        self,
        sns_stub: Stubbed[SnsPublisher],
        pauses: Pauses,
        make_event: MakeEvent,
    ) -> None:
        # Given 15 events: the first chunk goes through; in the second, 12 and 13 keep failing
        sns_stub.answer(batch_answer([str(i) for i in range(10)], set()))
        sns_stub.answer(batch_answer([str(i) for i in range(10, 15)], {"12", "13"}))
        sns_stub.answer(batch_answer(["12", "13"], {"12", "13"}))
        sns_stub.answer(batch_answer(["12", "13"], {"12", "13"}))
        calls = record_calls(sns_stub.client, "PublishBatch")

        # When published
        with pytest.raises(PublishFailed) as failure:
            sns_stub.publisher.publish(ten(make_event, 15))

        # Then 12 leading events count as delivered, after three attempts in all
        assert failure.value.delivered == 12
        assert [ids_of(call) for call in calls][2:] == [["12", "13"], ["12", "13"]]
        assert len(pauses.seconds) == 2
        assert all(0 <= s <= 0.2 for s in pauses.seconds)

    def test_a_later_entry_delivered_does_not_extend_the_prefix(
        self, sns_stub: Stubbed[SnsPublisher], make_event: MakeEvent
    ) -> None:
        # 3 recovers on the first retry, 7 never does: 0..6 are a prefix, 8 and 9 are not
        ids = [str(i) for i in range(10)]
        sns_stub.answer(batch_answer(ids, {"3", "7"}))
        sns_stub.answer(batch_answer(["3", "7"], {"7"}))
        sns_stub.answer(batch_answer(["7"], {"7"}))

        with pytest.raises(PublishFailed) as failure:
            sns_stub.publisher.publish(ten(make_event))

        assert failure.value.delivered == 7

    def test_an_entry_sns_does_not_report_on_counts_as_failed(
        self, sns_stub: Stubbed[SnsPublisher], make_event: MakeEvent
    ) -> None:
        answer = batch_answer(["0", "1", "2"], set())
        answer["Successful"].pop(1)
        sns_stub.answer(answer)
        sns_stub.answer(batch_answer(["1"], set()))
        calls = record_calls(sns_stub.client, "PublishBatch")

        sns_stub.publisher.publish(ten(make_event, 3))

        assert ids_of(calls[1]) == ["1"]

    def test_a_client_error_surfaces_with_the_prefix_and_its_cause(
        self, sns_stub: Stubbed[SnsPublisher], make_event: MakeEvent
    ) -> None:
        # Given a first chunk that goes through and a second call that is throttled (after
        # botocore's own retries, which the Stubber bypasses)
        sns_stub.answer(batch_answer([str(i) for i in range(10)], set()))
        sns_stub.fail("Throttling")

        with pytest.raises(PublishFailed) as failure:
            sns_stub.publisher.publish(ten(make_event, 12))

        assert failure.value.delivered == 10
        assert isinstance(failure.value.__cause__, ClientError)

    def test_a_client_error_on_a_retry_keeps_what_the_chunk_delivered(
        self, sns_stub: Stubbed[SnsPublisher], make_event: MakeEvent
    ) -> None:
        sns_stub.answer(batch_answer([str(i) for i in range(5)], {"2"}))
        sns_stub.fail("InternalError", status=500)

        with pytest.raises(PublishFailed) as failure:
            sns_stub.publisher.publish(ten(make_event, 5))

        assert failure.value.delivered == 2

    def test_failures_are_logged_with_codes_never_with_the_message(
        self,
        sns_stub: Stubbed[SnsPublisher],
        make_event: MakeEvent,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        for _ in range(3):
            sns_stub.answer(batch_answer(["0"], {"0"}))
        event = make_event(description="confidential call notes")

        with (
            caplog.at_level(logging.WARNING, logger="activity_relay.adapters.publishers.batching"),
            pytest.raises(PublishFailed),
        ):
            sns_stub.publisher.publish([event])

        assert "InternalError" in caplog.text
        assert event.event_id in caplog.text
        assert "confidential" not in caplog.text

    def test_an_event_that_cannot_be_cut_to_size_stops_after_its_predecessors(
        self, sns_stub: Stubbed[SnsPublisher], make_event: MakeEvent
    ) -> None:
        # The id is what consumers need to fetch the activity: it is never cut, so an id of
        # 300 KB cannot fit. Nothing silently skips it.
        sns_stub.answer(batch_answer(["0", "1"], set()))
        events = [make_event(), make_event(), make_event(id="x" * 300_000), make_event()]

        with pytest.raises(PublishFailed) as failure:
            sns_stub.publisher.publish(events)

        assert failure.value.delivered == 2


def put_answer(count: int, failed: set[int]) -> dict[str, Any]:
    entries: list[dict[str, str]] = [
        {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}
        if i in failed
        else {"EventId": f"e-{i}"}
        for i in range(count)
    ]
    return {"FailedEntryCount": len(failed), "Entries": entries}


def event_ids_of(call: dict[str, Any]) -> list[str]:
    return [json.loads(entry["Detail"])["event_id"] for entry in call["Entries"]]


class TestEventBridgePartialFailures:
    def test_only_the_failed_entries_are_put_again(
        self, events_stub: Stubbed[EventBridgePublisher], make_event: MakeEvent
    ) -> None:
        events_stub.answer(put_answer(10, {3, 7}))
        events_stub.answer(put_answer(2, set()))
        calls = record_calls(events_stub.client, "PutEvents")
        events = ten(make_event)

        events_stub.publisher.publish(events)

        assert event_ids_of(calls[1]) == [events[3].event_id, events[7].event_id]

    def test_persistent_failure_reports_the_delivered_prefix(
        self, events_stub: Stubbed[EventBridgePublisher], make_event: MakeEvent
    ) -> None:
        events_stub.answer(put_answer(10, {3, 7}))
        events_stub.answer(put_answer(2, {0, 1}))
        events_stub.answer(put_answer(2, {0, 1}))

        with pytest.raises(PublishFailed) as failure:
            events_stub.publisher.publish(ten(make_event, 12))

        # The second chunk is never sent: events go out in order
        assert failure.value.delivered == 3

    def test_a_missing_result_counts_as_failed(
        self, events_stub: Stubbed[EventBridgePublisher], make_event: MakeEvent
    ) -> None:
        answer = put_answer(3, set())
        answer["Entries"].pop()
        events_stub.answer(answer)
        events_stub.answer(put_answer(1, set()))
        calls = record_calls(events_stub.client, "PutEvents")
        events = ten(make_event, 3)

        events_stub.publisher.publish(events)

        assert event_ids_of(calls[1]) == [events[2].event_id]
