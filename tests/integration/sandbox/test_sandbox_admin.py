"""The admin HTTP interface drives the same operations as the Python API."""

from leadlex_sandbox import SandboxServer
from tests.support.sandbox_http import Api, error_code


def test_keys_contacts_and_activities_over_admin_http(sandbox: SandboxServer, api: Api) -> None:
    key = api.admin("POST", "/keys", {}).json()["key"]
    contact = api.admin("POST", "/contacts", {"activities": 3}).json()["contact_id"]
    added = api.admin(
        "POST",
        f"/contacts/{contact}/activities",
        {"created_date": "2020-01-01T00:00:00Z", "activity_type": "note"},
    )

    listed = api.list(contact, key=key).json()
    assert added.status_code == 201
    assert listed["meta"]["total"] == 4
    assert listed["data"]["activities"][-1] == added.json()
    assert (
        api.admin("GET", f"/contacts/{contact}/activities").json()["activities"]
        == (listed["data"]["activities"])
    )

    assert api.admin("POST", "/keys/revoke", {"key": key}).status_code == 200
    assert api.list(contact, key=key).status_code == 401


def test_scopes_and_expiry_over_admin_http(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact()
    no_scope = api.admin("POST", "/keys", {"scopes": []}).json()["key"]
    short = api.admin("POST", "/keys", {"expires_in": 10}).json()["key"]

    api.admin("POST", "/clock", {"advance": 11})

    assert api.list(contact, key=no_scope).status_code == 403
    assert api.list(contact, key=short).status_code == 401


def test_settings_clock_and_quota_over_admin_http(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact(activities=1)
    api.admin("POST", "/clock", {"set": "2026-03-01T23:59:59Z", "frozen": True})
    state = api.admin(
        "POST",
        "/settings",
        {"plan": {"per_day": 1, "per_minute": 10}, "type_field": "type", "retry_after": True},
    ).json()

    first, second = api.list(contact), api.list(contact)
    clock = api.admin("POST", "/clock", {"advance": 1}).json()
    third = api.list(contact)

    assert state["plan"] == {"name": "custom", "per_day": 1, "per_minute": 10}
    assert state["now"] == "2026-03-01T23:59:59Z"
    assert "type" in first.json()["data"]["activities"][0]
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert clock == {"now": "2026-03-02T00:00:00Z", "frozen": True}
    assert third.status_code == 200


def test_faults_stats_and_hooks_over_admin_http(sandbox: SandboxServer, api: Api) -> None:
    contact = sandbox.create_contact(activities=2)
    api.admin("POST", "/faults", {"fail_next": {"count": 1, "status": 502}, "malform_next": 1})
    api.admin(
        "POST",
        "/hooks/insert-after-page",
        {"contact_id": contact, "page": 1, "activities": [{"activity_type": "meeting"}]},
    )

    failed, malformed, page = api.list(contact), api.list(contact), api.list(contact)
    after = api.list(contact)
    stats = api.admin("GET", "/stats").json()

    assert failed.status_code == 502
    assert malformed.status_code == 200
    assert not malformed.text.endswith("}")
    assert page.json()["meta"]["total"] == 2
    assert after.json()["meta"]["total"] == 3
    assert stats["total_requests"] == 4
    assert stats["listing_requests"] == {contact: 4}
    assert [entry["status"] for entry in stats["request_log"]] == [502, 200, 200, 200]
    api.admin("POST", "/stats/reset")
    assert api.admin("GET", "/stats").json()["total_requests"] == 0


def test_admin_errors_use_the_api_envelope(api: Api) -> None:
    unknown_route = api.admin("GET", "/nope")
    unknown_contact = api.admin(
        "POST", "/contacts/00000000-0000-4000-8000-000000000000/activities", {}
    )
    bad_plan = api.admin("POST", "/settings", {"plan": "platinum"})

    assert (unknown_route.status_code, error_code(unknown_route)) == (404, "not_found")
    assert (unknown_contact.status_code, error_code(unknown_contact)) == (404, "not_found")
    assert (bad_plan.status_code, error_code(bad_plan)) == (400, "validation_error")
