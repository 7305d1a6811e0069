"""schemas/activity-event.schema.json: the event document as subscribers may rely on it, the
draft-4 copy template.yaml registers in EventBridge, and that the two agree.

That every document the relay publishes in the other tests validates is checked where it leaves
the relay (tests/conftest.py, published_documents_match_the_schema)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, Draft202012Validator

from activity_relay.core.contracts.event_document import event_document, fit_document, serialize
from activity_relay.core.model import Activity, ActivityEvent
from relay_local.event_schema import draft4, load_schema
from relay_local.template import load_template

SCHEMA = load_schema()
TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
CONTACT = "123e4567-e89b-12d3-a456-426614174000"


def event(**raw: Any) -> dict[str, Any]:
    activity = {"id": "act_1", "created_date": "2026-03-01T10:00:00Z", "activity_type": "call"}
    return event_document(ActivityEvent(CONTACT, Activity.from_api({**activity, **raw})))


def valid(document: Any) -> bool:
    return Draft202012Validator(SCHEMA).is_valid(document)


def valid_draft4(document: Any) -> bool:
    return Draft4Validator(registered_schema()).is_valid(document)


def registered_schema() -> dict[str, Any]:
    content: dict[str, Any] = json.loads(
        RESOURCES["ActivityCreatedSchema"]["Properties"]["Content"]
    )
    return content


def test_the_schema_is_draft_2020_12_and_the_registered_copy_draft_4() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)
    Draft4Validator.check_schema(registered_schema())


def test_the_template_registers_the_draft_4_rendering_of_the_schema_file() -> None:
    # If this fails: `.venv/bin/python -m relay_local.event_schema` prints what to paste
    assert registered_schema() == draft4(SCHEMA)
    properties = RESOURCES["ActivityCreatedSchema"]["Properties"]
    assert properties["Type"] == "JSONSchemaDraft4"
    assert properties["RegistryName"] == {"Fn::GetAtt": ["EventSchemaRegistry", "RegistryName"]}
    assert RESOURCES["EventSchemaRegistry"]["Type"] == "AWS::EventSchemas::Registry"


def test_the_relays_documents_validate() -> None:
    assert valid(event())
    assert valid(event(activity_type=None, type="meeting"))
    # The API named no type at all: activity_type is null, still a valid event
    bare = event_document(
        ActivityEvent(
            CONTACT, Activity.from_api({"id": "a", "created_date": "2026-03-01T10:00:00Z"})
        )
    )
    assert bare["activity_type"] is None
    assert valid(bare)


def test_a_truncated_document_validates_and_says_what_was_cut() -> None:
    original = event(description="d" * 5000, title="t" * 3000)
    fitted = fit_document(original, len(serialize(original)) - 4000)

    assert fitted["truncated"] is True
    assert valid(fitted)
    assert valid_draft4(fitted)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d.pop("event_id"), "event_id is required"),
        (lambda d: d.update(event_type="activity.deleted"), "only activity.created"),
        (lambda d: d.update(contact_id=CONTACT.upper()), "contact ids are lower case"),
        (lambda d: d.update(schema_version="2.0"), "a 2.x would change meanings"),
        (lambda d: d["activity"].pop("id"), "the activity keeps its id"),
        (lambda d: d.update(truncated=True), "truncated names its fields"),
        (lambda d: d.update(truncated_fields=["activity.title"]), "fields only when truncated"),
        (lambda d: d.update(truncated=False, truncated_fields=["activity.x"]), "true or absent"),
        (lambda d: d.update(occurred_at=""), "occurred_at is a timestamp"),
    ],
)
def test_what_is_not_an_event_fails_both_renderings(change: Any, why: str) -> None:
    document = event()
    change(document)
    assert not valid(document), why
    assert not valid_draft4(document), why


def test_further_fields_may_be_added() -> None:
    assert valid({**event(), "schema_version": "1.1", "new_field": 1})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    raw=st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=6),
    activity_type=st.none() | st.text(max_size=10),
    cut=st.integers(min_value=0, max_value=400),
)
def test_both_renderings_agree_on_generated_documents(
    raw: dict[str, Any], activity_type: str | None, cut: int
) -> None:
    # Given any activity the API might send, possibly truncated to fit
    activity = {**raw, "id": "act_x", "created_date": "2026-03-01T10:00:00Z"}
    if activity_type is not None:
        activity["activity_type"] = activity_type
    document = event_document(ActivityEvent(CONTACT, Activity.from_api(activity)))
    try:
        document = fit_document(document, max(len(serialize(document)) - cut, 400))
    except ValueError:
        return
    # Then it is an event, in both renderings
    assert valid(document)
    assert valid_draft4(document)
    broken = copy.deepcopy(document)
    broken["event_type"] = 1
    assert not valid(broken)
    assert not valid_draft4(broken)


def test_a_cut_field_whose_name_has_a_dot_is_named_as_it_is() -> None:
    # LeadLex's field names are not ours to choose: "activity.a.b" names the field "a.b"
    original = event(**{"custom.notes": "n" * 5000})
    fitted = fit_document(original, len(serialize(original)) - 4000)
    assert fitted["truncated_fields"] == ["activity.custom.notes"]
    assert valid(fitted)
    assert valid_draft4(fitted)
