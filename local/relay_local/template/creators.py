"""The per-type creators: one resource of the template, its Properties resolved, made real.

``ResourceCreator.create`` sends the requests that make one resource with the boto3 clients of a
``StackClients`` (moto in-process, a moto server, or any AWS-compatible endpoint) and returns what
``Ref`` and ``Fn::GetAtt`` give for it. Only the types of ``PROVISIONED_TYPES`` run locally.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import boto3

from relay_local.template.interpreter import ProvisionedResource, TemplateError, scalar_str

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["LOCALLY_IGNORED", "PROVISIONED_TYPES", "ResourceCreator", "StackClients"]

# What a creator gives back: the resource's Ref, and its Fn::GetAtt attributes by name.
_Created = tuple[str, Mapping[str, str]]


@dataclass(frozen=True)
class StackClients:
    """The boto3 clients a local stack is created with (same region, same endpoint)."""

    sqs: SQSClient
    dynamodb: DynamoDBClient
    sns: SNSClient
    events: EventBridgeClient
    secretsmanager: SecretsManagerClient | None = None
    kms: Any = None  # KMS (no stubs in the dev set): the webhook secrets' key

    @classmethod
    def create(
        cls,
        *,
        region_name: str = "us-east-1",
        endpoint_url: str | None = None,
        session: boto3.session.Session | None = None,
    ) -> StackClients:
        """Clients from ``session`` (default: a new boto3 session), optionally for an endpoint."""
        session = session or boto3.session.Session()
        return cls(
            sqs=session.client("sqs", region_name=region_name, endpoint_url=endpoint_url),
            dynamodb=session.client("dynamodb", region_name=region_name, endpoint_url=endpoint_url),
            sns=session.client("sns", region_name=region_name, endpoint_url=endpoint_url),
            events=session.client("events", region_name=region_name, endpoint_url=endpoint_url),
            secretsmanager=session.client(
                "secretsmanager", region_name=region_name, endpoint_url=endpoint_url
            ),
            kms=session.client("kms", region_name=region_name, endpoint_url=endpoint_url),
        )


class ResourceCreator:
    """Creates one resource of each supported type from its resolved Properties."""

    _QUEUE_ATTRIBUTES: Final[tuple[str, ...]] = (
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "MaximumMessageSize",
        "ReceiveMessageWaitTimeSeconds",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "SqsManagedSseEnabled",
        "FifoQueue",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
    )
    _SUBSCRIPTION_ATTRIBUTES: Final[tuple[str, ...]] = (
        "RawMessageDelivery",
        "FilterPolicy",
        "FilterPolicyScope",
        "RedrivePolicy",
        "DeliveryPolicy",
    )

    def __init__(self, clients: StackClients, stack_name: str, fifo_topic: bool) -> None:
        self._clients = clients
        self._stack_name = stack_name
        self._fifo_topic = fifo_topic

    def create(
        self, logical_id: str, type_: str, properties: dict[str, Any]
    ) -> ProvisionedResource:
        create = self._BY_TYPE.get(type_)
        if create is None:
            raise TemplateError(f"{logical_id}: type {type_} is not provisioned locally")
        ref, attributes = create(self, logical_id, properties)
        return ProvisionedResource(logical_id, type_, ref, attributes)

    def _default_name(self, logical_id: str) -> str:
        return f"{self._stack_name}-{logical_id}"

    def _queue(self, logical_id: str, properties: dict[str, Any]) -> _Created:
        fifo = scalar_str(properties.get("FifoQueue", False)) == "true"
        name = str(properties.get("QueueName") or self._default_name(logical_id))
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes: dict[str, str] = {
            key: scalar_str(properties[key]) for key in self._QUEUE_ATTRIBUTES if key in properties
        }
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in properties:
                attributes[key] = json.dumps(_redrive_policy(properties[key]))
        sqs = self._clients.sqs
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, {"Arn": arn, "QueueName": name, "QueueUrl": url}

    def _table(self, logical_id: str, properties: dict[str, Any]) -> _Created:
        name = str(properties.get("TableName") or self._default_name(logical_id))
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": properties.get("BillingMode", "PROVISIONED"),
        }
        if "ProvisionedThroughput" in properties:
            request["ProvisionedThroughput"] = _throughput(properties["ProvisionedThroughput"])
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if key in properties:
                request[key] = [_with_int_throughput(index) for index in properties[key]]
        if "SSESpecification" in properties:
            sse = properties["SSESpecification"]
            request["SSESpecification"] = {
                "Enabled": scalar_str(sse.get("SSEEnabled", False)) == "true",
                **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
                **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}),
            }
        if "StreamSpecification" in properties:
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": properties["StreamSpecification"]["StreamViewType"],
            }
        dynamodb = self._clients.dynamodb
        table = dynamodb.create_table(**request)["TableDescription"]
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        pitr = properties.get("PointInTimeRecoverySpecification") or {}
        if scalar_str(pitr.get("PointInTimeRecoveryEnabled", False)) == "true":
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        ttl = properties.get("TimeToLiveSpecification") or {}
        if scalar_str(ttl.get("Enabled", False)) == "true":
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return name, attributes

    def _topic(self, logical_id: str, properties: dict[str, Any]) -> _Created:
        fifo = self._fifo_topic or scalar_str(properties.get("FifoTopic", False)) == "true"
        name = str(properties.get("TopicName") or self._default_name(logical_id))
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes: dict[str, str] = {
            key: scalar_str(properties[key])
            for key in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication")
            if key in properties
        }
        if self._fifo_topic:
            attributes |= {"FifoTopic": "true", "ContentBasedDeduplication": "false"}
        arn = self._clients.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return arn, {"TopicArn": arn, "TopicName": name}

    def _bus(self, logical_id: str, properties: dict[str, Any]) -> _Created:
        name = str(properties.get("Name") or self._default_name(logical_id))
        request: dict[str, Any] = {"Name": name}
        if "Description" in properties:
            request["Description"] = str(properties["Description"])
        arn = self._clients.events.create_event_bus(**request)["EventBusArn"]
        return name, {"Arn": arn, "Name": name}

    def _archive(self, logical_id: str, properties: dict[str, Any]) -> _Created:
        # Archive names: at most 48 characters of [.-_A-Za-z0-9].
        name = str(properties.get("ArchiveName") or self._default_name(logical_id))[:48]
        request: dict[str, Any] = {"ArchiveName": name, "EventSourceArn": properties["SourceArn"]}
        if "Description" in properties:
            request["Description"] = str(properties["Description"])
        if "EventPattern" in properties:
            pattern = properties["EventPattern"]
            request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if "RetentionDays" in properties:
            request["RetentionDays"] = int(scalar_str(properties["RetentionDays"]))
        arn = self._clients.events.create_archive(**request)["ArchiveArn"]
        return name, {"Arn": arn}

    def _secret(self, logical_id: str, properties: dict[str, Any]) -> _Created:
        client = self._clients.secretsmanager
        if client is None:
            raise TemplateError(f"{logical_id}: no Secrets Manager client to create it with")
        name = str(properties.get("Name") or self._default_name(logical_id))
        value = properties.get("SecretString")
        if value is None:
            generate = properties.get("GenerateSecretString") or {}
            value = client.get_random_password(
                PasswordLength=int(scalar_str(generate.get("PasswordLength", 32))),
                ExcludePunctuation=scalar_str(generate.get("ExcludePunctuation", False)) == "true",
            )["RandomPassword"]
        request: dict[str, Any] = {"Name": name, "SecretString": str(value)}
        if "Description" in properties:
            request["Description"] = str(properties["Description"])
        arn = client.create_secret(**request)["ARN"]
        # Ref of a secret is its ARN, as in CloudFormation.
        return arn, {"Id": arn}

    def _key(self, logical_id: str, properties: dict[str, Any]) -> _Created:
        """A symmetric KMS key. Its KeyPolicy is not sent (see LOCALLY_IGNORED): it names the
        delivery function's role, which is not created locally, and moto does not enforce key
        policies anyway."""
        if self._clients.kms is None:
            raise TemplateError(f"{logical_id}: no KMS client to create it with")
        request: dict[str, Any] = {}
        if "Description" in properties:
            request["Description"] = str(properties["Description"])
        metadata = self._clients.kms.create_key(**request)["KeyMetadata"]
        if scalar_str(properties.get("EnableKeyRotation", False)) == "true":
            self._clients.kms.enable_key_rotation(KeyId=metadata["KeyId"])
        return str(metadata["KeyId"]), {"Arn": str(metadata["Arn"]), "KeyId": metadata["KeyId"]}

    # Webhooks out: the topic → queue subscription (raw delivery) and its queue policy.

    def _subscription(self, logical_id: str, properties: dict[str, Any]) -> _Created:
        attributes: dict[str, str] = {}
        for key in self._SUBSCRIPTION_ATTRIBUTES:
            if key in properties:
                value = properties[key]
                attributes[key] = (
                    value
                    if isinstance(value, str)
                    else (scalar_str(value) if isinstance(value, bool) else json.dumps(value))
                )
        arn = self._clients.sns.subscribe(
            TopicArn=str(properties["TopicArn"]),
            Protocol=str(properties["Protocol"]),
            Endpoint=str(properties["Endpoint"]),
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return arn, {"Arn": arn}

    def _queue_policy(self, logical_id: str, properties: dict[str, Any]) -> _Created:
        policy = properties["PolicyDocument"]
        text = policy if isinstance(policy, str) else json.dumps(policy)
        for queue_url in properties["Queues"]:
            self._clients.sqs.set_queue_attributes(
                QueueUrl=str(queue_url), Attributes={"Policy": text}
            )
        return logical_id, {}

    _BY_TYPE: Final[Mapping[str, Callable[[ResourceCreator, str, dict[str, Any]], _Created]]] = {
        "AWS::SQS::Queue": _queue,
        "AWS::DynamoDB::Table": _table,
        "AWS::SNS::Topic": _topic,
        "AWS::Events::EventBus": _bus,
        "AWS::Events::Archive": _archive,
        "AWS::SNS::Subscription": _subscription,
        "AWS::SQS::QueuePolicy": _queue_policy,
        "AWS::SecretsManager::Secret": _secret,
        "AWS::KMS::Key": _key,
    }


LOCALLY_IGNORED: Final[Mapping[str, frozenset[str]]] = {
    "AWS::KMS::Key": frozenset({"KeyPolicy"}),
}
"""Properties left unresolved and unsent locally, by type: they name resources that are not
created locally (a function's role) and change nothing moto enforces."""

PROVISIONED_TYPES: Final = frozenset(ResourceCreator._BY_TYPE)
"""The resource types created locally; the template's others (functions, alarms, ...) are not."""


def _redrive_policy(policy: Any) -> Any:
    """A RedrivePolicy as SQS wants it: JSON with maxReceiveCount a number."""
    if isinstance(policy, str):
        policy = json.loads(policy)
    if isinstance(policy, Mapping) and "maxReceiveCount" in policy:
        return {**policy, "maxReceiveCount": int(scalar_str(policy["maxReceiveCount"]))}
    return policy


def _with_int_throughput(index: Mapping[str, Any]) -> dict[str, Any]:
    if "ProvisionedThroughput" not in index:
        return dict(index)
    return {**index, "ProvisionedThroughput": _throughput(index["ProvisionedThroughput"])}


def _throughput(throughput: Mapping[str, Any]) -> dict[str, int]:
    return {
        "ReadCapacityUnits": int(scalar_str(throughput["ReadCapacityUnits"])),
        "WriteCapacityUnits": int(scalar_str(throughput["WriteCapacityUnits"])),
    }
