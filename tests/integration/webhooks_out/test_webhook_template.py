"""template.yaml's webhooks out (issue 20): two functions, each with its own queue, timeout,
MaximumConcurrency parameter; the delivery queue's receive limit above the schedule and known
to the function; the stateful resources under their old logical ids; the secrets' key that only
the delivery function's role may decrypt with."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from activity_relay.adapters.dynamodb.attempts import EVENT_INDEX
from relay_local.template import LocalStack, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
FUNCTIONS = {
    "FanOutWebhooksFunction": ("WebhookEventQueue", "WebhookFanOutMaximumConcurrency"),
    "DeliverWebhooksFunction": ("WebhookDeliveryQueue", "WebhookDeliveryMaximumConcurrency"),
}


def properties(logical_id: str) -> dict[str, Any]:
    return dict(RESOURCES[logical_id]["Properties"])


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_each_webhook_function_has_its_own_queue_timeout_and_concurrency_parameter(
    function_id: str,
) -> None:
    queue, concurrency = FUNCTIONS[function_id]
    function = properties(function_id)
    ((_, event),) = function["Events"].items()  # one event source: no routing by queue
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": concurrency}}
    assert PARAMETERS[concurrency]["MinValue"] == 2  # SQS event sources' floor
    assert isinstance(function["Timeout"], int)
    visibility = properties(queue)["VisibilityTimeout"]
    assert visibility >= 6 * function["Timeout"]
    assert function["LoggingConfig"]["LogGroup"] == {
        "Ref": function_id.replace("Function", "LogGroup")
    }


def test_the_two_handlers_are_the_two_functions() -> None:
    assert properties("FanOutWebhooksFunction")["CodeUri"] == "functions/fan_out_webhooks/"
    assert properties("DeliverWebhooksFunction")["CodeUri"] == "functions/deliver_webhooks/"


def test_the_delivery_queue_s_receive_limit_outlasts_the_longest_schedule_and_is_told() -> None:
    redrive = properties("WebhookDeliveryQueue")["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == {"Ref": "WebhookDeliveryMaxReceiveCount"}
    # The schedule's pattern allows one step and up to {0,N} more: N + 2 attempts at most
    repeats = re.search(r"\{0,(\d+)\}", PARAMETERS["WebhookRetrySchedule"]["AllowedPattern"])
    assert repeats is not None
    most_attempts = int(repeats.group(1)) + 2
    assert PARAMETERS["WebhookDeliveryMaxReceiveCount"]["MinValue"] >= most_attempts
    variables = properties("DeliverWebhooksFunction")["Environment"]["Variables"]
    assert variables["WEBHOOK_MAX_RECEIVES"] == {"Ref": "WebhookDeliveryMaxReceiveCount"}


def test_stateful_webhook_resources_keep_their_logical_ids_and_tables_are_retained() -> None:
    for logical_id in (
        "WebhookEndpointTable",
        "WebhookEventQueue",
        "WebhookDeliveryQueue",
        "WebhookDeadLetterQueue",
        "WebhookAttemptTable",
        "WebhookEventTable",
        "WebhookSecretKey",
    ):
        assert logical_id in RESOURCES
    for table in ("WebhookEndpointTable", "WebhookAttemptTable", "WebhookEventTable"):
        assert RESOURCES[table]["DeletionPolicy"] == "Retain"
        assert properties(table)["TimeToLiveSpecification"] == {
            "AttributeName": "expires_at",
            "Enabled": True,
        }
    assert RESOURCES["WebhookSecretKey"]["DeletionPolicy"] == "Retain"


def test_relay_events_looks_up_by_an_added_index_the_table_keys_unchanged() -> None:
    # A changed KeySchema would make CloudFormation replace the table, losing what it holds;
    # an added index is an in-place update (one per table per update).
    attempts, events = properties("WebhookAttemptTable"), properties("WebhookEventTable")
    assert attempts["KeySchema"] == [
        {"AttributeName": "endpoint_id", "KeyType": "HASH"},
        {"AttributeName": "item", "KeyType": "RANGE"},
    ]
    assert events["KeySchema"] == [
        {"AttributeName": "hour", "KeyType": "HASH"},
        {"AttributeName": "event_key", "KeyType": "RANGE"},
    ]
    assert "GlobalSecondaryIndexes" not in events  # its index items live in the table itself
    (index,) = attempts["GlobalSecondaryIndexes"]
    assert index["IndexName"] == EVENT_INDEX
    assert index["KeySchema"][0] == {"AttributeName": "event_id", "KeyType": "HASH"}
    # what `relay events show` prints of an attempt, and never a parked delivery's body
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert "body" not in index["Projection"]["NonKeyAttributes"]
    assert {"status_code", "error", "duration_ms", "action", "at", "attempt"} <= set(
        index["Projection"]["NonKeyAttributes"]
    )


def test_only_the_delivery_function_s_role_may_decrypt_the_signing_secrets() -> None:
    key = properties("WebhookSecretKey")
    assert key["EnableKeyRotation"] is True
    statements = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    role = {"Fn::GetAtt": ["DeliverWebhooksRole", "Arn"]}
    allow = statements["DeliveryFunctionUnsealsPerEndpoint"]
    assert (allow["Effect"], allow["Principal"], allow["Action"]) == (
        "Allow",
        {"AWS": role},
        "kms:Decrypt",
    )
    assert allow["Condition"] == {"StringLike": {"kms:EncryptionContext:endpoint_id": "ep_*"}}
    deny = statements["NobodyElseUnseals"]
    assert deny["Effect"] == "Deny"
    assert set(deny["Action"]) == {"kms:Decrypt", "kms:ReEncryptFrom"}
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": role}}
    # Each function has a role of its own; the fan-out reads endpoints but can neither decrypt
    # nor touch an attempt (what each role grants is held to what each function calls in
    # tests/integration/test_least_privilege.py)
    assert properties("FanOutWebhooksFunction")["Role"] == {
        "Fn::GetAtt": ["FanOutWebhooksRole", "Arn"]
    }
    assert properties("DeliverWebhooksFunction")["Role"] == {
        "Fn::GetAtt": ["DeliverWebhooksRole", "Arn"]
    }
    fan_out = json.dumps(properties("FanOutWebhooksRole"))
    assert "kms:" not in fan_out
    assert "WebhookAttemptTable" not in fan_out
    assert "dynamodb:Scan" not in json.dumps(properties("DeliverWebhooksRole"))


def test_outputs_name_the_new_tables_key_and_function() -> None:
    assert {
        "WebhookAttemptTableName",
        "WebhookEventTableName",
        "WebhookSecretKeyArn",
        "FanOutWebhooksFunctionName",
        "FanOutWebhooksLogGroupName",
        "DeliverWebhooksFunctionName",
    } <= set(TEMPLATE["Outputs"])


def test_the_local_stack_has_the_tables_key_and_receive_limit(aws_stack: LocalStack) -> None:
    sqs = boto3.client("sqs")
    redrive = json.loads(
        sqs.get_queue_attributes(
            QueueUrl=aws_stack.outputs["WebhookDeliveryQueueUrl"], AttributeNames=["RedrivePolicy"]
        )["Attributes"]["RedrivePolicy"]
    )
    assert (
        int(redrive["maxReceiveCount"]) == PARAMETERS["WebhookDeliveryMaxReceiveCount"]["Default"]
    )
    dynamodb = boto3.client("dynamodb")
    for output in ("WebhookAttemptTableName", "WebhookEventTableName"):
        table = dynamodb.describe_table(TableName=aws_stack.outputs[output])["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    key = boto3.client("kms").describe_key(KeyId=aws_stack.outputs["WebhookSecretKeyArn"])
    assert key["KeyMetadata"]["KeyState"] == "Enabled"
    environment = aws_stack.function_environment("DeliverWebhooksFunction")
    assert environment["WEBHOOK_SECRET_KEY_ARN"] == aws_stack.outputs["WebhookSecretKeyArn"]


def test_the_delivery_function_has_the_cpu_its_rate_needs() -> None:
    # benchmarks/README.md: ~1.7 ms of CPU a delivery; 100/s at least needs ~0.2 vCPU and more
    # for the GIL-bound threads to overlap: 1024 MB (0.58 vCPU) by default, a parameter
    assert properties("DeliverWebhooksFunction")["MemorySize"] == {
        "Ref": "WebhookDeliveryMemorySize"
    }
    assert PARAMETERS["WebhookDeliveryMemorySize"]["Default"] >= 1024
