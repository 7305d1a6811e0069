"""``relay tail`` from now on: a temporary queue on the topic (and one behind a rule on the bus),
made at start and removed whatever ends the tail, on the local stack and on moto posing as AWS."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from relay_cli import main as cli
from relay_cli import subscriptions
from relay_local.embedded import EmbeddedRelay
from tests.support.embedded import run_cli

pytestmark = pytest.mark.e2e

TEMPORARY = "-tail-"
"""What every temporary queue's (and rule's) name holds."""


def leftovers(relay: EmbeddedRelay) -> list[str]:
    """Every temporary queue, subscription and rule that exists on the stack."""
    session, endpoint = relay.session(), relay.endpoint_url
    sns = session.client("sns", endpoint_url=endpoint)
    events = session.client("events", endpoint_url=endpoint)
    queues = relay.sqs.list_queues(QueueNamePrefix="relay-local").get("QueueUrls", [])
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=relay.stack.topic_arn)
    rules = events.list_rules(EventBusName=relay.stack.bus_name)["Rules"]
    return [
        *(url for url in queues if TEMPORARY in url),
        *(s["Endpoint"] for s in subscriptions["Subscriptions"] if TEMPORARY in s["Endpoint"]),
        *(rule["Name"] for rule in rules if TEMPORARY in rule["Name"]),
    ]


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def subscribed(relay: EmbeddedRelay, *channels: str) -> bool:
    """Whether a temporary queue receives from each channel: the last step of making it."""
    session, endpoint = relay.session(), relay.endpoint_url
    sns = session.client("sns", endpoint_url=endpoint)
    events = session.client("events", endpoint_url=endpoint)
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=relay.stack.topic_arn)
    rules = events.list_rules(EventBusName=relay.stack.bus_name)["Rules"]
    found = {
        "topic": any(TEMPORARY in s["Endpoint"] for s in subscriptions["Subscriptions"]),
        "bus": any(
            events.list_targets_by_rule(Rule=rule["Name"], EventBusName=relay.stack.bus_name)[
                "Targets"
            ]
            for rule in rules
            if TEMPORARY in rule["Name"]
        ),
    }
    return all(found[channel] for channel in channels)


def tail_running[T](relay: EmbeddedRelay, tail: Callable[[], T], *channels: str) -> Future[T]:
    """``tail()`` in a thread, returned once its queues receive from ``channels``."""
    future = ThreadPoolExecutor(max_workers=1).submit(tail)
    wait_until(lambda: future.done() or subscribed(relay, *channels))
    return future


def publish(relay: EmbeddedRelay, activities: int) -> list[str]:
    """A contact synced now: its activities' ids, as published on the topic and the bus."""
    contact = relay.sandbox.create_contact(activities=activities)
    relay.sqs.send_message(QueueUrl=relay.stack.contact_queue_url, MessageBody=contact)
    relay.trigger.drain()
    return sorted(activity["id"] for activity in relay.sandbox.activities(contact))


def test_tail_prints_from_now_and_removes_what_it_made(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    # Given events published before tail starts (they wait on the stack's own subscribers)
    publish(relay, activities=2)

    # When tail runs while another contact is synced
    running = tail_running(
        relay,
        lambda: run_cli(state_file, "tail", "--json", "--count", "6", "--idle", "30"),
        "topic",
        "bus",
    )
    expected = publish(relay, activities=3)
    result = running.result(timeout=60)

    # Then it printed that contact's events once per channel, and nothing from before
    assert result.status == 0, result.err
    printed = [json.loads(line) for line in result.out.splitlines()]
    for channel in ("topic", "bus"):
        got = sorted(d["event_id"] for d in printed if d["subscriber"] == channel)
        assert got == expected
    assert "created queue relay-local-ActivityTopic-tail-" in result.err
    assert "removed when tail stops" in result.err
    # And the queues, the subscription and the rule are gone
    assert leftovers(relay) == []


def test_tail_on_aws_finds_the_topic_in_the_stacks_outputs(
    relay: EmbeddedRelay, tmp_path: Path
) -> None:
    # Given moto posing as AWS: a CloudFormation stack naming the relay's topic, no state file
    cloudformation = relay.session().client("cloudformation", endpoint_url=relay.endpoint_url)
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"TopicArn": {"Value": relay.stack.topic_arn}},
    }
    cloudformation.create_stack(StackName="deployed", TemplateBody=json.dumps(template))
    env = {"RELAY_ENDPOINT_URL": relay.endpoint_url, "AWS_REGION": "us-east-1"}

    # When tail runs on it while a contact is synced
    argv = ("--stack-name", "deployed", "tail", "--json", "--count", "2", "--idle", "30")
    running = tail_running(
        relay, lambda: run_cli(tmp_path / "absent.json", *argv, env=env), "topic"
    )
    expected = publish(relay, activities=2)
    result = running.result(timeout=60)

    # Then it printed them from the topic alone, and left nothing behind
    assert result.status == 0, result.err
    printed = [json.loads(line) for line in result.out.splitlines()]
    assert sorted(d["event_id"] for d in printed) == expected
    assert {d["subscriber"] for d in printed} == {"topic"}
    assert leftovers(relay) == []


