"""Fixtures shared by every test folder, and the folder → marker rule.

AWS fixtures: moto in-process, with the relay's stack provisioned from template.yaml.

    def test_something(aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in aws_stack.function_environment().items():
            monkeypatch.setenv(name, value)
        sqs = boto3.client("sqs")          # region and fake credentials come from the env

``stack_factory`` makes further stacks (parameter overrides, a FIFO topic), each under its own
stack name, in the same moto account.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from activity_relay.core.contracts.event_document import event_document
from leadlex_sandbox import SandboxServer
from relay_local.template import LocalStack, StackClients, load_template, provision_stack
from tests.support.aws import StackFactory

REGION = "us-east-1"
TESTS = Path(__file__).parent

# --- Markers: every test carries the marker of its folder ----------------------------------------

FOLDER_MARKERS = {
    "unit": "unit",
    "contract": "contract",
    "integration": "integration",
    "e2e": "e2e",
    "benchmarks": "benchmarks",
}
"""tests/<folder>/ → the marker its tests get (registered in pyproject.toml)."""


def folder_marker(path: Path) -> str:
    """The marker of a test file under tests/; a folder without one stops the run, so that no
    test goes unmarked (and unselected by `make unit` and the like)."""
    folder = path.resolve().relative_to(TESTS.resolve()).parts[0]
    if folder not in FOLDER_MARKERS:
        raise pytest.UsageError(
            f"{path}: tests/{folder} has no marker; add it to FOLDER_MARKERS in tests/conftest.py"
        )
    return FOLDER_MARKERS[folder]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(folder_marker(item.path))


# --- Environment ---------------------------------------------------------------------------------


def _powertools_environment() -> None:
    """Powertools reads its service and namespace when the handlers' shared Logger and Metrics
    are created, at import: give the test process the variables template.yaml's Globals give
    every function, before any test module imports a handler."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    for name, value in variables.items():
        if name.startswith("POWERTOOLS_") and isinstance(value, str):
            os.environ.setdefault(name, value)


_powertools_environment()


# --- LeadLex -------------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh LeadLex sandbox on an ephemeral port, no quota to speak of."""
    with SandboxServer(plan="unlimited", seed=1) as server:
        yield server


# --- AWS (moto) ----------------------------------------------------------------------------------


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real account."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def aws_mock(aws_credentials: None) -> Iterator[None]:
    """moto's in-process AWS for the duration of the test."""
    with mock_aws():
        yield


@pytest.fixture
def stack_clients(aws_mock: None) -> StackClients:
    return StackClients.create(region_name=REGION)


@pytest.fixture
def stack_factory(stack_clients: StackClients) -> StackFactory:
    numbers = itertools.count(1)

    def make(
        *,
        parameter_overrides: Mapping[str, str | int] | None = None,
        fifo_topic: bool = False,
    ) -> LocalStack:
        return provision_stack(
            stack_clients,
            stack_name=f"relay-test-{next(numbers)}",
            parameter_overrides=parameter_overrides,
            fifo_topic=fifo_topic,
        )

    return make


@pytest.fixture
def aws_stack(stack_factory: StackFactory) -> LocalStack:
    """The template's stack with its parameter defaults, under moto.mock_aws in us-east-1."""
    return stack_factory()


# --- The event schema: every document the relay publishes in any test validates -----------------


@pytest.fixture(autouse=True)
def published_documents_match_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks each event document where it leaves the relay: what the SNS and EventBridge
    adapters put on the wire (after fitting, so truncated ones too; moto integration and e2e
    tests) and what the in-memory RecordingPublisher is given (unit and property tests)."""
    from activity_relay.adapters.publishers import eventbridge, sns
    from relay_local.fakes.sync import RecordingPublisher
    from tests.support.event_schema import assert_valid_event

    def checked_fit(original: Any) -> Any:
        def fit(document: Mapping[str, Any], limit: int) -> dict[str, Any]:
            fitted: dict[str, Any] = original(document, limit)
            assert_valid_event(fitted)
            return fitted

        return fit

    monkeypatch.setattr(sns, "fit_document", checked_fit(sns.fit_document))
    monkeypatch.setattr(eventbridge, "fit_document", checked_fit(eventbridge.fit_document))
    recording_publish = RecordingPublisher.publish

    def publish(self: RecordingPublisher, events: Any) -> None:
        for event in events:
            assert_valid_event(event_document(event))
        recording_publish(self, events)

    monkeypatch.setattr(RecordingPublisher, "publish", publish)
