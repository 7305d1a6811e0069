"""Fixtures of the adapter tests: clients of the moto that tests/integration/conftest.py
starts, the template's watermark table, and ready-made activity events."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest
from adapter_support import CONTACT_ID, MakeEvent

from activity_relay.core.model import Activity, ActivityEvent
from relay_local.template import LocalStack

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
    counter = itertools.count()

    def make(contact_id: str = CONTACT_ID, **fields: Any) -> ActivityEvent:
        number = next(counter)
        raw: dict[str, Any] = {
            "id": f"act-{number:05d}",
            "created_date": f"2024-05-01T10:{number // 60 % 60:02d}:{number % 60:02d}Z",
            "activity_type": "email",
            "entity_type": "contact",
            "title": f"Activity {number}",
            "description": "Sent the proposal.",
        }
        raw.update(fields)
        raw = {name: value for name, value in raw.items() if value is not None}
        return ActivityEvent(contact_id=contact_id, activity=Activity.from_api(raw))

    return make
