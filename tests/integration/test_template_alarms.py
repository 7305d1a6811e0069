"""template.yaml's alarms and dashboard, read from the template as SAM translates it: each alarm
watches the metric it is named for, against its own threshold parameter, and notifies the alarm
topic; AlarmEmail subscribes an address only when given; the dashboard shows the relay's
metrics and every alarm."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform  # type: ignore[import-untyped, unused-ignore]

from relay_local.template import TEMPLATE_PATH, load_template

RELAY: tuple[str, list[dict[str, Any]]] = (
    "LeadLexRelay",
    [{"Name": "service", "Value": "activity-relay"}],
)


class NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    template = load_template(TEMPLATE_PATH)
    # As `sam deploy` hands it over: code already uploaded
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://bucket/{logical_id}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = f"s3://bucket/{logical_id}.zip"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        result: dict[str, Any] = transform(
            template,
            {"LeadLexApiKeySecret": "leadlex/api-key"},
            NoManagedPolicies(),
        )
    return result


def alarms(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in translated["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def function_dimension(function_id: str) -> list[dict[str, Any]]:
    return [{"Name": "FunctionName", "Value": {"Ref": function_id}}]


def queue_dimension(queue_id: str) -> list[dict[str, Any]]:
    return [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]


# alarm → (namespace, metric, dimensions, threshold parameter)
SIMPLE_ALARMS = {
    "DeadLetterQueueAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        queue_dimension("ContactDeadLetterQueue"),
        "DeadLetterAlarmThreshold",
    ),
    "OldestMessageAlarm": (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        queue_dimension("ContactQueue"),
        "OldestMessageAlarmSeconds",
    ),
    "SyncActivitiesErrorsAlarm": (
        "AWS/Lambda",
        "Errors",
        function_dimension("SyncActivitiesFunction"),
        "FunctionErrorsAlarmThreshold",
    ),
    "SyncActivitiesThrottlesAlarm": (
        "AWS/Lambda",
        "Throttles",
        function_dimension("SyncActivitiesFunction"),
        "FunctionThrottlesAlarmThreshold",
    ),
    "SweepErrorsAlarm": (
        "AWS/Lambda",
        "Errors",
        function_dimension("SweepFunction"),
        "FunctionErrorsAlarmThreshold",
    ),
    "SweepThrottlesAlarm": (
        "AWS/Lambda",
        "Throttles",
        function_dimension("SweepFunction"),
        "FunctionThrottlesAlarmThreshold",
    ),
    "QuotaExhaustedAlarm": (RELAY[0], "MessagesDeferred", RELAY[1], "QuotaExhaustedAlarmThreshold"),
    "WebhookEndpointDisabledAlarm": (
        RELAY[0],
        "WebhookEndpointDisabled",
        RELAY[1],
        "WebhookAlarmThreshold",
    ),
    "WebhookDeadLetteredAlarm": (
        RELAY[0],
        "WebhookDeadLettered",
        RELAY[1],
        "WebhookAlarmThreshold",
    ),
    # Issue 20: the two webhook functions, their queues, dropped deliveries
    "FanOutWebhooksErrorsAlarm": (
        "AWS/Lambda",
        "Errors",
        function_dimension("FanOutWebhooksFunction"),
        "FunctionErrorsAlarmThreshold",
    ),
    "FanOutWebhooksThrottlesAlarm": (
        "AWS/Lambda",
        "Throttles",
        function_dimension("FanOutWebhooksFunction"),
        "FunctionThrottlesAlarmThreshold",
    ),
    "DeliverWebhooksErrorsAlarm": (
        "AWS/Lambda",
        "Errors",
        function_dimension("DeliverWebhooksFunction"),
        "FunctionErrorsAlarmThreshold",
    ),
    "DeliverWebhooksThrottlesAlarm": (
        "AWS/Lambda",
        "Throttles",
        function_dimension("DeliverWebhooksFunction"),
        "FunctionThrottlesAlarmThreshold",
    ),
    "WebhookDeadLetterQueueAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        queue_dimension("WebhookDeadLetterQueue"),
        "WebhookDeadLetterAlarmThreshold",
    ),
    "WebhookEventQueueAgeAlarm": (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        queue_dimension("WebhookEventQueue"),
        "WebhookQueueAgeAlarmSeconds",
    ),
    "WebhookDeliveryQueueAgeAlarm": (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        queue_dimension("WebhookDeliveryQueue"),
        "WebhookQueueAgeAlarmSeconds",
    ),
    "DeliveriesDroppedAlarm": (RELAY[0], "DeliveriesDropped", RELAY[1], "WebhookAlarmThreshold"),
    # The public URL: refused signatures, and the receiver's reserved concurrency reached.
    "WebhooksUnauthorizedAlarm": (
        RELAY[0],
        "WebhooksUnauthorized",
        RELAY[1],
        "WebhookUnauthorizedAlarmThreshold",
    ),
    "ReceiveWebhooksThrottlesAlarm": (
        "AWS/Lambda",
        "Throttles",
        function_dimension("ReceiveWebhooksFunction"),
        "FunctionThrottlesAlarmThreshold",
    ),
}


def test_every_alarm_is_known_and_notifies_the_alarm_topic(translated: dict[str, Any]) -> None:
    found = alarms(translated)
    assert set(found) == set(SIMPLE_ALARMS) | {
        "SyncActivitiesDurationAlarm",
        "SweepDurationAlarm",
        "FanOutWebhooksDurationAlarm",
        "DeliverWebhooksDurationAlarm",
        "DeferredWaitingAlarm",
    }
    for logical_id, alarm in found.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id


@pytest.mark.parametrize("logical_id", sorted(SIMPLE_ALARMS))
def test_an_alarm_watches_its_metric_against_its_threshold_parameter(
    translated: dict[str, Any], logical_id: str
) -> None:
    namespace, metric, dimensions, threshold = SIMPLE_ALARMS[logical_id]
    alarm = alarms(translated)[logical_id]
    parameters = translated["Parameters"]

    assert alarm["Namespace"] == namespace
    assert alarm["MetricName"] == metric
    assert alarm["Dimensions"] == dimensions
    assert alarm["Threshold"] == {"Ref": threshold}
    assert threshold in parameters
    assert parameters[threshold]["Type"] == "Number"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_dead_letters_alarm_from_the_first_one_by_default(translated: dict[str, Any]) -> None:
    assert translated["Parameters"]["DeadLetterAlarmThreshold"]["Default"] == 0


@pytest.mark.parametrize(
    ("logical_id", "function_id", "expression"),
    [
        (
            "SyncActivitiesDurationAlarm",
            "SyncActivitiesFunction",
            {"Fn::Sub": "100 * duration / ${FunctionTimeout}000"},
        ),
        ("SweepDurationAlarm", "SweepFunction", "100 * duration / 300000"),
        ("FanOutWebhooksDurationAlarm", "FanOutWebhooksFunction", "100 * duration / 30000"),
        ("DeliverWebhooksDurationAlarm", "DeliverWebhooksFunction", "100 * duration / 60000"),
    ],
)
def test_duration_alarms_compare_the_longest_run_with_the_timeout(
    translated: dict[str, Any], logical_id: str, function_id: str, expression: Any
) -> None:
    alarm = alarms(translated)[logical_id]
    duration, percent = alarm["Metrics"]
    assert duration["MetricStat"]["Metric"]["MetricName"] == "Duration"
    assert duration["MetricStat"]["Metric"]["Dimensions"] == function_dimension(function_id)
    assert duration["MetricStat"]["Stat"] == "Maximum"
    assert percent["Expression"] == expression
    assert alarm["Threshold"] == {"Ref": "DurationAlarmPercent"}
    # The expression's constant is the function's own timeout (ms)
    timeout = translated["Resources"][function_id]["Properties"]["Timeout"]
    if isinstance(expression, str):
        assert f"/ {int(timeout) * 1000}" in expression
    else:
        assert timeout == {"Ref": "FunctionTimeout"}


def test_deferred_contacts_waiting_past_the_reset(translated: dict[str, Any]) -> None:
    alarm = alarms(translated)["DeferredWaitingAlarm"]
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    assert metrics["deferred"]["MetricStat"]["Metric"]["MetricName"] == "MessagesDeferred"
    assert metrics["enqueued"]["MetricStat"]["Metric"]["MetricName"] == "DeferredContactsEnqueued"
    for id_ in ("deferred", "enqueued"):
        metric = metrics[id_]["MetricStat"]["Metric"]
        assert (metric["Namespace"], metric["Dimensions"]) == RELAY
        assert metrics[id_]["MetricStat"]["Period"] == {
            "Fn::FindInMap": ["AlarmPeriod", {"Ref": "DeferredWaitingAlarmHours"}, "Seconds"]
        }
    assert metrics["waiting"]["ReturnData"] is True
    periods = translated["Mappings"]["AlarmPeriod"]
    allowed = translated["Parameters"]["DeferredWaitingAlarmHours"]["AllowedValues"]
    assert {str(h): {"Seconds": h * 3600} for h in allowed} == periods


def test_alarm_email_subscribes_only_when_given(translated: dict[str, Any]) -> None:
    subscription = translated["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert translated["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    assert translated["Parameters"]["AlarmEmail"]["Default"] == ""
    pattern = re.compile(translated["Parameters"]["AlarmEmail"]["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch("ops@example.com")
    assert not pattern.fullmatch("not an address")


def test_the_dashboard_shows_the_relays_metrics_and_every_alarm(
    translated: dict[str, Any],
) -> None:
    body = translated["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    # Given the body with its ${...} references as placeholders, it is JSON
    dashboard = json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body))
    widgets = dashboard["widgets"]
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(
        f"<{logical_id}.Arn>" for logical_id in alarms(translated)
    )
    shown = {
        metric[1]
        for widget in widgets
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
        if metric[0] == "LeadLexRelay"
    }
    assert shown >= {
        "ActivitiesPublished",
        "LeadLexRequests",
        "MessagesCoalesced",
        "MessagesDeferred",
        "WebhookDelivered",
        "WebhookDeadLettered",
        "WebhookEndpointDisabled",
        "WebhookDeliveriesQueued",
        "WebhookRetried",
        "WebhookDeliveriesParked",
        "WebhookDeliveriesReturned",
        "DeliveriesDropped",
    }
    for widget in widgets:
        for metric in widget["properties"].get("metrics", []):
            if metric[0] == "LeadLexRelay":
                assert metric[2:4] == ["service", "activity-relay"]


def test_the_metrics_alarmed_on_are_the_ones_the_handlers_emit() -> None:
    # A renamed metric would leave its alarm silent: the names are string literals in the code
    root = Path(__file__).resolve().parents[2]
    sources = "".join(p.read_text() for p in (root / "functions").glob("*/app.py"))
    for metric in (
        "MessagesDeferred",
        "DeferredContactsEnqueued",
        "ActivitiesPublished",
        "WebhookDeadLettered",
        "WebhookEndpointDisabled",
        "DeliveriesDropped",
        "WebhooksUnauthorized",
    ):
        assert f'"{metric}"' in sources


def test_the_dashboard_shows_both_webhook_functions_and_their_queues(
    translated: dict[str, Any],
) -> None:
    body = translated["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body))
    shown = {
        (metric[0], metric[1], metric[3])
        for widget in dashboard["widgets"]
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
    }
    for function in ("FanOutWebhooksFunction", "DeliverWebhooksFunction"):
        for name in ("Errors", "Throttles", "Duration"):
            assert ("AWS/Lambda", name, f"<{function}>") in shown
    for queue in ("WebhookEventQueue", "WebhookDeliveryQueue"):
        assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", f"<{queue}.QueueName>") in shown
    assert (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "<WebhookDeadLetterQueue.QueueName>",
    ) in shown


def test_the_public_receiver_is_capped_by_default(translated: dict[str, Any]) -> None:
    """A flood of unsigned requests takes at most the receiver's reserved concurrency, never
    the sync and webhook functions' share of the account (docs/design.md, "LeadLex webhooks in")."""
    parameter = translated["Parameters"]["WebhookReceiverReservedConcurrency"]
    receiver = translated["Resources"]["ReceiveWebhooksFunction"]["Properties"]
    condition = translated["Conditions"]["WebhookReceiverConcurrencyReserved"]

    assert parameter["Default"] == 5
    assert parameter["MinValue"] == 0  # 0: unreserved, for accounts at the minimum quota
    assert receiver["ReservedConcurrentExecutions"] == {
        "Fn::If": [
            "WebhookReceiverConcurrencyReserved",
            {"Ref": "WebhookReceiverReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert condition == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "WebhookReceiverReservedConcurrency"}, 0]}]
    }