class Breaks(io.StringIO):
    """An output that fails as soon as an event is written to it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def write(self, text: str) -> int:
        if "event_id" in text:
            raise self.error
        return super().write(text)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), BrokenPipeError(), RuntimeError("bug")])
def test_tail_removes_what_it_made_when_interrupted(
    relay: EmbeddedRelay, state_file: Path, error: BaseException
) -> None:
    # Given a tail whose output breaks at the first event (Ctrl-C, a closed pipe, a bug)
    out = Breaks(error)

    def tail() -> int:
        argv = ["--state-file", str(state_file), "tail", "bus", "--json", "--idle", "30"]
        return cli.main(argv, env={}, out=out, err=io.StringIO())

    running = tail_running(relay, tail, "bus")

    # When an event arrives
    publish(relay, activities=1)

    # Then tail stops (quietly for Ctrl-C and a closed pipe, raising a bug) and made no leftovers
    if isinstance(error, RuntimeError):
        with pytest.raises(RuntimeError):
            running.result(timeout=60)
    else:
        assert running.result(timeout=60) == 0
    assert leftovers(relay) == []


def test_sigterm_stops_the_relay_command_and_it_cleans_up(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    # Given `relay tail` running in a process of its own
    command = Path(sys.executable).with_name("relay")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(state_file.parent)}
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    process = subprocess.Popen(
        [str(command), "--state-file", str(state_file), "tail", "topic"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: process.poll() is not None or subscribed(relay, "topic"), timeout=60)

        # When it is sent SIGTERM (as by `kill`, systemd or a container stop)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()

    # Then it exits normally, having removed its queue and subscription
    assert process.returncode == 0, err
    assert leftovers(relay) == []


def test_a_failure_while_subscribing_removes_what_was_made(
    relay: EmbeddedRelay, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SNS refusing the subscription once the topic's queue is made
    def refuse(*_: object, **__: object) -> str:
        raise ClientError({"Error": {"Code": "AuthorizationError", "Message": "no"}}, "Subscribe")

    monkeypatch.setattr(subscriptions, "subscribe_to_topic", refuse)

    # When tail starts
    result = run_cli(state_file, "tail", "bus", "--idle", "1")
    both = run_cli(state_file, "tail", "--idle", "1")

    # Then the bus alone works; for both, it fails naming the error and leaves nothing behind
    assert result.status == 0, result.err
    assert both.status == 2
    assert "AWS said AuthorizationError: no" in both.err
    assert leftovers(relay) == []


def test_tail_names_what_it_cannot_watch(
    relay: EmbeddedRelay, state_file: Path, tmp_path: Path
) -> None:
    wrong = run_cli(state_file, "tail", "nowhere")
    assert wrong.status == 2
    assert "topic, bus or a queue URL" in wrong.err
    delete = run_cli(state_file, "tail", "--delete")
    assert delete.status == 2
    assert "--delete is for a queue URL" in delete.err
    env = {"RELAY_ENDPOINT_URL": relay.endpoint_url, "AWS_REGION": "us-east-1"}
    deployed = {**env, "RELAY_TOPIC_ARN": relay.stack.topic_arn}
    from_start = run_cli(tmp_path / "absent.json", "tail", "--from-start", env=deployed)
    assert from_start.status == 2
    assert "--from-start reads the subscriber queues the local stack made" in from_start.err
    assert leftovers(relay) == []
