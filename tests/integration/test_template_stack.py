"""template.yaml: the contract points it must keep, and the local stack provisioned from it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from activity_relay.adapters.dynamodb.codec import DEFERRED_INDEX
from relay_local.template import (
    SECRET_ID_VARIABLE,
    TEMPLATE_PATH,
    LocalStack,
    StackClients,
    TemplateError,
    load_template,
    provision_stack,
)
from tests.support.aws import StackFactory
from tests.support.lambdas import SQS_RECORD_KEYS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(TEMPLATE_PATH)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
FUNCTION = RESOURCES["SyncActivitiesFunction"]
FUNCTION_PROPERTIES: dict[str, Any] = FUNCTION["Properties"]
GLOBAL_FUNCTION: dict[str, Any] = TEMPLATE.get("Globals", {}).get("Function", {})

# CONTRACT.md, "Configuration of the sync function": what the deployed function gets.
# LEADLEX_API_KEY is for local use only and never in the template.
CONTRACT_VARIABLES = {
    "LEADLEX_API_BASE_URL",
    "LEADLEX_API_KEY_SECRET_ID",
    "WATERMARK_TABLE_NAME",
    "ACTIVITY_TOPIC_ARN",
    "ACTIVITY_EVENT_BUS_NAME",
    "DEAD_LETTER_QUEUE_URL",
    "CONTACT_QUEUE_URL",
    "EVENT_SOURCE",
    "INITIAL_SYNC",
}
# Issue 5 (quota economy): tuning the sync function reads beside the contract's variables.
QUOTA_VARIABLES = {"LEADLEX_QUOTA_RESERVE", "CONTACT_CONCURRENCY"}
# Issue 13 (pacing the daily quota): one parameter, read by the sync and the sweep function.
QUOTA_VARIABLES |= {"PACING"}
SWEEP = RESOURCES["SweepFunction"]["Properties"]
SWEEP_VARIABLES = {
    "WATERMARK_TABLE_NAME",
    "CONTACT_QUEUE_URL",
    "LEADLEX_QUOTA_RESERVE",
    "STALE_AFTER_HOURS",
    "DEFAULT_DAILY_QUOTA",
    "LEADLEX_REQUESTS_PER_MINUTE",
    "PACING",
}


def function_property(name: str) -> Any:
    """A property of the sync function, Globals applied."""
    return FUNCTION_PROPERTIES.get(name, GLOBAL_FUNCTION.get(name))


def sqs_event() -> dict[str, Any]:
    (event,) = (e for e in FUNCTION_PROPERTIES["Events"].values() if e["Type"] == "SQS")
    return dict(event["Properties"])


# --- The template itself --------------------------------------------------------------------------


class TestTemplateContract:
    def test_function_runtime_architecture_handler_and_code(self) -> None:
        assert function_property("Runtime") == "python3.12"
        assert function_property("Architectures") == ["arm64"]
        assert function_property("Handler") == "app.lambda_handler"
        assert function_property("CodeUri") == "functions/sync_activities/"
        assert function_property("Tracing") == {"Ref": "TracingMode"}

    def test_tracing_is_a_parameter_and_the_tracer_follows_it(self) -> None:
        # X-Ray costs cold start (benchmarks/README.md): off unless asked for, still available
        assert PARAMETERS["TracingMode"]["AllowedValues"] == ["Active", "PassThrough"]
        assert PARAMETERS["TracingMode"]["Default"] == "PassThrough"
        assert GLOBAL_FUNCTION["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == {
            "Fn::If": ["TracingActive", "false", "true"]
        }

    def test_sqs_event_reports_batch_item_failures_and_is_tunable(self) -> None:
        event = sqs_event()
        assert event["Queue"] == {"Fn::GetAtt": ["ContactQueue", "Arn"]}
        assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert event["BatchSize"] == {"Ref": "BatchSize"}
        assert event["MaximumBatchingWindowInSeconds"] == {"Ref": "MaximumBatchingWindowInSeconds"}
        assert event["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "MaximumConcurrency"}}
        for name in ("BatchSize", "MaximumBatchingWindowInSeconds", "MaximumConcurrency"):
            assert PARAMETERS[name]["Type"] == "Number"

    def test_shared_code_layer_is_built_with_python312(self) -> None:
        layer = RESOURCES["SharedCodeLayer"]
        assert layer["Type"] == "AWS::Serverless::LayerVersion"
        assert layer["Properties"]["ContentUri"] == "layers/activity_relay/"
        assert layer["Metadata"]["BuildMethod"] == "python3.12"
        assert (ROOT / "layers/activity_relay/requirements.txt").is_file()
        assert {"Ref": "SharedCodeLayer"} in FUNCTION_PROPERTIES["Layers"]

    def test_function_environment_declares_exactly_the_contract_variables(self) -> None:
        declared = set(FUNCTION_PROPERTIES["Environment"]["Variables"])
        assert declared == CONTRACT_VARIABLES | QUOTA_VARIABLES
        global_variables = GLOBAL_FUNCTION["Environment"]["Variables"]
        assert global_variables["POWERTOOLS_SERVICE_NAME"] == "activity-relay"
        assert global_variables["POWERTOOLS_METRICS_NAMESPACE"] == "LeadLexRelay"

    def test_api_key_is_a_secret_reference_never_a_plain_parameter(self) -> None:
        variables = FUNCTION_PROPERTIES["Environment"]["Variables"]
        assert "LEADLEX_API_KEY" not in variables
        assert "LEADLEX_API_KEY" not in GLOBAL_FUNCTION["Environment"]["Variables"]
        assert variables[SECRET_ID_VARIABLE] == {"Ref": "LeadLexApiKeySecret"}
        secret = PARAMETERS["LeadLexApiKeySecret"]
        assert "Default" not in secret
        assert "secret" in secret["Description"].lower()
        # The pattern accepts secret names and ARNs: a URL or a key with spaces would not pass.
        pattern = re.compile(secret["AllowedPattern"])
        assert pattern.fullmatch("leadlex/prod/api-key")
        assert pattern.fullmatch(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:leadlex/api-key-AbCdEf"
        )
        assert not pattern.fullmatch("https://example.com/key")
        # No other parameter looks like it carries a key.
        for name in PARAMETERS:
            assert "apikey" not in name.lower() or name == "LeadLexApiKeySecret"

    def test_the_sync_function_has_a_role_of_its_own(self) -> None:
        """Not SAM's: SAM would attach AWSLambdaSQSQueueExecutionRole ("*"). What each role
        grants, against what each function calls: tests/integration/test_least_privilege.py."""
        assert FUNCTION_PROPERTIES["Role"] == {"Fn::GetAtt": ["SyncActivitiesRole", "Arn"]}
        assert "Policies" not in FUNCTION_PROPERTIES
        role = json.dumps(RESOURCES["SyncActivitiesRole"])
        for resource in ("WatermarkTable", "ActivityTopic", "ActivityBus", "LeadLexApiKeySecret"):
            assert resource in role
        assert "ContactDeadLetterQueue" in role

    def test_sweep_function_runs_on_its_schedule_with_the_shared_layer(self) -> None:
        assert SWEEP["Runtime"] == "python3.12"
        assert SWEEP["Architectures"] == ["arm64"]
        assert SWEEP["Handler"] == "app.lambda_handler"
        assert SWEEP["CodeUri"] == "functions/sweep_deferred/"
        assert (ROOT / "functions/sweep_deferred/app.py").is_file()
        assert {"Ref": "SharedCodeLayer"} in SWEEP["Layers"]
        assert SWEEP["LoggingConfig"] == {"LogGroup": {"Ref": "SweepLogGroup"}}
        (event,) = SWEEP["Events"].values()
        assert event["Type"] == "ScheduleV2"
        assert event["Properties"]["ScheduleExpression"] == {"Ref": "SweepSchedule"}
        assert event["Properties"]["OmitName"] is True
        pattern = re.compile(PARAMETERS["SweepSchedule"]["AllowedPattern"])
        assert pattern.fullmatch(PARAMETERS["SweepSchedule"]["Default"])
        assert pattern.fullmatch("cron(0/15 * * * ? *)")
        assert not pattern.fullmatch("every 15 minutes")

    def test_sweep_environment_and_least_privilege(self) -> None:
        variables = SWEEP["Environment"]["Variables"]
        assert set(variables) == SWEEP_VARIABLES
        assert variables["CONTACT_QUEUE_URL"] == {"Ref": "ContactQueue"}
        # The reserve is one parameter, shared with the sync function.
        assert variables["LEADLEX_QUOTA_RESERVE"] == {"Ref": "QuotaReserve"}
        sync_variables = FUNCTION_PROPERTIES["Environment"]["Variables"]
        assert sync_variables["LEADLEX_QUOTA_RESERVE"] == {"Ref": "QuotaReserve"}
        assert sync_variables["CONTACT_CONCURRENCY"] == {"Ref": "ContactConcurrency"}
        # Pacing: one parameter for both, on by default, and a sweep every minute to release
        assert variables["PACING"] == sync_variables["PACING"] == {"Ref": "Pacing"}
        assert PARAMETERS["Pacing"]["Default"] == "on"
        assert PARAMETERS["Pacing"]["AllowedValues"] == ["on", "off"]
        assert PARAMETERS["SweepSchedule"]["Default"] == "rate(1 minute)"
        policies = SWEEP["Policies"]
        assert {
            "SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["ContactQueue", "QueueName"]}}
        } in policies
        statements = [s for p in policies if "Statement" in p for s in p["Statement"]]
        assert statements == [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"],
                "Resource": {"Fn::GetAtt": ["WatermarkTable", "Arn"]},
            },
            {
                "Effect": "Allow",
                "Action": "dynamodb:Query",
                "Resource": {"Fn::Sub": "${WatermarkTable.Arn}/index/DeferredContacts"},
            },
        ]
        assert "TableName" in TEMPLATE["Outputs"]
        assert TEMPLATE["Outputs"]["SweepFunctionName"]["Value"] == {"Ref": "SweepFunction"}

    def test_deferred_index_is_the_one_the_state_store_queries(self) -> None:
        table = RESOURCES["WatermarkTable"]["Properties"]
        (index,) = table["GlobalSecondaryIndexes"]
        assert index["IndexName"] == DEFERRED_INDEX
        assert index["KeySchema"] == [
            {"AttributeName": "deferred_partition", "KeyType": "HASH"},
            {"AttributeName": "deferred_until", "KeyType": "RANGE"},
        ]
        assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}

    def test_contact_queue_is_encrypted_and_redrives_to_its_dead_letter_queue(self) -> None:
        for logical_id in ("ContactQueue", "ContactDeadLetterQueue"):
            properties = RESOURCES[logical_id]["Properties"]
            assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties
        redrive = RESOURCES["ContactQueue"]["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["ContactDeadLetterQueue", "Arn"]}
        assert redrive["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}

    def test_table_topic_and_bus_are_protected(self) -> None:
        table = RESOURCES["WatermarkTable"]["Properties"]
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["KeySchema"] == [{"AttributeName": "contact_id", "KeyType": "HASH"}]
        assert table["AttributeDefinitions"] == [
            {"AttributeName": "contact_id", "AttributeType": "S"},
            {"AttributeName": "deferred_partition", "AttributeType": "S"},
            {"AttributeName": "deferred_until", "AttributeType": "S"},
        ]
        assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert table["SSESpecification"]["SSEEnabled"] is True
        assert RESOURCES["ActivityTopic"]["Properties"]["KmsMasterKeyId"]
        archive = RESOURCES["ActivityArchive"]["Properties"]
        assert archive["SourceArn"] == {"Fn::GetAtt": ["ActivityBus", "Arn"]}

    def test_every_skipped_checkov_rule_has_a_reason(self) -> None:
        skipped = [
            (logical_id, skip)
            for logical_id, resource in RESOURCES.items()
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        ]
        assert skipped
        for logical_id, skip in skipped:
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), logical_id
            assert len(skip.get("comment", "")) > 20, f"{logical_id} {skip['id']} needs a reason"

    def test_outputs_name_what_a_user_needs(self) -> None:
        assert {
            "ContactQueueUrl",
            "ContactQueueArn",
            "DeadLetterQueueUrl",
            "TopicArn",
            "BusName",
            "BusArn",
            "TableName",
            "FunctionName",
        } <= set(TEMPLATE["Outputs"])


# --- Sample events --------------------------------------------------------------------------------

EVENT_FILES = sorted((ROOT / "events").glob("sqs-*.json"))


@pytest.mark.parametrize("path", EVENT_FILES, ids=[p.name for p in EVENT_FILES])
def test_sample_events_are_shaped_as_lambda_delivers_them(path: Path) -> None:
    records = json.loads(path.read_text())["Records"]
    assert records
    for record in records:
        assert set(record) == SQS_RECORD_KEYS
        assert record["eventSource"] == "aws:sqs"
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        # No timestamps, on purpose: a fixed SentTimestamp is older than the contact's last
        # sync after the first run, which then acknowledges the sample as covered
        # (docs/local.md); the handler reads no other attribute.
        assert {"ApproximateReceiveCount", "SenderId"} <= set(record["attributes"])
        assert "SentTimestamp" not in record["attributes"]
    assert len({r["messageId"] for r in records}) == len(records)


def test_sample_events_cover_the_body_forms() -> None:
    names = {p.name for p in EVENT_FILES}
    assert {
        "sqs-plain-id.json",
        "sqs-json-body.json",
        "sqs-several-ids.json",
        "sqs-malformed.json",
    } <= names


# --- The local stack, provisioned from the template under moto ------------------------------------


@pytest.mark.integration
class TestLocalStack:
    def test_table_has_the_templates_key_schema_and_settings(self, aws_stack: LocalStack) -> None:
        dynamodb = boto3.client("dynamodb")
        table = dynamodb.describe_table(TableName=aws_stack.table_name)["Table"]
        declared = RESOURCES["WatermarkTable"]["Properties"]
        assert table["KeySchema"] == declared["KeySchema"]
        assert table["AttributeDefinitions"] == declared["AttributeDefinitions"]
        assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
        assert table["SSEDescription"]["Status"] == "ENABLED"
        backups = dynamodb.describe_continuous_backups(TableName=aws_stack.table_name)
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
        (index,) = table["GlobalSecondaryIndexes"]
        (declared_index,) = declared["GlobalSecondaryIndexes"]
        assert index["IndexName"] == declared_index["IndexName"]
        assert index["KeySchema"] == declared_index["KeySchema"]
        assert index["Projection"] == declared_index["Projection"]

    def test_contact_queue_redrives_after_the_default_max_receive_count(
        self, aws_stack: LocalStack
    ) -> None:
        redrive = queue_redrive_policy(aws_stack.contact_queue_url)
        assert redrive["deadLetterTargetArn"] == aws_stack.dead_letter_queue_arn
        assert redrive["maxReceiveCount"] == int(PARAMETERS["MaxReceiveCount"]["Default"])

    def test_max_receive_count_follows_the_parameter(self, stack_factory: StackFactory) -> None:
        stack = stack_factory(parameter_overrides={"MaxReceiveCount": 2})
        assert queue_redrive_policy(stack.contact_queue_url)["maxReceiveCount"] == 2

    @pytest.mark.parametrize(
        "timeout", [None, *(str(v) for v in PARAMETERS["FunctionTimeout"]["AllowedValues"])]
    )
    def test_visibility_timeout_is_at_least_six_function_timeouts(
        self, stack_factory: StackFactory, timeout: str | None
    ) -> None:
        stack = stack_factory(
            parameter_overrides={"FunctionTimeout": timeout} if timeout is not None else None
        )
        function_timeout = int(stack.resolve(function_property("Timeout")))
        if timeout is not None:
            assert function_timeout == int(timeout)
        visibility = int(
            boto3.client("sqs").get_queue_attributes(
                QueueUrl=stack.contact_queue_url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]["VisibilityTimeout"]
        )
        assert visibility >= 6 * function_timeout
        # AWS's advice in full: 6 x timeout + the batching window, whatever the window is set to.
        longest_window = int(PARAMETERS["MaximumBatchingWindowInSeconds"]["MaxValue"])
        assert visibility >= 6 * function_timeout + longest_window

    def test_parameter_overrides_are_checked(self, stack_factory: StackFactory) -> None:
        with pytest.raises(TemplateError, match="FunctionTimeout"):
            stack_factory(parameter_overrides={"FunctionTimeout": 61})
        with pytest.raises(TemplateError, match="unknown parameter"):
            stack_factory(parameter_overrides={"MaxRecieveCount": 3})

    def test_queues_are_encrypted(self, aws_stack: LocalStack) -> None:
        sqs = boto3.client("sqs")
        for url in (aws_stack.contact_queue_url, aws_stack.dead_letter_queue_url):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
                "Attributes"
            ]
            assert attributes.get("SqsManagedSseEnabled") == "true"

    def test_topic_bus_and_archive_exist(self, aws_stack: LocalStack) -> None:
        sns = boto3.client("sns")
        topic = sns.get_topic_attributes(TopicArn=aws_stack.topic_arn)["Attributes"]
        assert topic["TopicArn"] == aws_stack.topic_arn
        assert not aws_stack.topic_arn.endswith(".fifo")
        events = boto3.client("events")
        bus = events.describe_event_bus(Name=aws_stack.bus_name)
        assert bus["Arn"] == aws_stack.bus_arn
        archive = events.describe_archive(ArchiveName=aws_stack.archive_name)
        assert archive["EventSourceArn"] == aws_stack.bus_arn
        # Publishing works on both.
        sns.publish(TopicArn=aws_stack.topic_arn, Message="{}")
        result = events.put_events(
            Entries=[
                {
                    "Source": "leadlex.activities",
                    "DetailType": "activity.created",
                    "Detail": "{}",
                    "EventBusName": aws_stack.bus_name,
                }
            ]
        )
        assert result["FailedEntryCount"] == 0

    def test_fifo_topic_on_request(self, stack_factory: StackFactory) -> None:
        stack = stack_factory(fifo_topic=True)
        assert stack.topic_arn.endswith(".fifo")
        attributes = boto3.client("sns").get_topic_attributes(TopicArn=stack.topic_arn)[
            "Attributes"
        ]
        assert attributes["FifoTopic"] == "true"
        assert attributes["ContentBasedDeduplication"] == "false"

    def test_function_environment_resolves_to_the_created_resources(
        self, aws_stack: LocalStack
    ) -> None:
        environment = aws_stack.function_environment()
        assert set(environment) >= CONTRACT_VARIABLES - {SECRET_ID_VARIABLE}
        assert SECRET_ID_VARIABLE not in environment
        assert "LEADLEX_API_KEY" not in environment
        assert environment["WATERMARK_TABLE_NAME"] == aws_stack.table_name
        assert environment["ACTIVITY_TOPIC_ARN"] == aws_stack.topic_arn
        assert environment["ACTIVITY_EVENT_BUS_NAME"] == aws_stack.bus_name
        assert environment["DEAD_LETTER_QUEUE_URL"] == aws_stack.dead_letter_queue_url
        assert environment["CONTACT_QUEUE_URL"] == aws_stack.contact_queue_url
        assert environment["LEADLEX_API_BASE_URL"] == PARAMETERS["LeadLexApiBaseUrl"]["Default"]
        assert environment["EVENT_SOURCE"] == "leadlex.activities"
        assert environment["INITIAL_SYNC"] == "all"
        assert environment["POWERTOOLS_SERVICE_NAME"] == "activity-relay"

    def test_function_environment_follows_parameter_overrides(
        self, stack_factory: StackFactory
    ) -> None:
        stack = stack_factory(
            parameter_overrides={
                "InitialSync": "2026-01-01",
                "LeadLexApiBaseUrl": "https://leadlex.example/gateway",
                "EventSource": "test.source",
            }
        )
        environment = stack.function_environment()
        assert environment["INITIAL_SYNC"] == "2026-01-01"
        assert environment["LEADLEX_API_BASE_URL"] == "https://leadlex.example/gateway"
        assert environment["EVENT_SOURCE"] == "test.source"

    def test_sweep_environment_resolves_to_the_created_resources(
        self, stack_factory: StackFactory
    ) -> None:
        stack = stack_factory(parameter_overrides={"QuotaReserve": 50, "StaleAfterHours": 24})
        environment = stack.function_environment("SweepFunction")
        assert environment["WATERMARK_TABLE_NAME"] == stack.table_name
        assert environment["CONTACT_QUEUE_URL"] == stack.contact_queue_url
        assert environment["LEADLEX_QUOTA_RESERVE"] == "50"
        assert environment["STALE_AFTER_HOURS"] == "24"
        assert environment["DEFAULT_DAILY_QUOTA"] == str(PARAMETERS["DefaultDailyQuota"]["Default"])
        assert stack.function_environment()["LEADLEX_QUOTA_RESERVE"] == "50"

    def test_fields_are_named_after_the_templates_outputs(self, aws_stack: LocalStack) -> None:
        for output, value in aws_stack.outputs.items():
            field = re.sub(r"(?<!^)(?=[A-Z])", "_", output).lower()
            if hasattr(aws_stack, field):
                assert getattr(aws_stack, field) == value
        assert aws_stack.outputs["ContactQueueUrl"] == aws_stack.contact_queue_url
        assert "FunctionName" not in aws_stack.outputs  # not created locally


def queue_redrive_policy(queue_url: str) -> dict[str, Any]:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    policy: dict[str, Any] = json.loads(attributes["RedrivePolicy"])
    return policy


# --- Against a moto server endpoint ---------------------------------------------------------------


@pytest.fixture
def moto_server(aws_credentials: None) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.mark.integration
def test_provisions_against_a_moto_server_endpoint(moto_server: str) -> None:
    clients = StackClients.create(region_name="us-east-1", endpoint_url=moto_server)
    stack = provision_stack(clients, stack_name="relay-server", fifo_topic=True)
    sqs = boto3.client("sqs", endpoint_url=moto_server)
    assert stack.contact_queue_url in sqs.list_queues()["QueueUrls"]
    table = boto3.client("dynamodb", endpoint_url=moto_server).describe_table(
        TableName=stack.table_name
    )["Table"]
    assert table["KeySchema"] == RESOURCES["WatermarkTable"]["Properties"]["KeySchema"]
    assert stack.function_environment()["WATERMARK_TABLE_NAME"] == stack.table_name


# --- Webhooks in: the receiver behind its Function URL ------------------------------------------


class TestWebhookReceiverTemplate:
    RECEIVER = RESOURCES["ReceiveWebhooksFunction"]["Properties"]

    def test_it_is_behind_a_function_url_authenticated_by_the_signature(self) -> None:
        assert self.RECEIVER["Handler"] == "app.lambda_handler"
        assert self.RECEIVER["CodeUri"] == "functions/receive_webhooks/"
        assert self.RECEIVER["FunctionUrlConfig"]["AuthType"] == "NONE"
        assert TEMPLATE["Outputs"]["WebhookUrl"]["Value"] == {
            "Fn::GetAtt": ["ReceiveWebhooksFunctionUrl", "FunctionUrl"]
        }

    def test_it_answers_well_within_leadlexs_10_seconds(self) -> None:
        assert int(self.RECEIVER["Timeout"]) < 10

    def test_least_privilege_send_to_the_contact_queue_and_read_its_secret(self) -> None:
        policies = self.RECEIVER["Policies"]
        assert policies[:2] == [
            {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["ContactQueue", "QueueName"]}}},
            {
                "AWSSecretsManagerGetSecretValuePolicy": {
                    "SecretArn": {"Ref": "LeadLexWebhookSecret"}
                }
            },
        ]
        variables = self.RECEIVER["Environment"]["Variables"]
        assert variables["CONTACT_QUEUE_URL"] == {"Ref": "ContactQueue"}
        assert variables["LEADLEX_WEBHOOK_SECRET_ID"] == {"Ref": "LeadLexWebhookSecret"}
        assert self.RECEIVER["LoggingConfig"] == {"LogGroup": {"Ref": "ReceiveWebhooksLogGroup"}}

    def test_the_fast_path_reads_and_claims_in_the_state_table_and_publishes_like_the_sync(
        self,
    ) -> None:
        # Given the fast path on by default, with the sync function's names for what it shares
        assert PARAMETERS["WebhookFastPath"]["Default"] == "on"
        receiver = self.RECEIVER["Environment"]["Variables"]
        sync = RESOURCES["SyncActivitiesFunction"]["Properties"]["Environment"]["Variables"]
        for shared in (
            "WATERMARK_TABLE_NAME",
            "ACTIVITY_TOPIC_ARN",
            "ACTIVITY_EVENT_BUS_NAME",
            "EVENT_SOURCE",
        ):
            assert receiver[shared] == sync[shared]
        assert receiver["WEBHOOK_FAST_PATH"] == {"Ref": "WebhookFastPath"}
        assert receiver["RECONCILE_WINDOW_MINUTES"] == {"Ref": "ReconcileWindowMinutes"}
        assert receiver["WEBHOOK_REPLAY_HORIZON_HOURS"] == {"Ref": "WebhookReplayHorizonHours"}
        assert PARAMETERS["WebhookReplayHorizonHours"]["Default"] == 72
        # Then it may read and conditionally write the state table's items, and publish: no
        # more (no Scan, no DeleteItem, no other table)
        policies = self.RECEIVER["Policies"]
        assert {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                    "Resource": {"Fn::GetAtt": ["WatermarkTable", "Arn"]},
                }
            ]
        } in policies
        assert {
            "SNSPublishMessagePolicy": {"TopicName": {"Fn::GetAtt": ["ActivityTopic", "TopicName"]}}
        } in policies
        assert {
            "EventBridgePutEventsPolicy": {"EventBusName": {"Fn::GetAtt": ["ActivityBus", "Name"]}}
        } in policies
        assert len(policies) == 5

    def test_reserved_concurrency_follows_its_parameter_and_0_leaves_it_unreserved(self) -> None:
        """Reserved (and capped) by default: the URL is public (test_template_alarms.py)."""
        assert self.RECEIVER["ReservedConcurrentExecutions"] == {
            "Fn::If": [
                "WebhookReceiverConcurrencyReserved",
                {"Ref": "WebhookReceiverReservedConcurrency"},
                {"Ref": "AWS::NoValue"},
            ]
        }
        assert PARAMETERS["WebhookReceiverReservedConcurrency"]["Default"] == 5

    def test_the_secret_is_a_generated_placeholder_until_registration(self) -> None:
        secret = RESOURCES["LeadLexWebhookSecret"]
        assert secret["Type"] == "AWS::SecretsManager::Secret"
        assert "GenerateSecretString" in secret["Properties"]
        assert "SecretString" not in secret["Properties"]
        assert TEMPLATE["Outputs"]["WebhookSecretArn"]["Value"] == {"Ref": "LeadLexWebhookSecret"}
