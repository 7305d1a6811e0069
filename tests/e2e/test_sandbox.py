"""``relay sandbox`` on the local stack: an activity logged in the LeadLex sandbox reaches the
subscribers by its webhook; faults change what the sandbox answers; clear errors without it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from relay_local.embedded import EmbeddedRelay, Received
from tests.support.embedded import StartRelay, run_cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def relay(start_relay: StartRelay) -> EmbeddedRelay:
    """The local stack as `make local` runs it: its webhook receiver registered in the sandbox
    (the `state_file` fixture points the relay CLI at it)."""
    return start_relay(webhooks=True)


def received(relay: EmbeddedRelay, event_id: str, timeout: float = 30) -> list[Received]:
    """What the subscribers received of one event, once the bus's subscriber has it."""
    found: list[Received] = []
    deadline = time.monotonic() + timeout
    while not any(r.subscriber == "bus" for r in found) and time.monotonic() < deadline:
        found += [r for r in relay.received() if r.document["event_id"] == event_id]
        time.sleep(0.1)
    return found


def test_log_sends_the_webhook_and_the_activity_reaches_the_subscribers(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    # Given a contact of the sandbox
    contact = relay.sandbox.create_contact()

    # When a backdated call is logged with the CLI
    result = run_cli(state_file, "sandbox", "log", contact, "--type", "call", "--backdate", "2h")

    # Then LeadLex's webhook reached the receiver
    assert result.status == 0, result.err
    logged, webhook = result.out.splitlines()
    activity_id, activity_type, created = logged.split()[1:]
    assert activity_type == "call"
    ago = datetime.now(UTC) - datetime.fromisoformat(created)
    assert timedelta(hours=2) <= ago < timedelta(hours=2, minutes=1)
    assert "." not in created  # whole seconds, as LeadLex writes them
    assert webhook == f"webhook to {relay.receiver.url}: answered 202"
    # And its event reached both subscribers by the fast path, with nobody enqueueing
    events = received(relay, activity_id)
    assert {r.subscriber for r in events} == {"topic", "bus"}
    assert {r.document["origin"] for r in events} == {"webhook"}


def test_log_with_no_webhook_leaves_the_activity_to_a_poll(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    contact = relay.sandbox.create_contact()

    result = run_cli(state_file, "sandbox", "log", contact, "--no-webhook", "--json")

    assert result.status == 0, result.err
    shown = json.loads(result.out)
    assert shown["webhooks"] == []
    assert [a["id"] for a in relay.sandbox.activities(contact)] == [shown["activity"]["id"]]
    assert relay.sandbox.webhook_deliveries == []


def test_a_fault_changes_what_the_sandbox_answers(relay: EmbeddedRelay, state_file: Path) -> None:
    # Given a contact the API lists
    contact = relay.sandbox.create_contact(activities=1)
    url = f"{relay.sandbox.base_url}/v1/contacts/{contact}/activities"
    headers = {"Authorization": f"Bearer {relay.sandbox.create_key()}"}

    # When the next request is made to fail with a 429
    fault = run_cli(state_file, "sandbox", "fault", "fail", "--status", "429", "--retry-after", "7")

    # Then the CLI says so, the API answers 429 once, then 200 again
    assert fault.status == 0, fault.err
    assert "next LeadLex requests: 1 to fail" in fault.out
    first = requests.get(url, headers=headers, timeout=10)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    assert "answered normally" in run_cli(state_file, "sandbox", "fault", "show").out

    # And an error rate holds until reset
    assert run_cli(state_file, "sandbox", "fault", "error-rate", "1", "--status", "500").status == 0
    assert requests.get(url, headers=headers, timeout=10).status_code == 500
    reset = run_cli(state_file, "sandbox", "fault", "reset")
    assert "at random: 0% of requests" in reset.out
    assert requests.get(url, headers=headers, timeout=10).status_code == 200


def test_a_lost_webhook_is_not_sent(relay: EmbeddedRelay, state_file: Path) -> None:
    contact = relay.sandbox.create_contact()
    assert "webhooks lost next: 1" in run_cli(state_file, "sandbox", "fault", "lose-webhooks").out

    lost = run_cli(state_file, "sandbox", "log", contact)
    sent = run_cli(state_file, "sandbox", "log", contact)

    assert "no webhook sent (no receiver registered, or lost by" in lost.out
    assert f"relay enqueue {contact}" in lost.out
    assert "answered 202" in sent.out
    assert len(relay.sandbox.webhook_deliveries) == 1


def test_contacts_lists_and_add_contact_adds(relay: EmbeddedRelay, state_file: Path) -> None:
    added = run_cli(state_file, "sandbox", "add-contact", "--activities", "3")
    assert added.status == 0, added.err
    contact = added.out.strip()

    listed = run_cli(state_file, "sandbox", "contacts").out.splitlines()

    assert listed[0].split() == ["CONTACT", "ACTIVITIES", "NEWEST"]
    assert [line.split()[:2] for line in listed[1:]] == [[contact, "3"]]


def test_unknown_contact_and_missing_sandbox_are_said_plainly(
    relay: EmbeddedRelay, state_file: Path, tmp_path: Path
) -> None:
    unknown = run_cli(state_file, "sandbox", "log", "00000000-0000-4000-8000-000000000000")
    assert unknown.status == 2
    assert "the sandbox has no contact 00000000-" in unknown.err

    none = run_cli(tmp_path / "absent.json", "sandbox", "contacts")
    assert none.status == 2
    assert "no local stack is running: start it with `make local`" in none.err

    stale = tmp_path / "stale.json"
    state = json.loads(state_file.read_text())
    state["outputs"]["LeadLexSandboxAdminUrl"] = "http://127.0.0.1:9/_admin"
    stale.write_text(json.dumps(state))
    gone = run_cli(stale, "sandbox", "fault", "show")
    assert gone.status == 2
    assert "does not answer" in gone.err
    assert "is `make local` still running?" in gone.err
