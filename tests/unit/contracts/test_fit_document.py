"""fit_document: an oversized event document is cut to fit, never dropped, and says so."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activity_relay.core.contracts.event_document import DocumentTooLarge, fit_document, serialize


def document(**activity: Any) -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "event_id": "act-1",
        "event_type": "activity.created",
        "contact_id": "123e4567-e89b-12d3-a456-426614174000",
        "activity_type": "note",
        "occurred_at": "2024-05-01T10:00:00Z",
        "activity": {"id": "act-1", "created_date": "2024-05-01T10:00:00Z", **activity},
    }


def size(value: Any) -> int:
    return len(serialize(value).encode())


def test_a_document_that_fits_is_returned_unchanged() -> None:
    original = document(description="short")

    assert fit_document(original, size(original)) == original


def test_one_byte_over_trims_the_description_by_what_the_marks_cost() -> None:
    original = document(description="d" * 1000)

    fitted = fit_document(original, size(original) - 1)

    assert size(fitted) <= size(original) - 1
    assert fitted["truncated"] is True
    assert fitted["truncated_fields"] == ["activity.description"]
    assert fitted["activity"]["description"][:900] == "d" * 900


def test_metadata_goes_before_the_description_is_emptied() -> None:
    # Given metadata too large to fit even with no description at all
    original = document(description="d" * 2000, metadata={"blob": "m" * 5000}, title="t" * 300)

    fitted = fit_document(original, 2000)

    # Then metadata is replaced, the title kept, and the description regrown to fill the room
    assert fitted["activity"]["metadata"] is None
    assert fitted["activity"]["title"] == "t" * 300
    assert fitted["truncated_fields"] == ["activity.description", "activity.metadata"]
    assert len(fitted["activity"]["description"]) > 1000
    assert size(fitted) <= 2000


def test_then_the_title_then_other_fields_largest_first() -> None:
    original = document(
        metadata={"a": "m" * 500},
        title="t" * 500,
        notes="n" * 3000,
        body="b" * 4000,
        small="s" * 100,
    )

    fitted = fit_document(original, 1000)

    assert fitted["truncated_fields"] == [
        "activity.metadata",
        "activity.title",
        "activity.body",
        "activity.notes",
    ]
    assert fitted["activity"]["small"] == "s" * 100
    assert fitted["activity"]["id"] == "act-1"


def test_a_document_whose_fixed_fields_exceed_the_limit_is_refused() -> None:
    original = document(description="d" * 100)

    with pytest.raises(DocumentTooLarge):
        fit_document(original, size({**original, "activity": {}}))


def test_the_serialized_form_is_ascii_so_characters_are_bytes() -> None:
    # SQS subscribers refuse some code points; escaped, every character is safe and one byte
    text = serialize(document(description="é\u2028\ufffe😀\x00"))

    assert text.isascii()


def cut_down(original: dict[str, Any]) -> dict[str, Any]:
    """The smallest form fit_document can give: the description emptied, every other
    activity field but the id that is larger than null replaced by null."""
    activity, fields = dict(original["activity"]), []
    for name, value in original["activity"].items():
        if name == "description" and isinstance(value, str):
            activity[name] = ""
        elif name != "id" and len(serialize(value)) > len("null"):
            activity[name] = None
        else:
            continue
        if value != activity[name]:
            fields.append(f"activity.{name}")
    return {**original, "activity": activity, "truncated": True, "truncated_fields": fields}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def documents_and_limits(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    activity: dict[str, Any] = {
        name: draw(st.text(max_size=3000) | json_values)
        for name in draw(st.sets(st.sampled_from(["description", "title", "metadata", "x", "y"])))
    }
    if draw(st.booleans()):
        activity["description"] = draw(st.text(min_size=100, max_size=3000))
    original = document(**activity)
    # Mostly limits that can be met, a few below what the cut document needs
    floor = size(cut_down(original)) - 20
    return original, draw(st.integers(min_value=floor, max_value=max(floor, size(original)) + 10))


@settings(max_examples=300, deadline=None)
@given(documents_and_limits())
def test_fitted_documents_fit_and_say_exactly_what_changed(
    case: tuple[dict[str, Any], int],
) -> None:
    original, limit = case
    try:
        fitted = fit_document(original, limit)
    except DocumentTooLarge:
        # Only when even the fixed fields with every activity field cut overflow
        assert size(cut_down(original)) > limit
        return

    assert size(fitted) <= limit
    if size(original) <= limit:
        assert fitted == original
        return
    assert fitted["truncated"] is True
    changed = [
        f"activity.{name}"
        for name, value in original["activity"].items()
        if fitted["activity"][name] != value
    ]
    assert sorted(fitted["truncated_fields"]) == sorted(changed)
    assert {k: v for k, v in fitted.items() if not k.startswith("truncated")} | {
        "activity": original["activity"]
    } == original
    description = original["activity"].get("description")
    if isinstance(description, str) and "activity.description" in fitted["truncated_fields"]:
        kept = fitted["activity"]["description"]
        assert description.startswith(kept)
        # Cut no more than needed: one more character would not fit
        longer = {
            **fitted,
            "activity": {**fitted["activity"], "description": description[: len(kept) + 1]},
        }
        assert size(longer) > limit
