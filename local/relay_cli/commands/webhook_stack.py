"""What `relay webhooks …` works on: the stack's endpoint, attempt and event tables, its
webhook queues and the key that seals signing secrets, each made when first used."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from activity_relay.adapters.dynamodb.attempts import DynamoDbDeliveryLedger
from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.adapters.dynamodb.events import DynamoDbEventStore
from activity_relay.adapters.kms_secrets import KmsSecretSealer
from activity_relay.adapters.sqs.batch import SqsBatchSender
from activity_relay.adapters.sqs.deliveries import SqsDeliveryQueue
from activity_relay.core.webhooks_out.endpoints import Endpoint, check_endpoint_id, new_endpoint_id
from activity_relay.core.webhooks_out.filters import check_filter
from activity_relay.core.webhooks_out.ports import WebhookConfigError
from activity_relay.core.webhooks_out.signing import SealedSecret, generate_secret
from relay_cli.sqs import SEND_ATTEMPTS
from relay_cli.target import Target, UsageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

# Stack Outputs the webhook commands read.
ENDPOINT_TABLE = "WebhookEndpointTableName"
ATTEMPT_TABLE = "WebhookAttemptTableName"
EVENT_TABLE = "WebhookEventTableName"
DELIVERY_QUEUE = "WebhookDeliveryQueueUrl"
EVENT_QUEUE = "WebhookEventQueueUrl"
DEAD_LETTERS = "WebhookDeadLetterQueueUrl"
SECRET_KEY = "WebhookSecretKeyArn"  # noqa: S105 - an Output's name


class WebhookStack:
    def __init__(self, target: Target) -> None:
        self.target = target

    @cached_property
    def sqs(self) -> SQSClient:
        return self.target.sqs()

    @cached_property
    def _dynamodb(self) -> DynamoDBClient:
        return self.target.dynamodb()

    @cached_property
    def endpoints(self) -> DynamoDbEndpointStore:
        return DynamoDbEndpointStore(self._dynamodb, self.target.output(ENDPOINT_TABLE))

    @cached_property
    def ledger(self) -> DynamoDbDeliveryLedger:
        return DynamoDbDeliveryLedger(self._dynamodb, self.target.output(ATTEMPT_TABLE))

    @cached_property
    def events(self) -> DynamoDbEventStore:
        return DynamoDbEventStore(self._dynamodb, self.target.output(EVENT_TABLE))

    @cached_property
    def queue(self) -> SqsDeliveryQueue:
        url = self.target.output(DELIVERY_QUEUE)
        sender = SqsBatchSender(self.sqs, url, attempts=SEND_ATTEMPTS)
        return SqsDeliveryQueue(self.sqs, url, sender)

    @cached_property
    def sealer(self) -> KmsSecretSealer:
        kms: Any = self.target.session().client("kms", endpoint_url=self.target.endpoint_url)
        return KmsSecretSealer(kms, self.target.output(SECRET_KEY))


def filter_policy(text: str | None) -> Mapping[str, Any]:
    """A `--filter` option: an SNS filter policy the fan-out evaluates; {} without one."""
    try:
        return check_filter(json.loads(text)) if text else {}
    except json.JSONDecodeError as error:
        raise UsageError(f"--filter is not JSON: {error}") from None
    except WebhookConfigError as error:
        raise UsageError(str(error)) from None


def register(
    stack: WebhookStack, url: str, policy: Mapping[str, Any], description: str
) -> tuple[str, str]:
    """A new endpoint for `url` (already checked), its secret sealed as it is stored: its id
    and the secret, which nothing keeps in the clear."""
    endpoint_id = new_endpoint_id()
    secret = generate_secret()
    stack.endpoints.add(
        Endpoint(
            endpoint_id=endpoint_id,
            url=url,
            secrets=(SealedSecret(stack.sealer.seal(endpoint_id, secret)),),
            filter_policy=policy,
            description=description,
            created_at=now(),
        )
    )
    return endpoint_id, secret


def endpoint_id_of(args: argparse.Namespace) -> str:
    try:
        return check_endpoint_id(args.endpoint_id.strip())
    except WebhookConfigError as error:
        raise UsageError(str(error)) from None


def disabled_text(endpoint: Endpoint) -> str:
    """ "disabled", with why when the endpoint says."""
    return f"disabled ({endpoint.disabled_reason})" if endpoint.disabled_reason else "disabled"


def existing(stack: WebhookStack, endpoint_id: str) -> Endpoint:
    endpoint = stack.endpoints.get(endpoint_id)
    if endpoint is None or endpoint.removed:
        raise UsageError(f"no endpoint {endpoint_id}")
    return endpoint


def existing_endpoint(args: argparse.Namespace, target: Target) -> tuple[WebhookStack, Endpoint]:
    """The stack and the endpoint a command names (`endpoint_id`), which must exist."""
    stack = WebhookStack(target)
    return stack, existing(stack, endpoint_id_of(args))


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
