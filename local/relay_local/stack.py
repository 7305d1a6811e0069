"""A local copy of the relay's stack, provisioned from ``template.yaml`` itself.

The template is the only declaration of the queues, the watermark table, the topic and the bus
(CONTRACT.md). This module reads it, resolves its parameters (defaults, or overrides), conditions
and intrinsic functions, and creates those resources with the boto3 clients it is given: under
``moto.mock_aws()`` in-process, or against a moto server (or any AWS-compatible) endpoint.

    clients = StackClients.create(region_name="us-east-1")          # inside moto.mock_aws()
    stack = provision_stack(clients, parameter_overrides={"MaxReceiveCount": 3})
    stack.contact_queue_url, stack.table_name, stack.topic_arn, stack.bus_name
    os.environ.update(stack.function_environment())                 # + LEADLEX_API_KEY yourself

Only what can run locally is created: ``AWS::SQS::Queue``, ``AWS::DynamoDB::Table``,
``AWS::SNS::Topic``, ``AWS::Events::EventBus``, ``AWS::Events::Archive`` and
``AWS::SecretsManager::Secret`` (its generated value: a random placeholder). The function, its
layer and log group are not; the function's environment is resolved against what was created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3
import yaml  # type: ignore[import-untyped, unused-ignore]

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "FUNCTION_ID",
    "PROVISIONED_TYPES",
    "SECRET_ID_VARIABLE",
    "TEMPLATE_PATH",
    "LocalStack",
    "ProvisionedResource",
    "StackClients",
    "TemplateError",
    "load_template",
    "provision_stack",
    "resolve_parameters",
]

TEMPLATE_PATH: Final = Path(__file__).resolve().parents[2] / "template.yaml"
"""The repository's template.yaml."""

FUNCTION_ID: Final = "SyncActivitiesFunction"
"""Logical id of the sync function in the template."""

SECRET_ID_VARIABLE: Final = "LEADLEX_API_KEY_SECRET_ID"  # noqa: S105 - a variable name
"""Left out of function_environment(): locally the key comes from LEADLEX_API_KEY."""

DEFAULT_ACCOUNT_ID: Final = "123456789012"
"""moto's account id; what ``AWS::AccountId`` resolves to unless told otherwise."""

PROVISIONED_TYPES: Final = frozenset(
    {
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::SNS::Topic",
        "AWS::Events::EventBus",
        "AWS::Events::Archive",
        # Webhooks out: the topic → queue subscription (raw delivery) and its queue policy.
        "AWS::SNS::Subscription",
        "AWS::SQS::QueuePolicy",
        "AWS::SecretsManager::Secret",
    }
)

# LocalStack field -> the template Output that names it.
_OUTPUT_FIELDS: Final = {
    "contact_queue_url": "ContactQueueUrl",
    "contact_queue_arn": "ContactQueueArn",
    "dead_letter_queue_url": "DeadLetterQueueUrl",
    "dead_letter_queue_arn": "DeadLetterQueueArn",
    "topic_arn": "TopicArn",
    "bus_name": "BusName",
    "bus_arn": "BusArn",
    "archive_name": "ArchiveName",
    "table_name": "TableName",
}


class TemplateError(Exception):
    """The template (or a parameter override) cannot be provisioned locally."""


class _Unresolvable(TemplateError):
    """A value refers to something that does not exist locally (e.g. the Lambda function)."""


# --- Reading the template ------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """SafeLoader that reads CloudFormation short forms (!Ref, !GetAtt, !Sub, ...) as long ones."""


