"""GET /v1/contacts/{id}/activities: shape, paging, order and validation, as the docs say."""

import re
import uuid

import pytest

from leadlex_sandbox import SandboxServer
from tests.support.sandbox_http import Api, error_code

ACTIVITY_FIELDS = {
    "id",
    "activity_type",
    "description",
    "entity_type",
    "entity_id",
    "entity_name",
    "metadata",
    "user_id",
    "user_name",
    "created_date",
}
REQUEST_ID = re.compile(r"^req_[0-9a-f]{32}$")
ACTIVITY_ID = re.compile(
    r"^act_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


def test_a_page_has_the_documented_envelope_and_activity_fields(
    sandbox: SandboxServer, api: Api
) -> None:
    contact = sandbox.create_contact(activities=3)

    response = api.list(contact)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert body["meta"] == {"page": 1, "per_page": 50, "total": 3}
    activities = body["data"]["activities"]
    assert len(activities) == 3
    for activity in activities:
        assert set(activity) == ACTIVITY_FIELDS
        assert ACTIVITY_ID.match(activity["id"])
        assert activity["metadata"] is None or isinstance(activity["metadata"], dict)
        assert activity["created_date"].endswith("Z")


def test_every_response_carries_a_fresh_request_id(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact()

    ids = [api.list(contact).headers["X-Request-ID"] for _ in range(2)]
    ids.append(api.list(str(uuid.uuid4())).headers["X-Request-ID"])  # an error too

    assert all(REQUEST_ID.match(request_id) for request_id in ids)
    assert len(set(ids)) == 3


def test_pages_partition_the_list_newest_first(sandbox: SandboxServer, api: Api) -> None:
    """Given 250 activities, pages of 100 hold 100, 100 and 50, newest first, no overlap."""
    contact = sandbox.create_contact(activities=250)

    pages = [api.list(contact, page=page, per_page=100).json() for page in (1, 2, 3, 4)]

    sizes = [len(page["data"]["activities"]) for page in pages]
    assert sizes == [100, 100, 50, 0]
    assert all(page["meta"]["total"] == 250 for page in pages)
    listed = [activity for page in pages for activity in page["data"]["activities"]]
    assert len({activity["id"] for activity in listed}) == 250
    dates = [activity["created_date"] for activity in listed]
    assert dates == sorted(dates, reverse=True)
    assert [activity["id"] for activity in listed] == [
        activity["id"] for activity in sandbox.activities(contact)
    ]


def test_equal_dates_list_the_activity_added_last_first(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact()
    first = sandbox.add_activity(contact, created_date="2026-03-01T10:00:00Z")
    second = sandbox.add_activity(contact, created_date="2026-03-01T10:00:00Z")
    older = sandbox.add_activity(contact, created_date="2026-02-01T10:00:00Z")

    listed = [a["id"] for a in api.list(contact).json()["data"]["activities"]]

    assert listed == [second["id"], first["id"], older["id"]]


def test_a_backdated_activity_lands_deep_in_the_list(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact(activities=150)
    backdated = sandbox.add_activity(contact, created_date="2019-06-01T00:00:00Z")

    page_1 = api.list(contact, per_page=100).json()["data"]["activities"]
    page_2 = api.list(contact, page=2, per_page=100).json()["data"]["activities"]

    assert backdated["id"] not in {a["id"] for a in page_1}
    assert page_2[-1]["id"] == backdated["id"]


@pytest.mark.parametrize("per_page", ["1", "100"])
def test_per_page_accepts_one_to_a_hundred(sandbox: SandboxServer, api: Api, per_page: str) -> None:
    contact = sandbox.create_contact(activities=120)

    body = api.list(contact, per_page=per_page).json()

    assert len(body["data"]["activities"]) == int(per_page)
    assert body["meta"]["per_page"] == int(per_page)


@pytest.mark.parametrize(
    "params",
    [{"per_page": "101"}, {"per_page": "0"}, {"page": "0"}, {"page": "-1"}, {"page": "two"}],
)
def test_out_of_range_paging_is_a_validation_error(
    sandbox: SandboxServer, api: Api, params: dict[str, str]
) -> None:
    contact = sandbox.create_contact(activities=1)

    response = api.list(contact, **params)

    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_a_non_uuid_contact_id_is_a_validation_error(api: Api) -> None:
    response = api.list("not-a-uuid")

    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_an_unknown_contact_is_not_found(api: Api) -> None:
    response = api.list(str(uuid.uuid4()))

    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_contact_ids_are_matched_case_insensitively(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact(activities=2)

    response = api.list(contact.upper())

    assert response.status_code == 200
    assert response.json()["meta"]["total"] == 2


def test_an_unknown_route_is_not_mistaken_for_a_missing_contact(
    sandbox: SandboxServer, api: Api
) -> None:
    response = api.session.get(f"{sandbox.base_url}/v2/contacts", timeout=5)

    assert response.status_code == 404
    assert error_code(response) == "route_not_found"


def test_the_type_field_can_be_named_type(sandbox: SandboxServer, api: Api) -> None:
    """Given the newer docs' naming, activities carry `type` and no `activity_type`."""
    contact = sandbox.create_contact(activities=2)
    sandbox.type_field = "type"

    activities = api.list(contact).json()["data"]["activities"]

    assert all("type" in a and "activity_type" not in a for a in activities)
    assert {a["type"] for a in activities} <= {"call", "email_sent", "meeting", "note", "ai_action"}


def test_a_path_prefix_mimics_the_real_base_url() -> None:
    with SandboxServer(path_prefix="/functions/v1/api-gateway") as sandbox:
        api = Api(sandbox, sandbox.create_key())
        contact = sandbox.create_contact(activities=1)

        inside = api.list(contact)
        outside = api.session.get(
            f"http://127.0.0.1:{sandbox.port}/v1/contacts/{contact}/activities",
            headers={"Authorization": f"Bearer {api.key}"},
            timeout=5,
        )
        api.session.close()

    assert sandbox.base_url.endswith("/functions/v1/api-gateway")
    assert inside.status_code == 200
    assert outside.status_code == 404
