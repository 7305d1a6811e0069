"""ContactQueue: MemoryContactQueue agrees with SqsContactQueue on the template's contact
queue (whose own delay, DeliveryDelaySeconds, holds back messages that name none)."""

from __future__ import annotations

import pytest

from tests.contract.conftest import QueueUnderTest


def contact(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def test_one_message_per_id_its_body_the_bare_id(contact_queue: QueueUnderTest) -> None:
    contacts = [contact(n) for n in range(23)]  # more than one SendMessageBatch

    failed = contact_queue.queue.enqueue(contacts, delays=[0] * len(contacts))

    assert failed == []
    assert sorted(contact_queue.visible()) == contacts


def test_the_same_id_twice_is_two_messages(contact_queue: QueueUnderTest) -> None:
    assert contact_queue.queue.enqueue([contact(1), contact(1)], delays=[0, 0]) == []

    assert contact_queue.visible() == [contact(1), contact(1)]


def test_a_message_waits_its_own_delay(contact_queue: QueueUnderTest) -> None:
    assert contact_queue.queue.enqueue([contact(1), contact(2)], delays=[0, 60]) == []

    assert contact_queue.visible() == [contact(1)]


def test_without_delays_the_queue_s_own_applies(contact_queue: QueueUnderTest) -> None:
    assert contact_queue.queue.enqueue([contact(1)]) == []

    assert contact_queue.visible() == []


def test_nothing_to_enqueue(contact_queue: QueueUnderTest) -> None:
    assert contact_queue.queue.enqueue([], delays=[]) == []
    assert contact_queue.visible() == []


def test_a_delay_sqs_refuses_fails_that_id_alone(contact_queue: QueueUnderTest) -> None:
    failed = contact_queue.queue.enqueue([contact(1), contact(2)], delays=[0, 901])

    assert failed == [contact(2)]
    assert contact_queue.visible() == [contact(1)]


def test_as_many_delays_as_ids_or_nothing_is_sent(contact_queue: QueueUnderTest) -> None:
    with pytest.raises(ValueError, match=r"."):
        contact_queue.queue.enqueue([contact(1), contact(2)], delays=[0])

    assert contact_queue.visible() == []