def _construct_short_form(loader: Any, tag_suffix: str, node: Any) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_short_form)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, short-form tags turned into their long forms."""
    with Path(path).open(encoding="utf-8") as stream:
        loaded = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(loaded, dict) or not isinstance(loaded.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return loaded


def resolve_parameters(
    template: Mapping[str, Any], overrides: Mapping[str, str | int] | None = None
) -> dict[str, str | None]:
    """Every template parameter's value: the override, else the default, else None.

    Overrides are checked as CloudFormation would (AllowedValues, MinValue/MaxValue,
    AllowedPattern, MinLength); a name the template does not declare is an error.
    """
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    unknown = sorted(set(overrides or {}) - set(declared))
    if unknown:
        raise TemplateError(f"unknown parameter(s): {', '.join(unknown)}")
    values: dict[str, str | None] = {}
    for name, spec in declared.items():
        if overrides and name in overrides:
            value: str | None = str(overrides[name])
        elif "Default" in spec:
            value = _scalar_str(spec["Default"])
        else:
            value = None
        if value is not None:
            _check_parameter(name, spec, value)
        values[name] = value
    return values


def _check_parameter(name: str, spec: Mapping[str, Any], value: str) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in {_scalar_str(v) for v in allowed}:
        raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise TemplateError(f"parameter {name}={value!r} is not a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"parameter {name}={value} is below {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"parameter {name}={value} is above {spec['MaxValue']}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise TemplateError(f"parameter {name} is shorter than {spec['MinLength']}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")


# --- Resolving intrinsic functions ---------------------------------------------------------------

_NO_VALUE: Final = object()
_SUB_VARIABLE: Final = re.compile(r"\$\{(!?)([^}]+)\}")


@dataclass(frozen=True)
class ProvisionedResource:
    """One created resource: what ``Ref`` and ``Fn::GetAtt`` give for it."""

    logical_id: str
    type: str
    ref: str
    attributes: Mapping[str, str]


class _Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::If, ... against parameters and created resources."""

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str | None],
        pseudo: Mapping[str, str],
        resources: Mapping[str, ProvisionedResource],
    ) -> None:
        self._template = template
        self._parameters = parameters
        self._pseudo = pseudo
        self._resources = resources

    def resolve(self, value: Any) -> Any:
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def condition(self, name: str) -> bool:
        conditions: Mapping[str, Any] = self._template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition {name}")
        return self._condition_value(conditions[name])

    def _condition_value(self, expression: Any) -> bool:
        if isinstance(expression, Mapping) and len(expression) == 1:
            ((function, argument),) = expression.items()
            if function == "Condition":
                return self.condition(str(argument))
            if function == "Fn::Equals":
                left, right = (_scalar_str(self._resolve(item)) for item in argument)
                return left == right
            if function == "Fn::Not":
                return not self._condition_value(argument[0])
            if function == "Fn::And":
                return all(self._condition_value(item) for item in argument)
            if function == "Fn::Or":
                return any(self._condition_value(item) for item in argument)
        raise TemplateError(f"unsupported condition expression: {expression!r}")

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = (self._resolve(item) for item in value)
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = self._functions.get(key)
            if handler is not None:
                return handler(self, argument)
            if key.startswith("Fn::"):
                raise TemplateError(f"intrinsic function {key} is not supported locally")
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _ref(self, name: Any) -> Any:
        name = str(name)
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            value = self._parameters[name]
            if value is None:
                raise TemplateError(f"parameter {name} has no default; pass it as an override")
            return value
        if name in self._resources:
            return self._resources[name].ref
        raise _Unresolvable(f"Ref {name}: not a parameter or a locally provisioned resource")

    def _get_att(self, argument: Any) -> Any:
        logical_id, attribute = (str(part) for part in self._resolve(argument))
        resource = self._resources.get(logical_id)
        if resource is None:
            raise _Unresolvable(f"GetAtt {logical_id}.{attribute}: not provisioned locally")
        try:
            return resource.attributes[attribute]
        except KeyError:
            raise TemplateError(
                f"GetAtt {logical_id}.{attribute}: attribute unknown locally "
                f"(known: {', '.join(sorted(resource.attributes))})"
            ) from None

    def _sub(self, argument: Any) -> Any:
        if isinstance(argument, list):
            text, variables = str(argument[0]), self._resolve(argument[1])
        else:
            text, variables = str(argument), {}

        def replace(match: re.Match[str]) -> str:
            literal, name = match.groups()
            if literal:
                return "${" + name + "}"
            if name in variables:
                return _scalar_str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return _scalar_str(self._get_att(name.split(".", 1)))
            return _scalar_str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(str(name)) else when_false)

    def _join(self, argument: Any) -> Any:
        delimiter, items = argument
        return str(delimiter).join(_scalar_str(item) for item in self._resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        return self._resolve(items)[int(_scalar_str(self._resolve(index)))]

    def _split(self, argument: Any) -> Any:
        delimiter, text = argument
        return _scalar_str(self._resolve(text)).split(str(delimiter))

    def _find_in_map(self, argument: Any) -> Any:
        map_name, top_key, second_key = (_scalar_str(part) for part in self._resolve(argument))
        mappings: Mapping[str, Any] = self._template.get("Mappings") or {}
        try:
            top = {str(key): item for key, item in mappings[map_name].items()}
            return self._resolve(top[top_key][second_key])
        except KeyError:
            raise TemplateError(
                f"FindInMap {map_name}/{top_key}/{second_key}: no such entry"
            ) from None

    _functions: Final[Mapping[str, Callable[[_Resolver, Any], Any]]] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::If": _if,
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::FindInMap": _find_in_map,
    }


