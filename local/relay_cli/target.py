"""Where the stack is, and the errors a user can fix.

First found wins: flags (``--queue-url``, ``--dlq-url``, ``--table-name``, ``--endpoint-url``,
``--region``); the environment (``RELAY_CONTACT_QUEUE_URL``, ``RELAY_DEAD_LETTER_QUEUE_URL``,
``RELAY_TABLE_NAME``, ``RELAY_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL``); the Outputs of the
CloudFormation stack named by ``--stack-name`` or ``RELAY_STACK_NAME``; the state file a running
``make local`` writes (``.relay-local.json``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import ClientError

from activity_relay.adapters.dynamodb.contacts import DynamoDbStateStore

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

STATE_FILE: Final = Path(__file__).resolve().parents[2] / ".relay-local.json"
"""Where a running local stack tells the relay CLI its endpoint and names."""

FAKE_CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
"""What a local stack (moto) accepts, for a laptop without AWS configuration."""

# Flag/env name → the template Output it stands for.
_NAMED_OUTPUTS: Final = {
    "ContactQueueUrl": ("queue_url", "RELAY_CONTACT_QUEUE_URL"),
    "DeadLetterQueueUrl": ("dlq_url", "RELAY_DEAD_LETTER_QUEUE_URL"),
    "TableName": ("table_name", "RELAY_TABLE_NAME"),
    # relay tail
    "TopicArn": ("topic_arn", "RELAY_TOPIC_ARN"),
    "BusName": ("bus_name", "RELAY_BUS_NAME"),
    # relay sandbox: the local stack's LeadLex sandbox (its admin interface)
    "LeadLexSandboxAdminUrl": ("sandbox_url", "RELAY_SANDBOX_URL"),
    # relay webhooks
    "WebhookEndpointTableName": ("webhook_table", "RELAY_WEBHOOK_TABLE_NAME"),
    "WebhookDeliveryQueueUrl": ("webhook_queue_url", "RELAY_WEBHOOK_DELIVERY_QUEUE_URL"),
    "WebhookDeadLetterQueueUrl": ("webhook_dlq_url", "RELAY_WEBHOOK_DEAD_LETTER_QUEUE_URL"),
    "WebhookAttemptTableName": ("webhook_attempt_table", "RELAY_WEBHOOK_ATTEMPT_TABLE_NAME"),
    "WebhookEventTableName": ("webhook_event_table", "RELAY_WEBHOOK_EVENT_TABLE_NAME"),
    "WebhookEventQueueUrl": ("webhook_event_queue_url", "RELAY_WEBHOOK_EVENT_QUEUE_URL"),
    "WebhookSecretKeyArn": ("webhook_key", "RELAY_WEBHOOK_KEY"),
}


NO_STACK: Final = (
    "no relay stack found: pass --queue-url/--dlq-url/--table-name (or RELAY_CONTACT_QUEUE_URL, "
    "RELAY_DEAD_LETTER_QUEUE_URL, RELAY_TABLE_NAME), name a deployed stack with --stack-name or "
    f"RELAY_STACK_NAME, or start the local stack with `make local` (it writes {STATE_FILE.name})"
)
"""The one line a user sees when the CLI has nowhere to act: the three ways to point it."""


class UsageError(Exception):
    """Something the user can fix: printed without a traceback, exit status 2."""


@dataclass
class Target:
    """The stack the commands act on: endpoint, region, and its Outputs."""

    endpoint_url: str | None
    region: str | None
    outputs: dict[str, str]
    subscribers: dict[str, str] = field(default_factory=dict)
    local: bool = False
    origin: str = "flags and environment"

    found: bool = True
    """False when neither flags, environment, a stack name nor a state file named anything."""

    def output(self, name: str) -> str:
        value = self.outputs.get(name)
        if not value:
            if not self.found:
                raise UsageError(NO_STACK)
            flag, variable = _NAMED_OUTPUTS[name]
            raise UsageError(
                f"no {name} in {self.origin}: pass --{flag.replace('_', '-')} or set {variable}"
            )
        return value

    def session(self) -> boto3.session.Session:
        session = boto3.session.Session(region_name=self.region)
        if session.region_name is None:
            # botocore's own "You must specify a region." names none of the ways out.
            raise UsageError(NO_STACK if not self.found else "no AWS region: pass --region")
        if self.local and session.get_credentials() is None:
            # moto accepts any credentials; a laptop without AWS config should still work.
            session = boto3.session.Session(
                aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                region_name=self.region,
            )
        return session

    def sqs(self) -> SQSClient:
        return self.session().client("sqs", endpoint_url=self.endpoint_url)

    def state_store(self) -> DynamoDbStateStore:
        client = self.session().client("dynamodb", endpoint_url=self.endpoint_url)
        return DynamoDbStateStore(client, self.output("TableName"))


def resolve_target(args: argparse.Namespace, env: Mapping[str, str]) -> Target:
    endpoint = args.endpoint_url or env.get("RELAY_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL")
    region = args.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    stack_name = args.stack_name or env.get("RELAY_STACK_NAME")
    state_file = Path(args.state_file or env.get("RELAY_STATE_FILE") or STATE_FILE)
    if stack_name:
        target = Target(endpoint, region, {}, origin=f"stack {stack_name}")
        target.outputs = _stack_outputs(target, stack_name)
    elif state_file.exists():
        state = json.loads(state_file.read_text(encoding="utf-8"))
        target = Target(
            endpoint or state["endpoint_url"],
            region or state.get("region"),
            dict(state.get("outputs") or {}),
            dict(state.get("subscribers") or {}),
            local=True,
            origin=str(state_file),
        )
    else:
        target = Target(endpoint, region, {}, local=endpoint is not None, found=False)
    for output, (flag, variable) in _NAMED_OUTPUTS.items():
        value = getattr(args, flag, None) or env.get(variable)
        if value:
            target.outputs[output] = value
            target.found = True
            if target.region is None:
                target.region = _region_of(value)
    return target


def _region_of(value: str) -> str | None:
    """The region an AWS queue URL names (https://sqs.REGION.amazonaws.com/...), if any."""
    host = value.split("://", 1)[-1].split("/", 1)[0].split(".")
    aws = len(host) >= 4 and host[0] == "sqs" and host[-2:] == ["amazonaws", "com"]
    return host[1] if aws else None


def _stack_outputs(target: Target, stack_name: str) -> dict[str, str]:
    # No stubs for CloudFormation in the dev set; only describe_stacks is used.
    cloudformation: Any = target.session().client(
        "cloudformation", endpoint_url=target.endpoint_url
    )
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def error_text(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {details.get('Message', '')}"
