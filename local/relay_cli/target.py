"""Where the stack is, and the errors a user can fix.

Names: first found wins among flags (--queue-url, --dlq-url, --table-name, --endpoint-url); the
environment (RELAY_CONTACT_QUEUE_URL, RELAY_DEAD_LETTER_QUEUE_URL, RELAY_TABLE_NAME,
RELAY_ENDPOINT_URL or AWS_ENDPOINT_URL); the Outputs of the CloudFormation stack named by
--stack-name or RELAY_STACK_NAME; the state file a running `make local` writes
(.relay-local.json).

Region: --region; on the local stack the region its state file records (the stack lives there,
whatever AWS_REGION says); else AWS_REGION, AWS_DEFAULT_REGION, or the profile's. Credentials:
the profile named by --profile or AWS_PROFILE, else boto3's usual chain.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3
import botocore.session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
)

from activity_relay.adapters.dynamodb.contacts import DynamoDbStateStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
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


NO_REGION: Final = (
    "no AWS region: pass --region or set AWS_REGION / AWS_PROFILE, or run `aws configure`"
)

NO_CREDENTIALS: Final = (
    "no AWS credentials (Unable to locate credentials): pass --profile or set AWS_PROFILE, "
    "or run `aws configure`"
)


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

    profile: str | None = None
    _session: boto3.session.Session | None = field(default=None, init=False, repr=False)

    def where(self) -> str:
        """Which stack and region a command used, for its error messages."""
        region = self.region or (self._session.region_name if self._session else None)
        place = f"region {region or '(none)'}"
        if self.profile:
            place += f", profile {self.profile}"
        return f"{self.origin}, {place}"

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
        """One per command: the profile's (or the default chain's) region and credentials."""
        if self._session is None:
            self._session = self._new_session()
        return self._session

    def _new_session(self) -> boto3.session.Session:
        if self.local and self.profile is None:
            return self._local_session()
        try:
            session = boto3.session.Session(region_name=self.region, profile_name=self.profile)
        except ProfileNotFound as error:
            name = error.kwargs.get("profile", self.profile)
            raise UsageError(
                f"AWS profile {name} not found (in ~/.aws/config or AWS_CONFIG_FILE): "
                f"run `aws configure --profile {name}`, or pass another --profile"
            ) from None
        if session.region_name is None:
            # botocore's own "You must specify a region." names none of the ways out.
            raise UsageError(NO_STACK if not self.found else f"{NO_REGION} ({self.origin})")
        if session.get_credentials() is None:
            raise UsageError(f"{NO_CREDENTIALS} ({self.origin}, region {session.region_name})")
        return session

    def _local_session(self) -> boto3.session.Session:
        """moto accepts any credentials: dummy ones, whatever profile AWS_PROFILE names (it
        may not exist on this laptop, and real credentials have no business on a local stack)."""
        without_profile = botocore.session.Session(
            session_vars={"profile": (None, None, None, None)}
        )
        session = boto3.session.Session(
            botocore_session=without_profile,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        )
        if session.region_name is None:
            raise UsageError(NO_STACK if not self.found else f"{NO_REGION} ({self.origin})")
        return session

    def sqs(self) -> SQSClient:
        return self.session().client("sqs", endpoint_url=self.endpoint_url)

    def dynamodb(self) -> DynamoDBClient:
        return self.session().client("dynamodb", endpoint_url=self.endpoint_url)

    def state_store(self) -> DynamoDbStateStore:
        return DynamoDbStateStore(self.dynamodb(), self.output("TableName"))


def resolve_target(args: argparse.Namespace, env: Mapping[str, str]) -> Target:
    endpoint = args.endpoint_url or env.get("RELAY_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL")
    env_region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    profile = args.profile or env.get("AWS_PROFILE") or None
    stack_name = args.stack_name or env.get("RELAY_STACK_NAME")
    state_file = Path(args.state_file or env.get("RELAY_STATE_FILE") or STATE_FILE)
    if stack_name:
        target = Target(
            endpoint, args.region or env_region, {}, origin=f"stack {stack_name}", profile=profile
        )
        target.outputs = _stack_outputs(target, stack_name)
    elif state_file.exists():
        state = json.loads(state_file.read_text(encoding="utf-8"))
        target = Target(
            endpoint or state["endpoint_url"],
            # The local stack's resources exist in the region it recorded, not AWS_REGION's.
            args.region or state.get("region") or env_region,
            dict(state.get("outputs") or {}),
            dict(state.get("subscribers") or {}),
            local=True,
            origin=f"the local stack of {state_file}",
            profile=args.profile,
        )
    else:
        target = Target(
            endpoint,
            args.region or env_region,
            {},
            local=endpoint is not None,
            found=False,
            profile=args.profile if endpoint else profile,
        )
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
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" not in error_text(error):
            raise
        raise UsageError(
            f"stack {stack_name} not found in region {target.session().region_name}: check "
            "--stack-name (or RELAY_STACK_NAME) and --region (or AWS_REGION / AWS_PROFILE)"
        ) from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def error_text(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {details.get('Message', '')}"


_FIXES: Final = (
    (
        ("NonExistentQueue", "QueueDoesNotExist", "ResourceNotFound"),
        "is that the stack and region you meant? (--stack-name, --region)",
    ),
    (
        ("AccessDenied", "UnauthorizedOperation", "AuthorizationError"),
        "these credentials may not do this: pass --profile with ones that may",
    ),
    (
        ("ExpiredToken", "RequestExpired"),
        "the credentials expired: refresh them (`aws sso login`, or your usual way)",
    ),
    (
        ("UnrecognizedClient", "InvalidClientTokenId", "SignatureDoesNotMatch"),
        "AWS does not know these credentials: check --profile / AWS_PROFILE, or `aws configure`",
    ),
)
"""AWS error codes (by part of their name) and what a user can do about them."""


def explain(error: ClientError | BotoCoreError, target: Target | None) -> str:
    """An AWS error as one line: what AWS said, the stack and region it concerned, the fix."""
    where = f" ({target.where()})" if target is not None else ""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        fix = next((text for codes, text in _FIXES if any(c in code for c in codes)), None)
        return f"AWS said {error_text(error)}{where}" + (f": {fix}" if fix else "")
    if isinstance(error, NoCredentialsError):
        return f"{NO_CREDENTIALS}{where}"
    if isinstance(error, EndpointConnectionError) and target is not None and target.local:
        return f"{error}{where}: is the local stack running (`make local`)?"
    return f"{error}{where}"