def _scalar_str(value: Any) -> str:
    """A template scalar as CloudFormation passes it on: booleans lower-case, numbers as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"expected a scalar, got {value!r}")


# --- The result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackClients:
    """The boto3 clients a local stack is created with (same region, same endpoint)."""

    sqs: SQSClient
    dynamodb: DynamoDBClient
    sns: SNSClient
    events: EventBridgeClient
    secretsmanager: SecretsManagerClient | None = None

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
        )


@dataclass(frozen=True)
class LocalStack:
    """Physical names of a provisioned local stack, named after the template's Outputs.

    ``outputs`` holds every Output that resolves locally (keyed as in the template); the fields
    below are the ones the relay's code and tests use.
    """

    stack_name: str
    region: str
    account_id: str
    contact_queue_url: str
    contact_queue_arn: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    topic_arn: str
    bus_name: str
    bus_arn: str
    archive_name: str
    table_name: str
    fifo_topic: bool
    outputs: Mapping[str, str]
    parameters: Mapping[str, str | None]
    resources: Mapping[str, ProvisionedResource]
    template: Mapping[str, Any] = field(repr=False, compare=False)

    def resolve(self, value: Any) -> Any:
        """Evaluate a template fragment (e.g. a property) against this stack."""
        return self._resolver().resolve(value)

    def function_environment(self, function_id: str = FUNCTION_ID) -> dict[str, str]:
        """The function's environment as the template declares it (Globals merged in), resolved
        against this stack. ``LEADLEX_API_KEY_SECRET_ID`` is left out: locally the key itself goes
        in ``LEADLEX_API_KEY``, which the caller sets."""
        resources: Mapping[str, Any] = self.template["Resources"]
        if function_id not in resources:
            raise TemplateError(f"no resource {function_id} in the template")
        global_function = (self.template.get("Globals") or {}).get("Function") or {}
        declared: dict[str, Any] = {
            **((global_function.get("Environment") or {}).get("Variables") or {}),
            **(
                (resources[function_id].get("Properties", {}).get("Environment") or {}).get(
                    "Variables"
                )
                or {}
            ),
        }
        declared.pop(SECRET_ID_VARIABLE, None)
        resolver = self._resolver()
        environment: dict[str, str] = {}
        for name, value in declared.items():
            resolved = resolver.resolve(value)
            if resolved is not None:
                environment[name] = _scalar_str(resolved)
        return environment

    def _resolver(self) -> _Resolver:
        return _Resolver(
            self.template,
            self.parameters,
            _pseudo(self.stack_name, self.region, self.account_id),
            self.resources,
        )


# --- Provisioning --------------------------------------------------------------------------------


def provision_stack(
    clients: StackClients,
    *,
    template_path: Path | str = TEMPLATE_PATH,
    parameter_overrides: Mapping[str, str | int] | None = None,
    stack_name: str = "relay-local",
    fifo_topic: bool = False,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> LocalStack:
    """Create the template's queues, table, topic, bus and archive; return their physical names.

    Physical names are ``<stack_name>-<LogicalId>`` unless the template names a resource itself
    (resolved with ``AWS::StackName`` = ``stack_name``), so use a distinct ``stack_name`` per
    stack on a shared endpoint. ``fifo_topic`` creates the topics as FIFO (``.fifo`` name,
    ``FifoTopic``, ``ContentBasedDeduplication`` false) for tests of the FIFO path.
    """
    template = load_template(template_path)
    parameters = resolve_parameters(template, parameter_overrides)
    region = clients.sqs.meta.region_name
    resources: dict[str, ProvisionedResource] = {}
    resolver = _Resolver(template, parameters, _pseudo(stack_name, region, account_id), resources)
    creator = _Creator(clients, stack_name, fifo_topic)

    for logical_id in _creation_order(template, resolver):
        declaration = template["Resources"][logical_id]
        properties = resolver.resolve(declaration.get("Properties") or {})
        resources[logical_id] = creator.create(logical_id, declaration["Type"], properties)

    outputs: dict[str, str] = {}
    for name, output in (template.get("Outputs") or {}).items():
        if "Condition" in output and not resolver.condition(output["Condition"]):
            continue
        try:
            outputs[name] = _scalar_str(resolver.resolve(output["Value"]))
        except _Unresolvable:
            continue  # e.g. the function's name: not created locally
    missing = sorted(set(_OUTPUT_FIELDS.values()) - set(outputs))
    if missing:
        raise TemplateError(f"template Outputs missing or not provisionable: {', '.join(missing)}")

    return LocalStack(
        stack_name=stack_name,
        region=region,
        account_id=account_id,
        fifo_topic=fifo_topic,
        outputs=outputs,
        parameters=parameters,
        resources=dict(resources),
        template=template,
        **{attribute: outputs[output] for attribute, output in _OUTPUT_FIELDS.items()},
    )


def _pseudo(stack_name: str, region: str, account_id: str) -> dict[str, str]:
    return {
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
    }


def _creation_order(template: Mapping[str, Any], resolver: _Resolver) -> list[str]:
    """Provisionable resources (whose Condition holds), each after those it refers to."""
    declared: Mapping[str, Any] = template["Resources"]
    wanted = [
        logical_id
        for logical_id, declaration in declared.items()
        if declaration.get("Type") in PROVISIONED_TYPES
        and ("Condition" not in declaration or resolver.condition(declaration["Condition"]))
    ]
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in order:
            return
        if logical_id in visiting:
            raise TemplateError(f"circular reference through {logical_id}")
        visiting.add(logical_id)
        declaration = declared[logical_id]
        depends_on = declaration.get("DependsOn") or []
        references = _references(declaration.get("Properties")) | set(
            [depends_on] if isinstance(depends_on, str) else depends_on
        )
        for other in sorted(references & set(wanted)):
            visit(other)
        visiting.discard(logical_id)
        order.append(logical_id)

    for logical_id in wanted:
        visit(logical_id)
    return order


def _references(value: Any) -> set[str]:
    """Logical ids (or parameter names) a template fragment refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Ref":
                found.add(str(item))
            elif key == "Fn::GetAtt":
                parts = item.split(".", 1) if isinstance(item, str) else item
                found.add(str(parts[0]))
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {
                    name.split(".", 1)[0]
                    for literal, name in _SUB_VARIABLE.findall(str(text))
                    if not literal
                }
                if isinstance(item, list):
                    found |= _references(item[1:])
            else:
                found |= _references(item)
    return found


