"""The relay CLI explains itself: help in plain words with the stack options once and each
command's own exit codes; the region and credentials it uses (--profile, AWS_PROFILE), and AWS
errors that name the stack, the region and the fix."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from relay_cli import main as cli
from relay_cli.help_text import SEE_STACK_OPTIONS
from relay_cli.target import Target, explain, resolve_target

CONTACT = "1c919cb7-65f5-4454-b7d1-74c35c1c0da1"
AWS_QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/contacts"
STACK_FLAGS = ("--endpoint-url", "--queue-url", "--dlq-url", "--table-name")


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(argv, env=env or {}, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def sub_commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found[sub.prog] = sub
                found.update(sub_commands(sub))
    return found


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A machine without AWS configuration (no instance metadata either); returns a directory
    for configuration files a test writes."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


@pytest.fixture
def profile(no_aws: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A profile `relay-test` in a temporary AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE."""
    config, credentials = no_aws / "config", no_aws / "credentials"
    config.write_text("[profile relay-test]\nregion = eu-west-3\n")
    credentials.write_text(
        "[relay-test]\naws_access_key_id = AKIDRELAYTEST\naws_secret_access_key = not-a-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    return "relay-test"


# --- help ----------------------------------------------------------------------------------------


def test_help_is_plain_text_without_rest_markup() -> None:
    from relay_local import serve

    parser = cli.build_parser()
    for prog, sub in {
        "relay": parser,
        **sub_commands(parser),
        "make local": serve.build_parser(),
    }.items():
        assert "``" not in sub.format_help(), prog


def test_the_stack_options_are_documented_once_on_relay_itself() -> None:
    parser = cli.build_parser()
    top = parser.format_help()
    assert "where the stack is" in top
    for flag in (*STACK_FLAGS, "--region", "--profile", "--stack-name", "--state-file"):
        assert f"  {flag} " in top, flag
    for prog, sub in sub_commands(parser).items():
        text = sub.format_help()
        assert SEE_STACK_OPTIONS in text, prog
        assert not any(flag in text for flag in STACK_FLAGS), prog


def test_each_command_shows_only_the_exit_codes_it_can_end_with() -> None:
    helps = {prog: sub.format_help() for prog, sub in sub_commands(cli.build_parser()).items()}

    assert "1  partly done: some ids invalid or not sent" in helps["relay enqueue"]
    assert "1  partly done: some dead letters could not be sent back" in helps["relay dlq redrive"]
    for prog in ("relay state", "relay reset", "relay dlq list", "relay dlq purge"):
        assert "  0  done" in helps[prog]
        assert "  2  nothing done" in helps[prog]
        assert "  1  " not in helps[prog], prog
    assert "dead letters not redriven" not in helps["relay enqueue"]


# --- region and profile --------------------------------------------------------------------------


def test_a_profile_gives_credentials_and_region(profile: str) -> None:
    for argv, env in (
        (["--profile", profile, "enqueue", "--queue-url", "http://localhost:1/q", CONTACT], {}),
        (["enqueue", "--queue-url", "http://localhost:1/q", CONTACT], {"AWS_PROFILE": profile}),
    ):
        target = resolve_target(cli.build_parser().parse_args(argv), env)

        session = target.session()

        assert session.region_name == "eu-west-3"
        credentials = session.get_credentials()
        assert credentials is not None
        assert credentials.access_key == "AKIDRELAYTEST"
        assert "profile relay-test" in target.where()


def test_a_region_flag_wins_over_the_profiles(profile: str) -> None:
    argv = ["--profile", profile, "--region", "ca-central-1", "--queue-url", "http://l/q"]
    target = resolve_target(cli.build_parser().parse_args([*argv, "enqueue", CONTACT]), {})
    assert target.session().region_name == "ca-central-1"


def test_an_unknown_profile_says_how_to_create_it(no_aws: Path) -> None:
    status, _, err = run(["--profile", "nope", "--queue-url", AWS_QUEUE, "enqueue", CONTACT])
    assert status == 2
    assert "AWS profile nope not found" in err
    assert "aws configure --profile nope" in err


def test_without_a_region_the_fix_is_named(no_aws: Path) -> None:
    # Given a queue whose URL names no region (a custom endpoint) and no region anywhere
    argv = ["--state-file", str(no_aws / "absent.json"), "--queue-url", "http://localhost:1/q"]

    status, out, err = run([*argv, "enqueue", CONTACT])

    assert (status, out) == (2, "")
    assert "no AWS region: pass --region or set AWS_REGION / AWS_PROFILE" in err
    assert "`aws configure`" in err


def test_without_credentials_the_fix_and_the_region_are_named(no_aws: Path) -> None:
    argv = ["--state-file", str(no_aws / "absent.json"), "--queue-url", AWS_QUEUE]

    status, out, err = run([*argv, "enqueue", CONTACT])

    assert (status, out) == (2, "")
    assert "no AWS credentials" in err
    assert "--profile" in err
    assert "AWS_PROFILE" in err
    assert "`aws configure`" in err
    assert "region eu-west-1" in err


def test_the_local_stack_takes_its_recorded_region_and_needs_no_profile(
    no_aws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a local stack's state file in us-east-1, and a shell set up for another region
    # with a profile this laptop does not have
    state_file = no_aws / "relay-local.json"
    state_file.write_text(
        json.dumps({"endpoint_url": "http://127.0.0.1:1", "region": "us-east-1", "outputs": {}})
    )
    monkeypatch.setenv("AWS_PROFILE", "prod-only")
    env = {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_PROFILE": "prod-only"}
    args = cli.build_parser().parse_args(["--state-file", str(state_file), "dlq", "list"])

    session = resolve_target(args, env).session()

    # Then the stack's region, and dummy credentials (moto takes any)
    assert session.region_name == "us-east-1"
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.access_key == "testing"


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        ("AWS.SimpleQueueService.NonExistentQueue", "is that the stack and region you meant?"),
        ("AccessDeniedException", "pass --profile with ones that may"),
        ("ExpiredTokenException", "`aws sso login`"),
        ("UnrecognizedClientException", "check --profile / AWS_PROFILE, or `aws configure`"),
    ],
)
def test_an_aws_error_names_stack_region_and_fix(code: str, fix: str) -> None:
    target = Target(None, "eu-west-1", {}, origin="stack relay-prod", profile="ops")
    error = ClientError({"Error": {"Code": code, "Message": "said AWS"}}, "ReceiveMessage")

    line = explain(error, target)

    assert line.startswith(f"AWS said {code}: said AWS (stack relay-prod, region eu-west-1, ")
    assert "profile ops" in line
    assert fix in line


def test_an_unreachable_local_stack_asks_whether_it_runs() -> None:
    target = Target("http://127.0.0.1:1", "us-east-1", {}, local=True, origin="the local stack")
    line = explain(EndpointConnectionError(endpoint_url="http://127.0.0.1:1/"), target)
    assert line.endswith("is the local stack running (`make local`)?")
