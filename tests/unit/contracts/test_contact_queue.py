"""The contact queue's message bodies: which name a contact, why the others are rejected, and
the sweep's release told from a webhook's message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activity_relay.core.contracts.contact_queue import (
    InvalidMessage,
    contact_id_from_body,
    read_body,
    release_body,
)

UUID = "123e4567-e89b-12d3-a456-426614174000"


@pytest.mark.parametrize(
    "body",
    [
        UUID,
        f"  {UUID}\n",
        UUID.upper(),
        f'{{"contact_id": "{UUID}"}}',
        f' {{"contact_id": "{UUID}", "source": "webhook"}} ',
    ],
)
def test_accepted_bodies_name_the_contact_in_canonical_form(body: str) -> None:
    assert contact_id_from_body(body) == UUID


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        ("   ", "empty body"),
        ("not-a-uuid", "neither a contact UUID nor a JSON object"),
        (f"{{{UUID}}}", "not valid JSON"),
        (UUID.replace("-", ""), "neither a contact UUID"),
        (f"urn:uuid:{UUID}", "neither a contact UUID"),
        ("{}", "no string contact_id"),
        ('{"contact_id": 42}', "no string contact_id"),
        (f'["{UUID}"]', "neither a contact UUID nor a JSON object"),
        ('{"contact_id": "../../admin"}', "contact_id is not a UUID"),
        ('{"contact_id": ', "not valid JSON"),
    ],
)
def test_rejected_bodies_say_why(body: str, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        contact_id_from_body(body)


@given(st.text())
def test_any_body_is_either_a_uuid_or_a_rejection(body: str) -> None:
    try:
        contact_id = contact_id_from_body(body)
    except InvalidMessage as rejection:
        reason = str(rejection)
        assert reason
    else:
        assert len(contact_id) == 36
        assert contact_id == contact_id.lower()


def test_long_bodies_are_cut_in_the_reason() -> None:
    with pytest.raises(InvalidMessage) as rejection:
        contact_id_from_body("x" * 10_000)
    assert len(str(rejection.value)) < 200


def test_a_release_body_names_its_contact_and_is_told_from_a_webhook_s() -> None:
    body = release_body(UUID)

    assert contact_id_from_body(body) == UUID
    assert read_body(body).released
    assert not read_body(UUID).released
    assert not read_body(f'{{"contact_id": "{UUID}"}}').released
    assert not read_body(f'{{"contact_id": "{UUID}", "released": "yes"}}').released
    with pytest.raises(InvalidMessage):
        read_body("{not json")
