"""lambda_events: the SQS records the handlers read, as Powertools' SQSEvent reads them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent
from hypothesis import given
from hypothesis import strategies as st

from activity_relay.lambda_events import sqs_records

_text = st.text(max_size=40)
_digits = st.integers(min_value=0, max_value=2**42).map(str)
_attribute = st.one_of(
    st.fixed_dictionaries({"stringValue": _text, "dataType": st.just("String")}),
    st.fixed_dictionaries({"stringValue": _digits, "dataType": st.just("Number")}),
    st.fixed_dictionaries({"binaryValue": _text, "dataType": st.just("Binary")}),
)
_record = st.fixed_dictionaries(
    {
        "messageId": _text,
        "receiptHandle": _text,
        "body": _text,
        "eventSourceARN": _text,
        # Lambda always sends both (Powertools raises KeyError without them)
        "attributes": st.fixed_dictionaries(
            {"SentTimestamp": _digits, "ApproximateReceiveCount": _digits}
        ),
        "messageAttributes": st.dictionaries(_text, _attribute, max_size=4),
    }
)


@given(st.lists(_record, max_size=5))
def test_records_read_as_powertools_reads_them(records: list[dict[str, Any]]) -> None:
    event = {"Records": records}

    ours = sqs_records(event)
    theirs = list(SQSEvent(event).records)

    assert len(ours) == len(theirs)
    for mine, record in zip(ours, theirs, strict=True):
        assert mine.message_id == record.message_id
        assert mine.body == record.body
        assert mine.receipt_handle == record.receipt_handle
        assert mine.event_source_arn == record.event_source_arn
        assert mine.sent_timestamp_ms == int(record.attributes.sent_timestamp)
        assert mine.receive_count == int(record.attributes.approximate_receive_count)
        assert mine.string_attributes == {
            name: value.string_value
            for name, value in record.message_attributes.items()
            if "stringValue" in value.raw_event  # a Binary one has none
        }


def test_an_event_without_records_has_none() -> None:
    assert sqs_records({}) == []
    assert sqs_records({"Records": []}) == []


def test_a_record_without_attributes_has_no_sent_time_and_was_received_once() -> None:
    (record,) = sqs_records({"Records": [{"messageId": "m1", "body": "b"}]})

    assert record.sent_timestamp_ms is None
    assert record.receive_count == 1
    assert record.string_attributes == {}
    assert (record.receipt_handle, record.event_source_arn) == ("", "")
