"""Each function's role grants what the function calls, on its own resources, and nothing more.

The roles are read from the template as CloudFormation receives it (SAM's transform, offline:
relay_local/template/expanded.py), since SAM adds to what template.yaml says (a managed policy
per event type, among them AWSLambdaSQSQueueExecutionRole: receive and delete on every queue of
the account). What each function calls is recorded while its handler runs on moto through
scenarios that reach its calls: a new call in the code is accepted as soon as the role grants it
and a scenario here makes it; an action no scenario calls fails as unused.

Granted without a call in the code, for the platform: logs to the function's own log group,
X-Ray's two write actions (no resource-level permissions exist for them, hence "*", the one
wildcard accepted), and what Lambda's event source mapping needs on the function's own SQS
event queues. Of the managed policies SAM attaches to the roles it generates, only
AWSLambdaBasicExecutionRole (log writes) and AWSXrayWriteOnlyAccess are accepted.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
import botocore.client
import botocore.session
import pytest

from activity_relay.runtime import registry
from leadlex_sandbox import SandboxServer
from relay_local.template import LocalStack
from relay_local.template.expanded import expanded_template
from relay_local.webhook_receiver import WebhookReceiver
from tests.support.lambdas import LambdaContext, deploy_sync_function, invoke, sqs_event
from tests.support.receiver import CONTACT, delivery, post
from tests.support.receiver import deploy as deploy_receiver
from tests.support.state_table import DynamoDbStateTable
from tests.support.sweep_function import SCHEDULED_EVENT, contact, quota, sweep_app
from tests.support.webhook_functions import Webhooks, deploy_webhook_functions

pytestmark = pytest.mark.integration

ACCEPTED_MANAGED_POLICIES = {
    # SAM attaches these to every role it generates: log writes, and X-Ray writes.
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    },
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    },
}
PLATFORM = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
EVENT_SOURCE_MAPPING = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
# Operations whose IAM action has another name.
IAM_ACTION = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sns:PublishBatch": "sns:Publish",
}
# A secret named rather than given by ARN is matched with the suffix Secrets Manager appends.
SECRET_SUFFIX = "-??????"


# --- what the role grants --------------------------------------------------------------------


@cache
def expanded() -> dict[str, Any]:
    return expanded_template()


def functions() -> list[str]:
    return sorted(
        logical_id
        for logical_id, resource in expanded()["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    )


def role_of(function_id: str) -> dict[str, Any]:
    role = expanded()["Resources"][function_id]["Properties"]["Role"]
    assert "Fn::GetAtt" in role, f"{function_id}: its role is not one of the template's"
    resource: dict[str, Any] = expanded()["Resources"][role["Fn::GetAtt"][0]]
    return resource


def branches(value: Any) -> list[Any]:
    """Both sides of an Fn::If (AWS::NoValue dropped), else the value itself."""
    if isinstance(value, dict) and "Fn::If" in value:
        return [v for branch in value["Fn::If"][1:] for v in branches(branch)]
    if value == {"Ref": "AWS::NoValue"}:
        return []
    return [value]


def statements(function_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in role_of(function_id)["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            found += branches(statement)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcards(resource: Any) -> list[str]:
    """The resource patterns of `resource` that match more than one named resource."""
    found: list[str] = []
    for value in branches(resource):
        if isinstance(value, list):
            found += [w for item in value for w in wildcards(item)]
        elif isinstance(value, str):
            text = value.removesuffix(SECRET_SUFFIX)
            if "*" in text or "?" in text:
                found.append(value)
        elif isinstance(value, dict) and "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text = re.sub(r"\$\{[^}]*\}", "", sub if isinstance(sub, str) else sub[0])
            if "*" in text.removesuffix(SECRET_SUFFIX) or "?" in text.removesuffix(SECRET_SUFFIX):
                found.append(json.dumps(value))
            if isinstance(sub, list):
                found += [w for v in sub[1].values() for w in wildcards(v)]
    return found


@cache
def operations(prefix: str) -> frozenset[str]:
    """The IAM actions of a service, from botocore's model of it (operation names)."""
    service = {"events": "events", "logs": "logs", "xray": "xray"}.get(prefix, prefix)
    model = botocore.session.get_session().get_service_model(service)
    return frozenset(
        IAM_ACTION.get(f"{prefix}:{name}", f"{prefix}:{name}") for name in model.operation_names
    )


def actions(statement: dict[str, Any]) -> set[str]:
    granted: set[str] = set()
    for action in as_list(statement["Action"]):
        prefix = action.split(":", 1)[0]
        if "*" in action:
            granted |= {a for a in operations(prefix) if fnmatch.fnmatchcase(a, action)}
        else:
            granted.add(action)
    return granted


