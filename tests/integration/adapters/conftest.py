"""Fixtures of the adapter tests: clients of the moto that tests/conftest.py
starts, the template's watermark table, and ready-made activity events."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from relay_local.template import LocalStack
from tests.support.events import MakeEvent, event_maker

REGION = "us-east-1"


@pytest.fixture
def sns(aws_mock: None) -> Any:
    return boto3.client("sns", region_name=REGION)


@pytest.fixture
def sqs(aws_mock: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def events(aws_mock: None) -> Any:
    return boto3.client("events", region_name=REGION)


@pytest.fixture
def dynamodb(aws_mock: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def state_table(aws_stack: LocalStack) -> str:
    """The watermark table as template.yaml declares it, key schema included."""
    return aws_stack.table_name


@pytest.fixture
def make_event() -> MakeEvent:
    """Events with distinct, ordered ids and dates; keyword arguments override activity fields
    (None removes one)."""
    return event_maker()
