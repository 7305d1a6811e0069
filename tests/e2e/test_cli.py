"""The relay CLI against the local stack: enqueue, tail, state, reset, dlq list/redrive, and
how it finds the stack."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from relay_cli.commands.enqueue import enqueue
from relay_local.embedded import EmbeddedRelay
from tests.support.aws import drain
from tests.support.embedded import StartRelay, refuse_the_sync_key, run_cli
from tests.support.terminal import no_terminal, type_at_terminal

pytestmark = pytest.mark.e2e

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/contacts"


def bodies(relay: EmbeddedRelay, url: str) -> list[str]:
    """Every message body on a queue, consumed."""
    return [message["Body"] for message in drain(relay.sqs, url)]


def ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


# --- enqueue -------------------------------------------------------------------------------------


def test_enqueue_reads_arguments_files_and_stdin(
    relay: EmbeddedRelay, state_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts = ids(5)
    listing = tmp_path / "ids.txt"
    listing.write_text(f"# contacts to sync\n{contacts[1]}\n{contacts[2]}, {contacts[3]}\n\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{contacts[4]}\n"))

    result = run_cli(state_file, "enqueue", contacts[0], "--file", str(listing), "--file", "-")

    assert result.status == 0, result.err
    assert "sent 5 contact id(s)" in result.out
    assert sorted(bodies(relay, relay.stack.contact_queue_url)) == sorted(contacts)

    # With neither arguments nor --file, ids come from stdin
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(contacts[:2])))
    assert run_cli(state_file, "enqueue").status == 0
    assert sorted(bodies(relay, relay.stack.contact_queue_url)) == sorted(contacts[:2])


def test_invalid_ids_are_reported_and_not_sent(relay: EmbeddedRelay, state_file: Path) -> None:
    (good,) = ids(1)

    result = run_cli(state_file, "enqueue", good, "not-a-contact", good.upper(), "{" + good + "}")

    assert result.status == 1
    assert "'not-a-contact'" in result.err
    assert "{" + good + "}" in result.err
    assert "sent 1 contact id(s)" in result.out
    assert "1 duplicate(s) skipped" in result.out
    assert bodies(relay, relay.stack.contact_queue_url) == [good]


def test_a_large_input_shows_progress(relay: EmbeddedRelay, state_file: Path) -> None:
    result = run_cli(state_file, "enqueue", "--progress", *ids(120))

    assert result.status == 0
    assert "] 120/120 contact ids" in result.err
    assert len(bodies(relay, relay.stack.contact_queue_url)) == 120


def test_entries_sqs_failed_are_retried_and_sender_faults_reported() -> None:
    sqs = boto3.client(
        "sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    contacts = ids(4)
    sleeps: list[float] = []
    with Stubber(sqs) as stub:
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [
                    {"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"},
                    {"Id": "2", "MessageId": "m2", "MD5OfMessageBody": "x"},
                ],
                "Failed": [
                    {"Id": "1", "SenderFault": False, "Code": "InternalError", "Message": "busy"},
                    {"Id": "3", "SenderFault": True, "Code": "Invalid", "Message": "refused"},
                ],
            },
            {
                "QueueUrl": QUEUE_URL,
                "Entries": [{"Id": str(i), "MessageBody": c} for i, c in enumerate(contacts)],
            },
        )
        stub.add_response(
            "send_message_batch",
            {"Successful": [{"Id": "1", "MessageId": "m1", "MD5OfMessageBody": "x"}], "Failed": []},
            {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "1", "MessageBody": contacts[1]}]},
        )

        report = enqueue(sqs, QUEUE_URL, contacts, sleep=sleeps.append)

        stub.assert_no_pending_responses()
    assert report.sent == [contacts[0], contacts[2], contacts[1]]
    assert report.failed == [(contacts[3], "Invalid: refused")]
    assert len(sleeps) == 1


def test_an_entry_that_keeps_failing_is_reported_after_the_last_try() -> None:
    sqs = boto3.client(
        "sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    (contact,) = ids(1)
    failure = {"Id": "0", "SenderFault": False, "Code": "InternalError", "Message": "busy"}
    with Stubber(sqs) as stub:
        for _ in range(4):
            stub.add_response("send_message_batch", {"Successful": [], "Failed": [failure]})
        report = enqueue(sqs, QUEUE_URL, [contact], sleep=lambda seconds: None)
        stub.assert_no_pending_responses()
    assert report.sent == []
    assert report.failed == [(contact, "InternalError: busy")]


# --- tail, state, reset --------------------------------------------------------------------------


def test_tail_from_start_prints_what_the_stacks_subscribers_hold(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    contact = relay.sandbox.create_contact(activities=6)
    assert run_cli(state_file, "enqueue", contact).status == 0
    relay.trigger.drain()
    activities = relay.sandbox.activities(contact)

    bus = run_cli(state_file, "tail", "--from-start", "bus", "--count", "4", "--delete")
    rest = run_cli(state_file, "tail", "--from-start", "bus", "--json", "--idle", "1", "--delete")
    topic = run_cli(state_file, "tail", "--from-start", "topic", "--idle", "1", "--delete")

    lines = bus.out.splitlines()
    assert lines[0].split() == ["SUBSCR", "CONTACT", "TYPE", "OCCURRED_AT", "VIA", "EVENT_ID"]
    assert len(lines) == 5
    assert all(line.startswith("bus") and contact in line for line in lines[1:])
    assert all(line.split()[-2] == "poll" for line in lines[1:])  # VIA: the sync published them
    documents = [json.loads(line) for line in rest.out.splitlines()]
    printed = [line.split()[-1] for line in lines[1:]] + [d["event_id"] for d in documents]
    assert sorted(printed) == sorted(a["id"] for a in activities)
    calls_and_meetings = [a["id"] for a in activities if a["activity_type"] in ("call", "meeting")]
    assert sorted(line.split()[-1] for line in topic.out.splitlines()[1:]) == sorted(
        calls_and_meetings
    )


def test_tail_leaves_what_it_prints_on_the_queue_unless_told_to_delete(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    # Given a synced contact whose events wait on the bus subscriber's queue
    contact = relay.sandbox.create_contact(activities=3)
    run_cli(state_file, "enqueue", contact)
    relay.trigger.drain()
    expected = sorted(a["id"] for a in relay.sandbox.activities(contact))

    # When tail reads them without --delete, each is printed once and stays on the queue
    first = run_cli(state_file, "tail", "--from-start", "bus", "--json", "--idle", "1")
    second = run_cli(state_file, "tail", "--from-start", "bus", "--json", "--idle", "1")

    assert sorted(json.loads(line)["event_id"] for line in first.out.splitlines()) == expected
    assert sorted(json.loads(line)["event_id"] for line in second.out.splitlines()) == expected
    # And with --delete they are gone after printing
    deleted = run_cli(
        state_file, "tail", "--from-start", "bus", "--json", "--idle", "1", "--delete"
    )
    assert len(deleted.out.splitlines()) == 3
    assert run_cli(state_file, "tail", "--from-start", "bus", "--json", "--idle", "1").out == ""


def test_state_shows_and_reset_forgets_a_contacts_watermark(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    contact = relay.sandbox.create_contact(activities=4)
    assert "never synced" in run_cli(state_file, "state", contact).out
    run_cli(state_file, "enqueue", contact)
    relay.trigger.drain()
    relay.received()

    shown = run_cli(state_file, "state", contact, "--json")
    state = json.loads(shown.out)
    assert state["known"] is True
    assert state["version"] == 1
    assert state["activities_accounted"] == 4
    assert (state["activities_unread"], state["continuing"]) == (0, False)
    assert state["last_sync_started_at"]
    assert "4 activities published or accounted for" in run_cli(state_file, "state", contact).out

    reset = run_cli(state_file, "reset", contact, "--yes")
    assert reset.status == 0
    assert json.loads(run_cli(state_file, "state", contact, "--json").out)["status"] == "reset"

    # The next sync is a first sync: everything again, under the same event ids
    run_cli(state_file, "enqueue", contact)
    relay.trigger.drain()
    again = [r.document["event_id"] for r in relay.received() if r.subscriber == "bus"]
    assert sorted(again) == sorted(a["id"] for a in relay.sandbox.activities(contact))


def test_state_refuses_what_is_not_a_contact_id(relay: EmbeddedRelay, state_file: Path) -> None:
    result = run_cli(state_file, "state", "nobody")
    assert result.status == 2
    assert "not a contact id" in result.err


# --- dlq -----------------------------------------------------------------------------------------


def test_dlq_list_and_redrive_after_max_receive_count(
    start_relay: StartRelay, tmp_path: Path
) -> None:
    relay = start_relay(parameter_overrides={"MaxReceiveCount": 1}, visibility_timeout=1)
    state_file = tmp_path / "state.json"
    relay.write_state_file(state_file)
    contact = relay.sandbox.create_contact(activities=2)
    good_key = refuse_the_sync_key(relay)

    # Given a contact whose sync failed maxReceiveCount times, and an unreadable message
    run_cli(state_file, "enqueue", contact)
    relay.sqs.send_message(QueueUrl=relay.stack.contact_queue_url, MessageBody="garbage")
    polls = relay.trigger.drain()
    received = [message_id for poll in polls for message_id in poll.received]
    failed = {message_id for poll in polls for message_id in poll.failed}
    (contact_message_id,) = failed
    (garbage_message_id,) = set(received) - failed
    time.sleep(1.1)
    assert relay.trigger.poll_once() is None, "SQS moved the failed one to the DLQ"

    # dlq list shows both, and leaves them there
    listed = run_cli(state_file, "dlq", "list")
    assert listed.status == 0
    assert "2 message(s)" in listed.out
    assert "rejected: body is neither a contact UUID" in listed.out
    assert "failed every receive" in listed.out
    as_json = [
        json.loads(line) for line in run_cli(state_file, "dlq", "list", "--json").out.splitlines()
    ]
    assert sorted(d["body"] for d in as_json) == sorted([contact, "garbage"])
    # Each under the message id the function logged: SQS keeps a dead letter's own id, a
    # rejected message's copy names the original in original_message_id
    by_body = {d["body"]: d for d in as_json}
    assert by_body[contact]["message_id"] == contact_message_id
    assert by_body[contact]["reason"] == "failed every receive (maxReceiveCount)"
    assert by_body["garbage"]["message_id"] == garbage_message_id
    assert by_body["garbage"]["dead_letter_message_id"] != garbage_message_id
    assert by_body["garbage"]["reason"].startswith("rejected: body is neither a contact UUID")
    assert contact_message_id in listed.out
    assert garbage_message_id in listed.out

    # With the key fixed, redrive sends the contact back; the unreadable one stays
    relay.update_function_environment({"LEADLEX_API_KEY": good_key})
    redrive = run_cli(state_file, "dlq", "redrive")
    assert redrive.status == 0
    assert "redrove 1 message(s)" in redrive.out
    assert "left 1 rejected message(s)" in redrive.out
    assert [r.failed for r in relay.trigger.drain()] == [()]
    bus = [r.document["event_id"] for r in relay.received() if r.subscriber == "bus"]
    assert sorted(bus) == sorted(a["id"] for a in relay.sandbox.activities(contact))
    assert bodies(relay, relay.stack.dead_letter_queue_url) == ["garbage"]


def test_dlq_purge_asks_first(
    relay: EmbeddedRelay, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay.sqs.send_message(QueueUrl=relay.stack.contact_queue_url, MessageBody="garbage")
    relay.trigger.drain()

    # Not on a terminal and without --yes: refused, nothing deleted
    no_terminal(monkeypatch)
    refused = run_cli(state_file, "dlq", "purge")
    assert refused.status == 2
    assert "--yes" in refused.err
    # On a terminal, "no" keeps them: nothing done
    type_at_terminal(monkeypatch, "n")
    kept = run_cli(state_file, "dlq", "purge")
    assert kept.status == 2
    assert "[y/N]" in kept.err
    assert "nothing purged" in kept.out
    assert "1 message(s)" in run_cli(state_file, "dlq", "list").out
    # "y" purges
    type_at_terminal(monkeypatch, "y")
    assert run_cli(state_file, "dlq", "purge").status == 0
    assert bodies(relay, relay.stack.dead_letter_queue_url) == []


def test_dlq_purge_yes_does_not_ask(
    relay: EmbeddedRelay, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    relay.sqs.send_message(QueueUrl=relay.stack.dead_letter_queue_url, MessageBody="dead")
    purged = run_cli(state_file, "dlq", "purge", "--yes")
    assert purged.status == 0
    assert "purged" in purged.out
    assert bodies(relay, relay.stack.dead_letter_queue_url) == []


def test_enqueue_skips_a_csv_header_row(
    relay: EmbeddedRelay, state_file: Path, tmp_path: Path
) -> None:
    contacts = ids(2)
    listing = tmp_path / "contacts.txt"
    listing.write_text("contact_id\n" + "\n".join(contacts) + "\n")

    result = run_cli(state_file, "enqueue", "--file", str(listing))

    assert result.status == 0, result.err
    assert f"skipped header row of {listing}: 'contact_id'" in result.err
    assert sorted(bodies(relay, relay.stack.contact_queue_url)) == sorted(contacts)


def test_redrive_can_include_rejected_messages(relay: EmbeddedRelay, state_file: Path) -> None:
    relay.sqs.send_message(QueueUrl=relay.stack.contact_queue_url, MessageBody="garbage")
    relay.trigger.drain()

    result = run_cli(state_file, "dlq", "redrive", "--include-rejected")

    assert "redrove 1 message(s)" in result.out
    assert bodies(relay, relay.stack.contact_queue_url) == ["garbage"]


# --- finding the stack ---------------------------------------------------------------------------


def test_flags_and_environment_win_over_the_state_file(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    other = relay.sqs.create_queue(QueueName="other")["QueueUrl"]
    (contact,) = ids(1)

    assert run_cli(state_file, "--queue-url", other, "enqueue", contact).status == 0
    assert bodies(relay, other) == [contact]
    assert run_cli(state_file, "enqueue", contact, "--queue-url", other).status == 0
    assert bodies(relay, other) == [contact]
    assert (
        run_cli(state_file, "enqueue", contact, env={"RELAY_CONTACT_QUEUE_URL": other}).status == 0
    )
    assert bodies(relay, other) == [contact]


def test_names_come_from_a_cloudformation_stacks_outputs(
    relay: EmbeddedRelay, tmp_path: Path
) -> None:
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"ContactQueueUrl": {"Value": {"Ref": "Queue"}}},
    }
    cloudformation = relay.session().client("cloudformation", endpoint_url=relay.endpoint_url)
    cloudformation.create_stack(StackName="deployed", TemplateBody=json.dumps(template))
    (contact,) = ids(1)
    env = {"RELAY_ENDPOINT_URL": relay.endpoint_url, "AWS_REGION": "us-east-1"}

    result = run_cli(
        tmp_path / "absent.json", "--stack-name", "deployed", "enqueue", contact, env=env
    )

    assert result.status == 0, result.err
    queue_url = cloudformation.describe_stacks(StackName="deployed")["Stacks"][0]["Outputs"][0][
        "OutputValue"
    ]
    assert bodies(relay, queue_url) == [contact]


def test_without_a_stack_it_says_where_names_come_from(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "absent.json", "enqueue", str(uuid.uuid4()))
    assert result.status == 2
    assert "RELAY_CONTACT_QUEUE_URL" in result.err
    assert "make local" in result.err


def test_the_installed_relay_command_reaches_the_stack_from_another_process(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    command = Path(sys.executable).with_name("relay")
    assert command.exists(), "pip install -e . installs the relay console script"
    (contact,) = ids(1)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(state_file.parent)}

    result = subprocess.run(
        [str(command), "--state-file", str(state_file), "enqueue", contact],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert bodies(relay, relay.stack.contact_queue_url) == [contact]
