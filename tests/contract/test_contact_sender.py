"""ContactSender: MemoryContactSender agrees with SqsContactSender (the webhook receiver's one
SendMessage per verified notification) on the template's contact queue."""

from __future__ import annotations

import pytest

from activity_relay.core.webhooks_in.ports import ReceiverUnavailable
from tests.contract.conftest import SenderUnderTest

CONTACT = "123e4567-e89b-12d3-a456-426614174000"


def test_one_message_per_notification_its_body_the_bare_id(
    contact_sender: SenderUnderTest,
) -> None:
    contact_sender.sender.send(CONTACT, activity_id="act_1")

    assert contact_sender.sent() == [(CONTACT, "act_1")]


def test_without_an_activity_id_the_message_carries_none(contact_sender: SenderUnderTest) -> None:
    contact_sender.sender.send(CONTACT, activity_id=None)

    assert contact_sender.sent() == [(CONTACT, None)]


def test_the_same_contact_twice_is_two_messages(contact_sender: SenderUnderTest) -> None:
    contact_sender.sender.send(CONTACT, activity_id="act_1")
    contact_sender.sender.send(CONTACT, activity_id="act_2")

    assert contact_sender.sent() == [(CONTACT, "act_1"), (CONTACT, "act_2")]


def test_a_queue_that_is_down_raises_and_keeps_nothing(contact_sender: SenderUnderTest) -> None:
    contact_sender.go_down()

    with pytest.raises(ReceiverUnavailable):
        contact_sender.sender.send(CONTACT, activity_id="act_1")

    assert contact_sender.sent() == []
