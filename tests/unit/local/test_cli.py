"""The relay CLI's parser and input rules, without a stack: help, version, global options in
either place, exit codes, the message when no stack is found, header rows in id lists."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import pytest

from relay_cli import main as cli
from relay_cli.commands.enqueue import read_ids
from relay_cli.target import NO_STACK

CONTACT = "1c919cb7-65f5-4454-b7d1-74c35c1c0da1"
NO_AWS = {"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(argv, env=env or {}, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def no_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No region, profile or credentials from the machine; returns a state file that is absent."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in NO_AWS.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "absent.json"


# --- help, version, exit codes -------------------------------------------------------------------


def _every_parser(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += _every_parser(sub)
    return found


def test_every_sub_command_and_option_has_help_text() -> None:
    parser = cli.build_parser()
    parsers = _every_parser(parser)
    assert {prog for prog, _ in parsers} >= {
        "relay enqueue",
        "relay tail",
        "relay state",
        "relay reset",
        "relay dlq",
        "relay dlq list",
        "relay dlq redrive",
        "relay dlq purge",
    }
    for prog, sub in parsers:
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, f"{prog} {choice.dest}: no help"
            else:
                assert action.help, f"{prog} {action.option_strings or action.dest}: no help"


def test_version_and_exit_codes_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("relay 0.")

    help_text = cli.build_parser().format_help()
    assert "exit status:" in help_text
    assert "0  done" in help_text
    assert "1  partly done" in help_text
    assert "2  nothing done" in help_text


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["enqueue", "--no-such-option"])
    assert exit_.value.code == cli.EXIT_USAGE == 2


# --- global options ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--region", "eu-west-1", "--queue-url", "Q", "enqueue", CONTACT],
        ["enqueue", CONTACT, "--region", "eu-west-1", "--queue-url", "Q"],
        ["--region", "eu-west-1", "enqueue", "--queue-url", "Q", CONTACT],
    ],
)
def test_global_options_work_before_or_after_the_sub_command(argv: list[str]) -> None:
    args = cli.build_parser().parse_args(argv)
    assert args.region == "eu-west-1"
    assert args.queue_url == "Q"
    assert args.ids == [CONTACT]


def test_global_options_reach_nested_sub_commands() -> None:
    args = cli.build_parser().parse_args(["dlq", "purge", "--yes", "--dlq-url", "D"])
    assert (args.dlq_url, args.yes, args.stack_name) == ("D", True, None)


# --- no stack ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["enqueue", CONTACT],
        ["state", CONTACT],
        ["reset", CONTACT],
        ["dlq", "list"],
        ["dlq", "redrive"],
        ["dlq", "purge", "--yes"],
        ["tail"],
        ["tail", "bus"],
    ],
)
def test_without_a_stack_one_line_names_the_three_ways_to_find_one(
    argv: list[str], no_aws_configuration: Path
) -> None:
    status, out, err = run(["--state-file", str(no_aws_configuration), *argv])

    assert status == 2
    assert out == ""
    assert err == f"relay: {NO_STACK}\n"
    assert "--queue-url" in err
    assert "RELAY_STACK_NAME" in err
    assert "make local" in err
    assert "region" not in err.lower()


def test_with_json_the_error_is_json_too(no_aws_configuration: Path) -> None:
    status, out, err = run(["--state-file", str(no_aws_configuration), "state", CONTACT, "--json"])
    assert status == 2
    assert out == ""
    assert cli.json.loads(err) == {"error": NO_STACK}


def test_a_queue_url_on_aws_names_its_region(no_aws_configuration: Path) -> None:
    # Given only a queue URL: no "You must specify a region." from botocore
    args = cli.build_parser().parse_args(
        ["enqueue", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/123456789012/q", CONTACT]
    )
    target = cli.resolve_target(args, {})
    assert target.region == "eu-west-1"
    assert target.found


# --- header rows ---------------------------------------------------------------------------------


def test_a_header_row_is_skipped_and_named() -> None:
    headers: list[str] = []
    lines = ["contact_id\n", f"{CONTACT}\n"]
    assert list(read_ids(lines, on_header=headers.append)) == [CONTACT]
    assert headers == ["contact_id"]


@pytest.mark.parametrize("header", ["id", "Contact ID", "contact_id,name,email", "  # c\n\nid"])
def test_what_counts_as_a_header(header: str) -> None:
    lines = [*header.split("\n"), CONTACT]
    assert list(read_ids(lines)) == [CONTACT]


@pytest.mark.parametrize(
    "first_line",
    [
        CONTACT,  # data from the first line
        "1c919cb7-65f5-4454-b7d1",  # a truncated id is reported, not taken for a header
        "row-1",
    ],
)
def test_a_first_line_with_digits_is_data(first_line: str) -> None:
    headers: list[str] = []
    assert list(read_ids([first_line, CONTACT], on_header=headers.append)) == [first_line, CONTACT]
    assert headers == []


def test_only_the_first_line_can_be_a_header() -> None:
    assert list(read_ids([CONTACT, "contact_id"])) == [CONTACT, "contact_id"]


def test_the_readmes_csv_example_sends_every_id(
    monkeypatch: pytest.MonkeyPatch, no_aws_configuration: Path
) -> None:
    # `cut -d, -f1 contacts.csv | relay enqueue`: the header is skipped and said so; with no
    # stack the command still fails on the stack, not on the header
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"contact_id\n{CONTACT}\n"))
    status, _, err = run(["--state-file", str(no_aws_configuration), "enqueue"])
    assert "skipped header row of stdin: 'contact_id'" in err
    assert "invalid" not in err
    assert status == 2
