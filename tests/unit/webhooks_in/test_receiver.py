"""LeadLex webhooks in: the contact's place in the payload, and what the receiver does with a
delivery (the signature itself: test_signature.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activity_relay.core.webhooks_in.payload import (
    MAX_BODY_BYTES,
    Ignored,
    IgnoredReason,
    MalformedPayload,
    Notification,
    read_notification,
)
from activity_relay.core.webhooks_in.ports import ReceiverUnavailable
from activity_relay.core.webhooks_in.receiver import Outcome, WebhookReceiver
from activity_relay.core.webhooks_in.signature import RotatingSecret
from relay_local.fakes.contact_queue import MemoryContactQueue
from tests.support.clock import Clock
from tests.support.leadlex_webhooks import BODY, CONTACT, SECRET, payload, sign

OTHER_CONTACT = "9b2f7c1e-4d3a-4f6b-8e2d-1a2b3c4d5e6f"


# --- Payload shapes -------------------------------------------------------------------------------


def named(notification: Notification | Ignored) -> tuple[str, str | None]:
    """The contact and activity id a delivery names."""
    assert isinstance(notification, Notification)
    return notification.contact_id, notification.activity_id


class TestPayloadShapes:
    @pytest.mark.parametrize(
        "data",
        [
            {"activity": {"id": "act_1", "contact_id": CONTACT}},
            {"activity": {"id": "act_1", "entity_type": "contact", "entity_id": CONTACT}},
            {"activity": {"id": "act_1"}, "contact_id": CONTACT},
            {"activity": {"id": "act_1"}, "contact": {"id": CONTACT, "name": "Jane"}},
            {"activity": {"id": "act_1", "contact_id": CONTACT.upper()}},
        ],
        ids=[
            "data.activity.contact_id",
            "data.activity.entity_id of a contact",
            "data.contact_id",
            "data.contact.id",
            "upper-case uuid",
        ],
    )
    def test_each_documented_candidate_names_the_contact(self, data: dict[str, Any]) -> None:
        assert named(read_notification(payload(data))) == (CONTACT, "act_1")

    def test_activity_contact_id_comes_first(self) -> None:
        data = {"activity": {"contact_id": CONTACT}, "contact": {"id": OTHER_CONTACT}}
        assert named(read_notification(payload(data))) == (CONTACT, None)

    def test_an_unusable_candidate_gives_way_to_the_next(self) -> None:
        data = {"activity": {"contact_id": "c-17"}, "contact_id": OTHER_CONTACT}
        assert named(read_notification(payload(data))) == (OTHER_CONTACT, None)

    def test_a_deal_activity_names_no_contact(self) -> None:
        deal = {"id": "act_2", "entity_type": "deal", "entity_id": OTHER_CONTACT, "deal_id": "d"}
        assert read_notification(payload({"activity": deal})) == Ignored(
            IgnoredReason.NO_CONTACT, "activity.created"
        )

    def test_another_event_type_is_ignored(self) -> None:
        body = payload({"contact": {"id": CONTACT}}, event="contact.created")
        assert read_notification(body) == Ignored(IgnoredReason.OTHER_EVENT, "contact.created")

    def test_a_payload_naming_no_event_is_read_as_activity_created(self) -> None:
        body = payload({"activity": {"contact_id": CONTACT}}, event=None)
        assert named(read_notification(body)) == (CONTACT, None)

    @pytest.mark.parametrize(
        "contact_id", ["not-a-uuid", "123e4567e89b12d3a456426614174000", "{" + CONTACT + "}", 42]
    )
    def test_a_non_uuid_contact_id_is_ignored(self, contact_id: object) -> None:
        expected = (
            Ignored(IgnoredReason.NO_CONTACT, "activity.created")
            if not isinstance(contact_id, str)
            else Ignored(IgnoredReason.INVALID_CONTACT_ID, "activity.created")
        )
        assert read_notification(payload({"activity": {"contact_id": contact_id}})) == expected

    @pytest.mark.parametrize(
        "body",
        [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"activity.created"', b"null"],
        ids=["broken", "empty", "not utf-8", "array", "string", "null"],
    )
    def test_malformed_json_is_refused(self, body: bytes) -> None:
        with pytest.raises(MalformedPayload):
            read_notification(body)

    def test_an_oversize_body_is_refused(self) -> None:
        with pytest.raises(MalformedPayload, match="over"):
            read_notification(b" " * (MAX_BODY_BYTES + 1))

    @given(
        st.recursive(
            st.none() | st.text() | st.integers(),
            lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        )
    )
    def test_any_json_is_answered_without_an_exception(self, data: object) -> None:
        body = json.dumps({"event": "activity.created", "data": data}).encode()
        assert isinstance(read_notification(body), Notification | Ignored)


# --- The receiver ---------------------------------------------------------------------------------


def notified(queue: MemoryContactQueue) -> list[tuple[str, str | None]]:
    """(contact, activity) of each message the receiver put on the queue, in order."""
    return [(m.contact_id, m.activity_id) for m in queue.messages]


def receiver(sender: MemoryContactQueue) -> WebhookReceiver:
    return WebhookReceiver(RotatingSecret(lambda _: SECRET, clock=Clock(1000.0)), sender)


class TestReceiver:
    def test_a_verified_notification_enqueues_its_contact(self) -> None:
        sender = MemoryContactQueue()
        reception = receiver(sender).receive(BODY, sign(BODY))
        assert reception.outcome is Outcome.ENQUEUED
        assert reception.contact_id == CONTACT
        assert notified(sender) == [(CONTACT, "act_1")]

    @pytest.mark.parametrize("header", [None, "sha256=00", "sha1=" + "0" * 40])
    def test_an_unverified_delivery_enqueues_nothing(self, header: str | None) -> None:
        sender = MemoryContactQueue()
        reception = receiver(sender).receive(BODY, header)
        assert reception.outcome is Outcome.UNAUTHORIZED
        assert notified(sender) == []
        # The detail is safe to log: the problem's name, never the digest or the secret.
        assert reception.detail in {"missing", "mismatch", "wrong_scheme"}

    def test_malformed_json_is_checked_only_after_the_signature(self) -> None:
        sender = MemoryContactQueue()
        assert receiver(sender).receive(b"{", None).outcome is Outcome.UNAUTHORIZED
        assert receiver(sender).receive(b"{", sign(b"{")).outcome is Outcome.MALFORMED

    def test_an_oversize_body_is_refused_unhashed(self) -> None:
        body = b"{" + b" " * MAX_BODY_BYTES + b"}"
        loads: list[bool] = []

        def load(refresh: bool) -> str:
            loads.append(refresh)
            return SECRET

        reception = WebhookReceiver(
            RotatingSecret(load, clock=Clock(1000.0)), MemoryContactQueue()
        ).receive(body, sign(body))
        assert reception.outcome is Outcome.MALFORMED
        assert loads == []

    def test_a_verified_but_unusable_delivery_is_ignored_with_its_reason(self) -> None:
        sender = MemoryContactQueue()
        body = payload({"activity": {"entity_type": "deal", "entity_id": CONTACT}})
        reception = receiver(sender).receive(body, sign(body))
        assert (reception.outcome, reception.detail) == (Outcome.IGNORED, "no_contact")
        assert notified(sender) == []

    def test_a_queue_failure_propagates_so_that_leadlex_retries(self) -> None:
        sender = MemoryContactQueue()
        sender.go_down()
        with pytest.raises(ReceiverUnavailable):
            receiver(sender).receive(BODY, sign(BODY))


def test_a_signed_body_nested_too_deeply_is_malformed_not_an_error() -> None:
    # Given a validly signed body of JSON nested far deeper than the parser recurses
    nested = b"[" * 50_000 + b"]" * 50_000
    queue = MemoryContactQueue()

    # When it is received, it is answered as malformed (400), and nothing is enqueued
    deep = receiver(queue).receive(nested, sign(nested))

    assert deep.outcome is Outcome.MALFORMED
    assert deep.detail == "body is JSON nested too deeply"
    assert queue.messages == []