def granted(function_id: str) -> set[str]:
    role = role_of(function_id)["Properties"]
    every: set[str] = set()
    for arn in role.get("ManagedPolicyArns", []):
        assert arn in ACCEPTED_MANAGED_POLICIES, f"{function_id}: managed policy {arn}"
        every |= ACCEPTED_MANAGED_POLICIES[arn]
    for statement in statements(function_id):
        assert statement["Effect"] == "Allow"
        every |= actions(statement)
    return every | key_policy_grants(function_id)


def key_policy_grants(function_id: str) -> set[str]:
    """What the template's KMS keys allow the function's role by name, in their key policies
    (the webhook secrets' key lets the delivery function's role alone decrypt, a grant the role
    cannot hold itself without a circular reference between the two)."""
    role = expanded()["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    principal = {"AWS": {"Fn::GetAtt": [role, "Arn"]}}
    found: set[str] = set()
    for resource in expanded()["Resources"].values():
        if resource["Type"] != "AWS::KMS::Key":
            continue
        for statement in resource["Properties"]["KeyPolicy"]["Statement"]:
            if statement["Effect"] == "Allow" and statement["Principal"] == principal:
                found |= set(as_list(statement["Action"]))
    return found


def has_sqs_events(function_id: str) -> bool:
    return any(
        resource["Type"] == "AWS::Lambda::EventSourceMapping"
        and resource["Properties"]["FunctionName"] == {"Ref": function_id}
        for resource in expanded()["Resources"].values()
    )


# --- what the function calls -----------------------------------------------------------------


class Calls:
    """The AWS calls made while `recording`, as IAM actions."""

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self.on = False

    def wrap(self, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """`handler`, recording while it runs (a trigger's own receives and deletes aside)."""

        def recorded(event: Any, context: Any) -> Any:
            with self.recording():
                return handler(event, context)

        return recorded

    @contextmanager
    def recording(self) -> Iterator[None]:
        self.on = True
        try:
            yield
        finally:
            self.on = False


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    recorded = Calls()
    original = botocore.client.BaseClient._make_api_call

    def make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        if recorded.on:
            prefix = self.meta.service_model.signing_name
            action = f"{prefix}:{operation_name}"
            recorded.actions.add(IAM_ACTION.get(action, action))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    return recorded


def check(function_id: str, called: set[str]) -> None:
    grants = granted(function_id)
    for statement in statements(function_id):
        if actions(statement) <= XRAY:
            continue  # X-Ray has no resource-level permissions
        assert not wildcards(statement["Resource"]), (
            f"{function_id}: {sorted(actions(statement))} on {wildcards(statement['Resource'])}"
        )
    platform = PLATFORM | XRAY | (EVENT_SOURCE_MAPPING if has_sqs_events(function_id) else set())
    managed = set().union(
        *(
            ACCEPTED_MANAGED_POLICIES[arn]
            for arn in role_of(function_id)["Properties"].get("ManagedPolicyArns", [])
        )
    )
    unused = grants - called - platform - managed
    assert not unused, f"{function_id} is granted actions it never calls: {sorted(unused)}"
    missing = called - grants
    assert not missing, f"{function_id} calls what its role does not grant: {sorted(missing)}"


def test_every_function_has_a_scenario_here() -> None:
    assert set(functions()) == set(SCENARIOS), "add a scenario for the new function below"


def test_no_role_of_an_sqs_triggered_function_may_touch_every_queue() -> None:
    sqs_managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
    for function_id in functions():
        managed = role_of(function_id)["Properties"].get("ManagedPolicyArns", [])
        assert sqs_managed not in managed, function_id


# --- the scenarios: each reaches every call of its function --------------------------------------


def sync_activities(
    aws_stack: LocalStack, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, calls: Calls
) -> None:
    deploy_sync_function(aws_stack, sandbox, monkeypatch)
    boto3.client("secretsmanager").create_secret(
        Name="leadlex/key", SecretString=sandbox.create_key()
    )
    monkeypatch.delenv("LEADLEX_API_KEY")
    monkeypatch.setenv("LEADLEX_API_KEY_SECRET_ID", "leadlex/key")
    registry.reset()
    with calls.recording():
        # a new contact synced and published, and a message that is no contact id rejected
        invoke(sqs_event(sandbox.create_contact(activities=150), "not a contact"))
        # a long history: the rest continues in a later invocation (its own message)
        monkeypatch.setenv("CONTACT_CONCURRENCY", "1")
        invoke(sqs_event(sandbox.create_contact(activities=40)))


def receive_webhooks(
    aws_stack: LocalStack, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, calls: Calls
) -> None:
    deploy_receiver(aws_stack, monkeypatch)
    contact_only = delivery()  # no created_date: the contact goes on the queue
    carried = delivery(  # the fast path: claimed in the state table, published on both channels
        {
            "activity": {
                "id": "act_10",
                "contact_id": CONTACT,
                "activity_type": "call",
                "created_date": datetime.now(UTC).isoformat(),
            }
        }
    )
    with calls.recording():
        for body, signature in (contact_only, carried):
            assert post(body, signature)["statusCode"] == 202


def sweep_deferred(
    aws_stack: LocalStack, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, calls: Calls
) -> None:
    from datetime import UTC, datetime, timedelta

    for name, value in aws_stack.function_environment("SweepFunction").items():
        monkeypatch.setenv(name, value)
    registry.reset()
    store = DynamoDbStateTable(boto3.client("dynamodb"), aws_stack.table_name)
    now = datetime.now(UTC)
    store.record_quota(quota(50, now + timedelta(hours=2)))
    store.defer(contact(1), now - timedelta(hours=1))
    context = LambdaContext(function_name="SweepFunction")
    sweep = calls.wrap(sweep_app.lambda_handler)
    sweep(SCHEDULED_EVENT, context)  # paced, the template's default
    monkeypatch.setenv("PACING", "off")
    monkeypatch.setenv("STALE_AFTER_HOURS", "1")  # and reconciling stale contacts
    registry.reset()
    store.defer(contact(2), now - timedelta(hours=1))
    sweep(SCHEDULED_EVENT, context)


def fan_out_webhooks(
    aws_stack: LocalStack, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, calls: Calls
) -> None:
    webhooks = deploy_webhook_functions(aws_stack, monkeypatch, WEBHOOK_RETRY_SCHEDULE="1s")
    webhooks.fan_out._handler = calls.wrap(webhooks.fan_out._handler)
    with WebhookReceiver() as receiver:
        webhooks.register(receiver)
        # an event kept and fanned out; a message that is no event dead-lettered
        webhooks.publish("act_1", "call")
        boto3.client("sqs").send_message(
            QueueUrl=aws_stack.outputs["WebhookEventQueueUrl"], MessageBody="not an event"
        )
        webhooks.fan_out.drain()


def deliver_webhooks(
    aws_stack: LocalStack, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, calls: Calls
) -> None:
    webhooks = deploy_webhook_functions(aws_stack, monkeypatch, WEBHOOK_RETRY_SCHEDULE="1s")
    webhooks.deliveries._handler = calls.wrap(webhooks.deliveries._handler)
    with (
        WebhookReceiver(answers=[500, 200]) as flaky,
        WebhookReceiver(answers=[410]) as gone,
        WebhookReceiver() as paused,
    ):
        webhooks.register(flaky)
        webhooks.register(gone)
        held = webhooks.register(paused)
        webhooks.store.disable(held.endpoint_id, "by hand", datetime.now(UTC))
        # one retried then delivered (its secret unsealed), one disabled and dead-lettered,
        # one parked for a disabled endpoint
        webhooks.publish("act_1", "call")
        webhooks.until(lambda: len(flaky.deliveries) == 2 and len(gone.deliveries) == 1)
        webhooks.until(lambda: bool(webhooks.dead_letters()))
        webhooks.until(lambda: any(True for _ in webhooks.ledger.parked(held.endpoint_id)))
        # enabled while its delivery is being parked: the deliverer claims it back (DeleteItem)
        with enabled_after_park(webhooks, held.endpoint_id):
            webhooks.publish("act_2", "call")
            webhooks.until(lambda: [d.webhook_id for d in paused.deliveries] == ["act_2"])


@contextmanager
def enabled_after_park(webhooks: Webhooks, endpoint_id: str) -> Iterator[None]:
    """The endpoint enabled right after the deliverer parks a delivery for it (the race the
    deliverer's re-read and claim are for)."""
    original = botocore.client.BaseClient._make_api_call

    def make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        answer = original(self, operation_name, api_params)
        item = (
            api_params.get("Item", {}).get("item", {}).get("S", "")
            if operation_name == "PutItem"
            else ""
        )
        if item.startswith("parked#"):
            webhooks.store.enable(endpoint_id)
        return answer

    botocore.client.BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


Scenario = Callable[[LocalStack, SandboxServer, pytest.MonkeyPatch, Calls], None]
SCENARIOS: dict[str, Scenario] = {
    "SyncActivitiesFunction": sync_activities,
    "ReceiveWebhooksFunction": receive_webhooks,
    "SweepFunction": sweep_deferred,
    "FanOutWebhooksFunction": fan_out_webhooks,
    "DeliverWebhooksFunction": deliver_webhooks,
}


@pytest.mark.parametrize("function_id", sorted(SCENARIOS))
def test_each_role_grants_what_its_function_calls_on_its_own_resources(
    function_id: str,
    stack_factory: Any,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    calls: Calls,
) -> None:
    stack = stack_factory(parameter_overrides={"DeliveryDelaySeconds": 0})
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    SCENARIOS[function_id](stack, sandbox, monkeypatch, calls)

    assert calls.actions, "the scenario called nothing"
    check(function_id, calls.actions)
    registry.reset()
