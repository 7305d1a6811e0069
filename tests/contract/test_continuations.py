"""Continuations: QueuedContinuations agrees with SqsContinuations on the template's contact
queue (whose own delay, DeliveryDelaySeconds, must not hold up work already under way)."""

from __future__ import annotations

import pytest

from activity_relay.core.contracts.contact_queue import continuation_body, read_body
from tests.contract.conftest import ContinuationsUnderTest

CONTACT = "123e4567-e89b-12d3-a456-426614174000"


def test_a_continuation_is_a_message_naming_the_contact_as_continued(
    continuations: ContinuationsUnderTest,
) -> None:
    continuations.continuations.continue_later(CONTACT, delay_seconds=0)

    (body,) = continuations.visible()
    assert body == continuation_body(CONTACT)
    request = read_body(body)
    assert request.contact_id == CONTACT
    assert request.continuation


def test_a_continuation_waits_its_delay_not_the_queue_s(
    continuations: ContinuationsUnderTest,
) -> None:
    continuations.continuations.continue_later(CONTACT, delay_seconds=60)

    assert continuations.visible() == []


@pytest.mark.parametrize(("delay", "visible_now"), [(-5, True), (1_000, False)])
def test_a_delay_outside_what_sqs_allows_is_held_to_0_900(
    continuations: ContinuationsUnderTest, delay: int, visible_now: bool
) -> None:
    continuations.continuations.continue_later(CONTACT, delay_seconds=delay)

    assert continuations.visible() == ([continuation_body(CONTACT)] if visible_now else [])
