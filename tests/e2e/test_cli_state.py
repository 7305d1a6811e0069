"""`relay state` says why a contact is where it is, and the commands that cannot be undone or
would duplicate work ask or refuse first (`relay reset`, `relay webhooks add`), on the local
stack, with exit statuses as the README states them (issue 21)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from activity_relay.core.model import Backfill, ContactState, Fingerprint
from activity_relay.core.sync.ports import Lease
from leadlex_sandbox.quota import Plan
from relay_local.embedded import EmbeddedRelay
from tests.support.aws import drain
from tests.support.embedded import refuse_the_sync_key, run_cli
from tests.support.state_table import DynamoDbStateTable
from tests.support.terminal import no_terminal, type_at_terminal

pytestmark = pytest.mark.e2e

# The --json object's keys (docs/cli.md): always all of them, null where nothing applies.
STATE_KEYS = {
    "contact_id",
    "status",
    "why",
    "known",
    "version",
    "activities_accounted",
    "activities_unread",
    "last_sync_started_at",
    "updated_at",
    "continuing",
    "continuation",
    "not_found_at",
    "reset_at",
    "deferral",
    "sync_running",
    "last_error",
    "quota",
}


def state_of(state_file: Path, contact: str) -> dict[str, Any]:
    shown = run_cli(state_file, "state", contact, "--json")
    assert shown.status == 0, shown.err
    document: dict[str, Any] = json.loads(shown.out)
    assert set(document) == STATE_KEYS
    return document


def table(relay: EmbeddedRelay) -> DynamoDbStateTable:
    """The state table through the adapters the functions write it with."""
    client = relay.session().client("dynamodb", endpoint_url=relay.endpoint_url)
    return DynamoDbStateTable(client, relay.stack.table_name)


def synced(relay: EmbeddedRelay, state_file: Path, activities: int) -> str:
    contact = relay.sandbox.create_contact(activities=activities)
    assert run_cli(state_file, "enqueue", contact).status == 0
    relay.trigger.drain()
    return contact


# --- relay state ---------------------------------------------------------------------------------


def test_state_of_a_contact_never_seen_says_so_in_words(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    contact = str(uuid.uuid4())

    text = run_cli(state_file, "state", contact)
    document = state_of(state_file, contact)

    assert text.status == 0
    assert text.out.splitlines()[0] == f"{contact}  never synced"
    assert "the state table holds nothing for it" in text.out
    assert "True" not in text.out
    assert "None" not in text.out
    assert (document["status"], document["known"], document["deferral"]) == (
        "never_synced",
        False,
        None,
    )


def test_state_says_when_leadlex_answered_not_found(relay: EmbeddedRelay, state_file: Path) -> None:
    contact = str(uuid.uuid4())  # no such contact at LeadLex
    before = datetime.now(UTC)
    run_cli(state_file, "enqueue", contact)
    relay.trigger.drain()

    text = run_cli(state_file, "state", contact).out
    document = state_of(state_file, contact)

    assert text.splitlines()[0] == f"{contact}  not found"
    assert "LeadLex answered 404" in text
    assert document["status"] == "not_found"
    assert datetime.fromisoformat(document["not_found_at"]) >= before.replace(microsecond=0)


def test_state_says_which_contact_the_spent_quota_deferred_and_which_waits_for_the_pace(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    # Given a plan whose day allows one request, and two contacts synced in one batch
    relay.sandbox.plan = Plan("tiny", per_day=1, per_minute=100)
    pair = [relay.sandbox.create_contact(activities=2) for _ in range(2)]
    run_cli(state_file, "enqueue", *pair)
    relay.trigger.drain()

    # When one spent the day's request, the other met the exhausted quota
    documents = {c: state_of(state_file, c) for c in pair}
    (deferred,) = [c for c in pair if documents[c]["status"] == "deferred"]
    (synced_one,) = [c for c in pair if documents[c]["status"] == "synced"]
    text = " ".join(run_cli(state_file, "state", deferred).out.split())

    # Then it is deferred until the reset (UTC midnight), and the day's quota is shown
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    document = documents[deferred]
    assert document["deferral"]["reason"] == "quota"
    assert datetime.fromisoformat(document["deferral"]["until"]) == midnight + timedelta(days=1)
    assert "LeadLex's daily quota ran out" in text
    assert (document["quota"]["limit"], document["quota"]["used"]) == (1, 1)
    assert document["quota"]["remaining"] == 0
    assert "1 of 1 requests used today, 0 left; resets at" in text
    assert documents[synced_one]["known"] is True

    # And a contact arriving later waits for the paced budget instead of spending a request
    later = relay.sandbox.create_contact(activities=1)
    run_cli(state_file, "enqueue", later)
    relay.trigger.drain()
    paced = state_of(state_file, later)
    assert (paced["status"], paced["deferral"]["reason"]) == ("waiting", "paced")
    assert any("waiting for the paced daily budget" in line for line in paced["why"])


def test_state_explains_a_release_a_continuing_sync_and_a_running_one(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    store, now = table(relay), datetime.now(UTC)
    waiting, continuing = str(uuid.uuid4()), str(uuid.uuid4())
    # Given what the sync function records (through its own adapters): a contact waiting for
    # the paced budget, and one whose long first sync has read 250 of 1,000 activities and
    # holds its lease now
    store.wait(waiting, now - timedelta(minutes=3))
    backfill = Backfill(read_from_end=250, total=1000, first_sync=True, checkpointed_at=now)
    store.save(ContactState(continuing, Fingerprint(), backfill=backfill))
    store.begin(continuing, Lease("sync-1", now, now + timedelta(minutes=10)))

    paced = state_of(state_file, waiting)
    long = state_of(state_file, continuing)
    text = " ".join(run_cli(state_file, "state", continuing).out.split())

    assert paced["status"] == "waiting"
    assert long["status"] == "syncing"
    assert long["continuing"] is True
    assert long["continuation"]["read_from_end"] == 250
    assert long["continuation"]["total"] == 1000
    assert long["sync_running"]["expired"] is False
    assert "its first sync continues over several invocations" in text
    assert "250 of 1000 activities read, oldest first, about 750 (8 page(s)) left" in text
    assert "a sync is running now" in text

    # And once the sweep has released the waiting contact, it says so
    store.postpone([waiting], now + timedelta(hours=2))
    assert state_of(state_file, waiting)["status"] == "released"


def test_state_shows_why_the_last_sync_failed_until_one_succeeds(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    contact = relay.sandbox.create_contact(activities=2)
    good_key = refuse_the_sync_key(relay)

    # Given a sync that failed: LeadLex refused the key
    run_cli(state_file, "enqueue", contact)
    relay.trigger.poll_once()
    failed = state_of(state_file, contact)
    text = " ".join(run_cli(state_file, "state", contact).out.split())

    assert failed["status"] == "failing"
    assert failed["last_error"]["failing"] is True
    assert failed["last_error"]["message"].startswith("LeadLex refused the API key")
    assert "last error at" in text
    assert "no sync has succeeded since" in text
    assert good_key not in text

    # When the key is fixed and the message comes back, the failure is history
    relay.update_function_environment({"LEADLEX_API_KEY": good_key})
    run_cli(state_file, "enqueue", contact)
    relay.trigger.drain()
    recovered = state_of(state_file, contact)
    assert recovered["status"] == "synced"
    assert recovered["last_error"]["failing"] is False


# --- relay reset ---------------------------------------------------------------------------------


def test_reset_asks_first_and_says_what_it_will_publish_again(
    relay: EmbeddedRelay, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = synced(relay, state_file, activities=3)

    # Without a terminal and without --yes: refused, nothing done
    no_terminal(monkeypatch)
    refused = run_cli(state_file, "reset", contact)
    assert refused.status == 2
    assert "--yes" in refused.err
    assert "3 activities" in refused.err
    # At a terminal it asks, naming what goes out again; "n" keeps the state
    type_at_terminal(monkeypatch, "n")
    declined = run_cli(state_file, "reset", contact)
    assert declined.status == 2
    assert "[y/N]" in declined.err
    assert "its whole history (3 activities known) again to every subscriber" in declined.err
    assert "nothing reset" in declined.out
    assert state_of(state_file, contact)["status"] == "synced"
    # "y" forgets it
    type_at_terminal(monkeypatch, "y")
    assert run_cli(state_file, "reset", contact).status == 0
    assert state_of(state_file, contact)["status"] == "reset"


def test_reset_yes_does_not_ask_and_a_contact_without_state_is_not_forgotten(
    relay: EmbeddedRelay, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_terminal(monkeypatch)
    contact = synced(relay, state_file, activities=1)

    forgotten = run_cli(state_file, "reset", contact, "--yes")
    again = run_cli(state_file, "reset", contact)  # nothing left: nothing to ask about
    never = run_cli(state_file, "reset", str(uuid.uuid4()))

    assert (forgotten.status, forgotten.err) == (0, "")
    assert "sync state forgotten" in forgotten.out
    for result in (again, never):
        assert result.status == 0
        assert "no sync state to forget" in result.out
        assert "forgotten" not in result.out


# --- relay webhooks add --------------------------------------------------------------------------


def test_webhooks_add_refuses_a_url_already_registered(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    url = "http://127.0.0.1:9/hooks"
    first = run_cli(state_file, "webhooks", "add", url, "--any-port", "--json")
    endpoint_id = json.loads(first.out)["endpoint_id"]

    refused = run_cli(state_file, "webhooks", "add", url, "--any-port")
    allowed = run_cli(state_file, "webhooks", "add", url, "--any-port", "--allow-duplicate")

    assert refused.status == 2
    assert f"endpoint {endpoint_id} (enabled)" in refused.err
    assert "--allow-duplicate" in refused.err
    assert allowed.status == 0
    listed = run_cli(state_file, "webhooks", "list").out
    assert "2 endpoint(s)" in listed


# --- exit statuses -------------------------------------------------------------------------------


def test_enqueue_of_nothing_valid_exits_nothing_done(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    result = run_cli(state_file, "enqueue", "not-a-uuid")

    assert result.status == 2
    assert "sent 0 contact id(s)" in result.out
    assert drain(relay.sqs, relay.stack.contact_queue_url) == []
