"""Where the relay CLI finds the stack, on the local stack and on moto posing as AWS: the local
stack's own region whatever AWS_REGION says, a profile's region and credentials, and errors that
name the stack and region they concern."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from unittest.mock import patch

import pytest

from relay_local.embedded import EmbeddedRelay
from tests.support.aws import drain
from tests.support.embedded import run_cli

pytestmark = pytest.mark.e2e

OTHER_REGION = {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}


def test_the_local_stack_is_reached_in_its_own_region_whatever_aws_region_says(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    # Given a local stack in us-east-1 and a shell whose AWS_REGION is another region
    contact = str(uuid.uuid4())

    # When the CLI sends to it and reads from it
    sent = run_cli(state_file, "enqueue", contact, env=OTHER_REGION)
    shown = run_cli(state_file, "state", contact, "--json", env=OTHER_REGION)

    # Then it used the state file's region
    assert sent.status == 0, sent.err
    assert [m["Body"] for m in drain(relay.sqs, relay.stack.contact_queue_url)] == [contact]
    assert shown.status == 0, shown.err
    assert json.loads(shown.out)["contact_id"] == contact


def test_an_aws_error_names_the_stack_and_region_it_concerned(
    relay: EmbeddedRelay, state_file: Path
) -> None:
    # --region wins over the state file: in another region the queue does not exist
    result = run_cli(state_file, "--region", "eu-west-1", "dlq", "list")

    assert result.status == 2
    assert "does not exist" in result.err
    assert f"(the local stack of {state_file}, region eu-west-1)" in result.err


def test_an_unknown_stack_name_names_the_region_looked_in(
    relay: EmbeddedRelay, tmp_path: Path
) -> None:
    env = {"RELAY_ENDPOINT_URL": relay.endpoint_url, "AWS_REGION": "us-east-1"}

    result = run_cli(tmp_path / "absent.json", "--stack-name", "nope", "dlq", "list", env=env)

    assert result.status == 2
    assert result.err.startswith("relay: stack nope not found in region us-east-1")
    assert "--stack-name" in result.err


def test_a_profile_gives_region_and_credentials_on_aws(
    relay: EmbeddedRelay, tmp_path: Path
) -> None:
    # Given moto posing as AWS, no region in the environment, and a profile with one and keys
    config = tmp_path / "config"
    config.write_text(
        "[profile relay-e2e]\nregion = us-east-1\n"
        "aws_access_key_id = AKIDE2E\naws_secret_access_key = not-a-secret\n"
    )
    env = {"RELAY_ENDPOINT_URL": relay.endpoint_url}
    queue = relay.stack.contact_queue_url  # a moto URL: it names no region
    contact = str(uuid.uuid4())

    # (patch.dict, not monkeypatch: the relay put the region there and takes it back on stop)
    with patch.dict(os.environ, {"AWS_CONFIG_FILE": str(config)}):
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            os.environ.pop(name, None)
        without = run_cli(
            tmp_path / "absent.json", "--queue-url", queue, "enqueue", contact, env=env
        )
        with_profile = run_cli(
            tmp_path / "absent.json",
            *("--profile", "relay-e2e", "--queue-url", queue, "enqueue", contact),
            env=env,
        )

    assert without.status == 2
    assert "no AWS region" in without.err
    assert with_profile.status == 0, with_profile.err
    assert [m["Body"] for m in drain(relay.sqs, queue)] == [contact]
