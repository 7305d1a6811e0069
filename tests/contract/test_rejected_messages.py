"""RejectedMessages: RejectionLog agrees with SqsDeadLetters on the template's dead-letter
queue: what is kept of a rejected message."""

from __future__ import annotations

from tests.contract.conftest import RejectionsUnderTest


def test_a_rejected_message_is_kept_with_its_id_and_reason(
    rejections: RejectionsUnderTest,
) -> None:
    rejections.rejected.reject(message_id="m-1", body="not a contact", reason="no contact id")
    rejections.rejected.reject(message_id="m-2", body='{"x": 1}', reason="bad json")

    assert rejections.kept() == [
        ("m-1", "not a contact", "no contact id"),
        ("m-2", '{"x": 1}', "bad json"),
    ]


def test_an_empty_body_is_kept_as_a_placeholder(rejections: RejectionsUnderTest) -> None:
    # SQS refuses an empty message body: the rejection must not be lost for it
    rejections.rejected.reject(message_id="m-1", body="", reason="empty body")

    assert rejections.kept() == [("m-1", "(empty body)", "empty body")]
