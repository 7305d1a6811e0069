"""`relay events show` and `relay events list` on the embedded stack: an activity published and
delivered to one endpoint, dead-lettered at another, traced from the records the stack keeps."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_receiver import WebhookReceiver
from tests.e2e.test_webhooks import add, publish, pump
from tests.support.embedded import StartRelay, run_cli

pytestmark = pytest.mark.e2e


def test_an_event_is_traced_to_a_delivery_and_a_dead_letter(
    start_relay: StartRelay, tmp_path: Path
) -> None:
    # Given two endpoints, one answering 200, one 500 on both attempts the schedule allows
    relay = start_relay(parameter_overrides={"WebhookRetrySchedule": "1s"})
    state_file = tmp_path / "relay-local.json"
    relay.write_state_file(state_file)
    with WebhookReceiver() as good, WebhookReceiver(answers=[500]) as bad:
        good_id, bad_id = add(state_file, good), add(state_file, bad)
        good_url, bad_url = good.url, bad.url
        # When an activity is published and its deliveries run their course
        (event_id,) = publish(relay, 1)
        pump(relay, lambda: len(good.deliveries) == 1 and len(bad.deliveries) == 2)
        pump(relay, lambda: relay.drain_webhooks() == 0)

    # Then `events show` tells its publication and both deliveries, attempt by attempt
    shown = run_cli(state_file, "events", "show", event_id, "--json")
    assert shown.status == 0, shown.err
    trace = json.loads(shown.out)
    contact = trace["contact_id"]
    assert trace["activity_type"] == "call"
    (publication,) = trace["publications"]
    assert publication["via"] == "poll"
    assert publication["channels"]["sns_topic"].startswith("arn:aws:sns:")
    assert publication["channels"]["eventbridge_bus"] == relay.config()["outputs"]["BusName"]
    deliveries = {d["endpoint_id"]: d for d in trace["deliveries"]}
    assert deliveries.keys() == {good_id, bad_id}
    assert deliveries[good_id]["state"] == "delivered"
    assert [a["status"] for a in deliveries[good_id]["attempts"]] == [200]
    assert deliveries[bad_id]["state"] == "dead-lettered"
    assert deliveries[bad_id]["dead_lettered"] is True
    assert [(a["status"], a["action"]) for a in deliveries[bad_id]["attempts"]] == [
        (500, "retry"),
        (500, "dead_letter"),
    ]
    assert deliveries[bad_id]["redrive"] == f"relay webhooks redrive {bad_id}"

    text = run_cli(state_file, "events", "show", event_id).out
    assert "published once:" in text
    assert f"{good_id}  {good_url}  delivered after 1 attempt(s)" in text
    assert f"{bad_id}  {bad_url}  dead-lettered after 2 attempt(s)" in text
    assert f"to send it again: relay webhooks redrive {bad_id}" in text
    assert "None" not in text
    assert "True" not in text

    # And `events list --contact` lists it
    listed = run_cli(state_file, "events", "list", "--contact", contact)
    assert listed.status == 0, listed.err
    (row,) = listed.out.splitlines()[1:]
    assert row.split()[1:3] == ["poll", "call"]
    assert row.endswith(event_id)


def test_without_endpoints_the_publication_is_still_traced(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    (event_id,) = publish(relay, 1, activity_type="note")
    relay.drain_webhooks()

    shown = run_cli(state_file, "events", "show", event_id)

    assert shown.status == 0, shown.err
    assert "via poll" in shown.out
    assert "webhook deliveries: none" in shown.out


def test_an_unknown_event_or_contact_is_not_found_with_why(state_file: Path) -> None:
    shown = run_cli(state_file, "events", "show", "act_never_published")
    assert shown.status == 1
    assert "no record of event act_never_published" in shown.err
    assert "14 days" in shown.err

    as_json = run_cli(state_file, "events", "show", "act_never_published", "--json")
    assert as_json.status == 1
    assert json.loads(as_json.out)["found"] is False

    listed = run_cli(state_file, "events", "list", "--contact", str(uuid.uuid4()))
    assert listed.status == 1
    assert "no events of contact" in listed.err

    refused = run_cli(state_file, "events", "list", "--contact", "not-a-uuid")
    assert refused.status == 2
    assert "not a contact id" in refused.err