class _Creator:
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

    def __init__(self, clients: StackClients, stack_name: str, fifo_topic: bool) -> None:
        self._clients = clients
        self._stack_name = stack_name
        self._fifo_topic = fifo_topic

    def create(
        self, logical_id: str, type_: str, properties: dict[str, Any]
    ) -> ProvisionedResource:
        if type_ == "AWS::SQS::Queue":
            return self._queue(logical_id, properties)
        if type_ == "AWS::DynamoDB::Table":
            return self._table(logical_id, properties)
        if type_ == "AWS::SNS::Topic":
            return self._topic(logical_id, properties)
        if type_ == "AWS::Events::EventBus":
            return self._bus(logical_id, properties)
        if type_ == "AWS::Events::Archive":
            return self._archive(logical_id, properties)
        if type_ == "AWS::SNS::Subscription":
            return self._subscription(logical_id, properties)
        if type_ == "AWS::SQS::QueuePolicy":
            return self._queue_policy(logical_id, properties)
        if type_ == "AWS::SecretsManager::Secret":
            return self._secret(logical_id, properties)
        raise TemplateError(f"{logical_id}: type {type_} is not provisioned locally")

    def _default_name(self, logical_id: str) -> str:
        return f"{self._stack_name}-{logical_id}"

    def _queue(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        fifo = _scalar_str(properties.get("FifoQueue", False)) == "true"
        name = str(properties.get("QueueName") or self._default_name(logical_id))
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes: dict[str, str] = {
            key: _scalar_str(properties[key]) for key in self._QUEUE_ATTRIBUTES if key in properties
        }
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in properties:
                attributes[key] = json.dumps(_redrive_policy(properties[key]))
        sqs = self._clients.sqs
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return ProvisionedResource(
            logical_id, "AWS::SQS::Queue", url, {"Arn": arn, "QueueName": name, "QueueUrl": url}
        )

    def _table(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
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
                "Enabled": _scalar_str(sse.get("SSEEnabled", False)) == "true",
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
        if _scalar_str(pitr.get("PointInTimeRecoveryEnabled", False)) == "true":
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        ttl = properties.get("TimeToLiveSpecification") or {}
        if _scalar_str(ttl.get("Enabled", False)) == "true":
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return ProvisionedResource(logical_id, "AWS::DynamoDB::Table", name, attributes)

    def _topic(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        fifo = self._fifo_topic or _scalar_str(properties.get("FifoTopic", False)) == "true"
        name = str(properties.get("TopicName") or self._default_name(logical_id))
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes: dict[str, str] = {
            key: _scalar_str(properties[key])
            for key in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication")
            if key in properties
        }
        if self._fifo_topic:
            attributes |= {"FifoTopic": "true", "ContentBasedDeduplication": "false"}
        arn = self._clients.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return ProvisionedResource(
            logical_id, "AWS::SNS::Topic", arn, {"TopicArn": arn, "TopicName": name}
        )

    def _bus(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        name = str(properties.get("Name") or self._default_name(logical_id))
        request: dict[str, Any] = {"Name": name}
        if "Description" in properties:
            request["Description"] = str(properties["Description"])
        arn = self._clients.events.create_event_bus(**request)["EventBusArn"]
        return ProvisionedResource(
            logical_id, "AWS::Events::EventBus", name, {"Arn": arn, "Name": name}
        )

    def _subscription(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        return _create_subscription(self._clients, logical_id, properties)

    def _queue_policy(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        return _create_queue_policy(self._clients, logical_id, properties)

    def _archive(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        # Archive names: at most 48 characters of [.-_A-Za-z0-9].
        name = str(properties.get("ArchiveName") or self._default_name(logical_id))[:48]
        request: dict[str, Any] = {"ArchiveName": name, "EventSourceArn": properties["SourceArn"]}
        if "Description" in properties:
            request["Description"] = str(properties["Description"])
        if "EventPattern" in properties:
            pattern = properties["EventPattern"]
            request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if "RetentionDays" in properties:
            request["RetentionDays"] = int(_scalar_str(properties["RetentionDays"]))
        arn = self._clients.events.create_archive(**request)["ArchiveArn"]
        return ProvisionedResource(logical_id, "AWS::Events::Archive", name, {"Arn": arn})

    def _secret(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        client = self._clients.secretsmanager
        if client is None:
            raise TemplateError(f"{logical_id}: no Secrets Manager client to create it with")
        name = str(properties.get("Name") or self._default_name(logical_id))
        value = properties.get("SecretString")
        if value is None:
            generate = properties.get("GenerateSecretString") or {}
            value = client.get_random_password(
                PasswordLength=int(_scalar_str(generate.get("PasswordLength", 32))),
                ExcludePunctuation=_scalar_str(generate.get("ExcludePunctuation", False)) == "true",
            )["RandomPassword"]
        request: dict[str, Any] = {"Name": name, "SecretString": str(value)}
        if "Description" in properties:
            request["Description"] = str(properties["Description"])
        arn = client.create_secret(**request)["ARN"]
        # Ref of a secret is its ARN, as in CloudFormation.
        return ProvisionedResource(logical_id, "AWS::SecretsManager::Secret", arn, {"Id": arn})


# --- Subscriptions and queue policies (webhooks out) ------------------------------------------

_SUBSCRIPTION_ATTRIBUTES: Final = (
    "RawMessageDelivery",
    "FilterPolicy",
    "FilterPolicyScope",
    "RedrivePolicy",
    "DeliveryPolicy",
)


def _create_subscription(
    clients: StackClients, logical_id: str, properties: dict[str, Any]
) -> ProvisionedResource:
    attributes: dict[str, str] = {}
    for key in _SUBSCRIPTION_ATTRIBUTES:
        if key in properties:
            value = properties[key]
            attributes[key] = (
                value
                if isinstance(value, str)
                else (_scalar_str(value) if isinstance(value, bool) else json.dumps(value))
            )
    arn = clients.sns.subscribe(
        TopicArn=str(properties["TopicArn"]),
        Protocol=str(properties["Protocol"]),
        Endpoint=str(properties["Endpoint"]),
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return ProvisionedResource(logical_id, "AWS::SNS::Subscription", arn, {"Arn": arn})


def _create_queue_policy(
    clients: StackClients, logical_id: str, properties: dict[str, Any]
) -> ProvisionedResource:
    policy = properties["PolicyDocument"]
    text = policy if isinstance(policy, str) else json.dumps(policy)
    for queue_url in properties["Queues"]:
        clients.sqs.set_queue_attributes(QueueUrl=str(queue_url), Attributes={"Policy": text})
    return ProvisionedResource(logical_id, "AWS::SQS::QueuePolicy", logical_id, {})


def _redrive_policy(policy: Any) -> Any:
    """A RedrivePolicy as SQS wants it: JSON with maxReceiveCount a number."""
    if isinstance(policy, str):
        policy = json.loads(policy)
    if isinstance(policy, Mapping) and "maxReceiveCount" in policy:
        return {**policy, "maxReceiveCount": int(_scalar_str(policy["maxReceiveCount"]))}
    return policy


def _with_int_throughput(index: Mapping[str, Any]) -> dict[str, Any]:
    if "ProvisionedThroughput" not in index:
        return dict(index)
    return {**index, "ProvisionedThroughput": _throughput(index["ProvisionedThroughput"])}


def _throughput(throughput: Mapping[str, Any]) -> dict[str, int]:
    return {
        "ReadCapacityUnits": int(_scalar_str(throughput["ReadCapacityUnits"])),
        "WriteCapacityUnits": int(_scalar_str(throughput["WriteCapacityUnits"])),
    }
