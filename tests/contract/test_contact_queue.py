"""ContactQueue: MemoryContactQueue agrees with SqsContactQueue on the template's contact queue
(whose own delay, DeliveryDelaySeconds, holds back messages that name none), for every message
the relay sends: a plain request, the sweep's release, a sync's continuation and a webhook's."""

from __future__ import annotations

from activity_relay.core.contracts.contact_queue import (
    Purpose,
    QueuedContact,
    continuation_body,
    read_body,
)
from tests.contract.conftest import QueueUnderTest

CONTACT = "123e4567-e89b-12d3-a456-426614174000"


def contact(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def requests(contacts: list[str], delays: list[int | None]) -> list[QueuedContact]:
    return [QueuedContact(c, delay_seconds=d) for c, d in zip(contacts, delays, strict=True)]


# --- Requests: the bare id ---------------------------------------------------------------------


def test_one_message_per_id_its_body_the_bare_id(contact_queue: QueueUnderTest) -> None:
    contacts = [contact(n) for n in range(23)]  # more than one SendMessageBatch

    failed = contact_queue.queue.send(requests(contacts, [0] * len(contacts)))

    assert failed == []
    assert sorted(contact_queue.visible()) == contacts


def test_the_same_id_twice_is_two_messages(contact_queue: QueueUnderTest) -> None:
    assert contact_queue.queue.send(requests([contact(1), contact(1)], [0, 0])) == []

    assert contact_queue.visible() == [contact(1), contact(1)]


def test_a_message_waits_its_own_delay(contact_queue: QueueUnderTest) -> None:
    assert contact_queue.queue.send(requests([contact(1), contact(2)], [0, 60])) == []

    assert contact_queue.visible() == [contact(1)]


def test_without_delays_the_queue_s_own_applies(contact_queue: QueueUnderTest) -> None:
    assert contact_queue.queue.send(requests([contact(1)], [None])) == []

    assert contact_queue.visible() == []


def test_nothing_to_enqueue(contact_queue: QueueUnderTest) -> None:
    assert contact_queue.queue.send([]) == []
    assert contact_queue.visible() == []


def test_a_delay_sqs_refuses_fails_that_id_alone(contact_queue: QueueUnderTest) -> None:
    messages = requests([contact(1), contact(2)], [0, 901])

    failed = contact_queue.queue.send(messages)

    assert failed == [messages[1]]
    assert contact_queue.visible() == [contact(1)]


# --- The sweep's release -------------------------------------------------------------------------


def test_a_release_names_the_contact_as_released(contact_queue: QueueUnderTest) -> None:
    message = QueuedContact(CONTACT, Purpose.RELEASE, delay_seconds=0)

    assert contact_queue.queue.send([message]) == []

    (body,) = contact_queue.visible()
    request = read_body(body)
    assert (request.contact_id, request.released, request.continuation) == (CONTACT, True, False)


# --- A sync's continuation -----------------------------------------------------------------------


def test_a_continuation_is_a_message_naming_the_contact_as_continued(
    contact_queue: QueueUnderTest,
) -> None:
    contact_queue.queue.send([QueuedContact.continuation(CONTACT, delay_seconds=0)])

    (body,) = contact_queue.visible()
    assert body == continuation_body(CONTACT)
    request = read_body(body)
    assert request.contact_id == CONTACT
    assert request.continuation


def test_a_continuation_waits_its_delay_not_the_queue_s(contact_queue: QueueUnderTest) -> None:
    contact_queue.queue.send([QueuedContact.continuation(CONTACT, delay_seconds=60)])

    assert contact_queue.visible() == []


def test_a_continuation_s_delay_outside_what_sqs_allows_is_held_to_0_900(
    contact_queue: QueueUnderTest,
) -> None:
    early = QueuedContact.continuation(contact(1), delay_seconds=-5)
    late = QueuedContact.continuation(contact(2), delay_seconds=1_000)

    assert contact_queue.queue.send([early, late]) == []

    assert contact_queue.visible() == [continuation_body(contact(1))]
    assert (early.delay_seconds, late.delay_seconds) == (0, 900)


# --- A LeadLex webhook's message -----------------------------------------------------------------


def webhook(contact_id: str, activity_id: str | None) -> QueuedContact:
    return QueuedContact(contact_id, Purpose.WEBHOOK, activity_id=activity_id)


def test_one_message_per_notification_its_body_the_bare_id(
    undelayed_contact_queue: QueueUnderTest,
) -> None:
    undelayed_contact_queue.queue.send([webhook(CONTACT, "act_1")])

    assert undelayed_contact_queue.received() == [
        (CONTACT, {"origin": "leadlex_webhook", "activity_id": "act_1"})
    ]


def test_without_an_activity_id_the_message_carries_none(
    undelayed_contact_queue: QueueUnderTest,
) -> None:
    undelayed_contact_queue.queue.send([webhook(CONTACT, None)])

    assert undelayed_contact_queue.received() == [(CONTACT, {"origin": "leadlex_webhook"})]


def test_the_same_contact_twice_is_two_messages(undelayed_contact_queue: QueueUnderTest) -> None:
    undelayed_contact_queue.queue.send([webhook(CONTACT, "act_1")])
    undelayed_contact_queue.queue.send([webhook(CONTACT, "act_2")])

    received = undelayed_contact_queue.received()
    assert [(body, attributes["activity_id"]) for body, attributes in received] == [
        (CONTACT, "act_1"),
        (CONTACT, "act_2"),
    ]


def test_a_queue_that_is_down_takes_nothing_and_says_so(
    undelayed_contact_queue: QueueUnderTest,
) -> None:
    undelayed_contact_queue.go_down()
    message = webhook(CONTACT, "act_1")

    assert undelayed_contact_queue.queue.send([message]) == [message]

    assert undelayed_contact_queue.received() == []


def test_an_activity_id_sqs_would_refuse_leaves_the_attribute_out_not_the_message(
    undelayed_contact_queue: QueueUnderTest,
) -> None:
    # Given a webhook whose activity id holds characters SQS refuses in an attribute
    message = webhook(CONTACT, "act_\x00\ud800")

    # When it is sent, it is taken, without the attribute (the sync reads the body only)
    assert undelayed_contact_queue.queue.send([message]) == []

    assert undelayed_contact_queue.received() == [(CONTACT, {"origin": "leadlex_webhook"})]
