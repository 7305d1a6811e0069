"""`relay events show` in plain words for the states the e2e tests do not reach: a delivery
parked while its endpoint is disabled, one still pending, a publication no longer kept."""

from __future__ import annotations

from datetime import timedelta

from activity_relay.core.webhooks_out.ports import ParkedDelivery
from activity_relay.core.webhooks_out.trace import Publication, assemble_trace
from relay_cli.commands.events import trace_json, trace_lines
from relay_cli.target import Target
from tests.support.webhooks_out import START, make_endpoint
from tests.unit.webhooks_out.test_trace import EVENT, attempt, publication

TARGET = Target(None, "us-east-1", {"TopicArn": "arn:aws:sns:us-east-1:1:topic", "BusName": "bus"})


def test_a_parked_and_a_pending_delivery_say_what_they_wait_for() -> None:
    disabled, waiting = make_endpoint(enabled=False), make_endpoint()
    parked = ParkedDelivery(disabled.endpoint_id, EVENT, "", START + timedelta(minutes=9))
    webhook = Publication(EVENT, START, "m1", "webhook", None, {"contact_id": "c1"})

    trace = assemble_trace(EVENT, [webhook], [], [parked], [disabled, waiting])
    text = "\n".join(trace_lines(trace, TARGET))

    assert "published once:" in text
    assert "via webhook" in text
    assert "on SNS topic arn:aws:sns:us-east-1:1:topic" in text
    assert "and EventBridge bus bus, right after the topic" in text
    assert "type         -" in text  # no activity type: a dash, never None
    assert (
        f"{disabled.endpoint_id}  {disabled.url}  parked since 2026-03-01T09:09:00.000+00:00: "
        "the endpoint is disabled"
    ) in text
    assert f"to send it again: relay webhooks enable {disabled.endpoint_id}" in text
    assert f"{waiting.endpoint_id}  {waiting.url}  pending" in text
    assert "None" not in text


def test_deliveries_of_a_publication_no_longer_kept_are_still_told() -> None:
    trace = assemble_trace(EVENT, [], [attempt("ep_gone", 1, None, "retry")], [], [])

    text = "\n".join(trace_lines(trace, TARGET))
    as_json = trace_json(trace, TARGET)

    assert "published: no record" in text
    assert "ep_gone  (endpoint removed)  retrying after 1 attempt(s)" in text
    assert "connection refused" in text
    assert as_json["publications"] == []
    assert as_json["deliveries"][0]["state"] == "retrying"
    assert as_json["deliveries"][0]["attempts"][0]["status"] is None


def test_two_publications_of_one_event_are_both_listed() -> None:
    trace = assemble_trace(
        EVENT, [publication(1, "webhook"), publication(3, "poll", "m2")], [], [], []
    )

    lines = trace_lines(trace, TARGET)

    assert "published 2 times (the same event id each time):" in lines
    assert [line.split()[-1] for line in lines if "  via " in line] == ["webhook", "poll"]
    assert "webhook deliveries: none" in "\n".join(lines)
