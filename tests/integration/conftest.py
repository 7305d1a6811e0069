"""AWS fixtures: moto in-process, with the relay's stack provisioned from template.yaml.

    def test_something(aws_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in aws_stack.function_environment().items():
            monkeypatch.setenv(name, value)
        sqs = boto3.client("sqs")          # region and fake credentials come from the env

``stack_factory`` makes further stacks (parameter overrides, a FIFO topic), each under its own
stack name, in the same moto account.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Protocol

import pytest
from moto import mock_aws

from relay_local.stack import LocalStack, StackClients, provision_stack

REGION = "us-east-1"


class StackFactory(Protocol):
    def __call__(
        self,
        *,
        parameter_overrides: Mapping[str, str | int] | None = None,
        fifo_topic: bool = False,
    ) -> LocalStack: ...


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
