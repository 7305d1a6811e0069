"""Endpoint filters: the SNS filter-policy syntax (the documented subset) over the message
attributes event_type, activity_type, entity_type, contact_id."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activity_relay.core.webhooks_out.filters import check_filter, matches
from activity_relay.core.webhooks_out.ports import WebhookConfigError

CALL = {
    "event_type": "activity.created",
    "activity_type": "call",
    "entity_type": "contact",
    "contact_id": "123e4567-e89b-12d3-a456-426614174000",
}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({}, True),
        ({"activity_type": ["call", "meeting"]}, True),
        ({"activity_type": ["meeting"]}, False),
        ({"activity_type": [{"prefix": "ca"}]}, True),
        ({"activity_type": [{"suffix": "ll"}]}, True),
        ({"activity_type": [{"equals-ignore-case": "CALL"}]}, True),
        ({"activity_type": [{"anything-but": "note"}]}, True),
        ({"activity_type": [{"anything-but": ["call", "note"]}]}, False),
        ({"activity_type": [{"anything-but": {"prefix": "c"}}]}, False),
        ({"entity_type": [{"exists": True}]}, True),
        ({"entity_type": [{"exists": False}]}, False),
        # AND across attributes, OR within one
        ({"activity_type": ["call"], "entity_type": ["matter"]}, False),
        ({"activity_type": ["note", {"prefix": "c"}], "event_type": ["activity.created"]}, True),
    ],
)
def test_a_call_passes_or_not(policy: dict[str, Any], expected: bool) -> None:
    assert matches(check_filter(policy), CALL) is expected


def test_a_missing_attribute_matches_only_exists_false() -> None:
    # As in SNS: anything-but needs the attribute present
    without_entity = {**CALL, "entity_type": None}

    assert matches({"entity_type": [{"exists": False}]}, without_entity)
    assert not matches({"entity_type": [{"anything-but": "matter"}]}, without_entity)
    assert not matches({"entity_type": [{"prefix": ""}]}, without_entity)


@pytest.mark.parametrize(
    ("policy", "complaint"),
    [
        ([], "JSON object"),
        ({"title": ["x"]}, "not one of"),
        ({"activity_type": "call"}, "list"),
        ({"activity_type": []}, "list"),
        ({"activity_type": [{"numeric": [">", 1]}]}, "unsupported"),
        ({"activity_type": [{"prefix": 1}]}, "unsupported"),
        ({"activity_type": [{"exists": "yes"}]}, "unsupported"),
        ({"activity_type": [{"anything-but": {"suffix": "x"}}]}, "unsupported"),
        ({"activity_type": [7]}, "unsupported"),
    ],
)
def test_policies_outside_the_subset_are_refused_saying_why(policy: Any, complaint: str) -> None:
    with pytest.raises(WebhookConfigError, match=complaint):
        check_filter(policy)


values = st.text(min_size=1, max_size=8)


@given(st.lists(values, min_size=1, max_size=5), values)
def test_an_exact_list_matches_exactly_its_members(allowed: list[str], value: str) -> None:
    policy = check_filter({"activity_type": allowed})

    assert matches(policy, {**CALL, "activity_type": value}) is (value in allowed)
    assert matches({"activity_type": [{"anything-but": allowed}]}, {"activity_type": value}) is (
        value not in allowed
    )
