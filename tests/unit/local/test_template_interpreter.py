"""The template interpreter on small templates: what it resolves, what it refuses, and the order
it creates in. No AWS: nothing here is provisioned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relay_local.template import ProvisionedResource, TemplateError, load_template
from relay_local.template.interpreter import Resolver, creation_order, resolve_parameters


def resolver(
    template: dict[str, Any], resources: dict[str, ProvisionedResource] | None = None
) -> Resolver:
    return Resolver(
        template,
        resolve_parameters(template),
        resources or {},
        stack_name="unit",
        region="eu-west-1",
        account_id="111122223333",
    )


def queue(logical_id: str) -> ProvisionedResource:
    url = f"https://sqs.local/{logical_id}"
    return ProvisionedResource(logical_id, "AWS::SQS::Queue", url, {"Arn": f"arn:{logical_id}"})


def test_an_unsupported_intrinsic_function_is_a_template_error_that_names_it() -> None:
    # Given a property that imports another stack's export (Fn::ImportValue is not interpreted)
    template: dict[str, Any] = {"Resources": {}}
    fragment = {"QueueName": {"Fn::ImportValue": "shared-queue-name"}}

    # When it is resolved, then the error names the function and says it is not local
    with pytest.raises(TemplateError, match=r"intrinsic function Fn::ImportValue is not supported"):
        resolver(template).resolve(fragment)


def test_short_form_tags_load_as_their_long_forms(tmp_path: Path) -> None:
    # Given a template written with !Ref, !GetAtt and !Sub
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  Queue:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      QueueName: !Sub ${AWS::StackName}-contacts\n"
        "      Target: !GetAtt Other.Arn\n"
        "      Source: !Ref Other\n",
        encoding="utf-8",
    )

    # When it is loaded
    properties = load_template(path)["Resources"]["Queue"]["Properties"]

    # Then each tag reads as CloudFormation's long form (GetAtt's dotted name split in two)
    assert properties == {
        "QueueName": {"Fn::Sub": "${AWS::StackName}-contacts"},
        "Target": {"Fn::GetAtt": ["Other", "Arn"]},
        "Source": {"Ref": "Other"},
    }


def test_a_file_without_resources_is_not_a_template(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Parameters: {}\n", encoding="utf-8")

    with pytest.raises(TemplateError, match="not a CloudFormation template"):
        load_template(path)


def test_sub_if_and_no_value_resolve_against_parameters_pseudo_parameters_and_resources() -> None:
    # Given a parameter, a condition on it and a created queue
    template: dict[str, Any] = {
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
        "Resources": {},
    }
    resources = {"Queue": queue("Queue")}

    # When a fragment using them is resolved
    resolved = resolver(template, resources).resolve(
        {
            "Name": {"Fn::Sub": "${AWS::StackName}-${Stage}-${AWS::Region}"},
            "Target": {"Fn::Sub": "${Queue.Arn} ${!Literal}"},
            "Retention": {"Fn::If": ["IsProd", 14, {"Ref": "AWS::NoValue"}]},
        }
    )

    # Then pseudo parameters and attributes are filled in, ${!...} stays literal, and a false
    # condition's AWS::NoValue removes the key
    assert resolved == {"Name": "unit-dev-eu-west-1", "Target": "arn:Queue ${Literal}"}


def test_outputs_leave_out_what_was_not_created_locally() -> None:
    # Given Outputs naming a created queue and a function that is never created locally
    template: dict[str, Any] = {
        "Resources": {},
        "Outputs": {
            "QueueUrl": {"Value": {"Ref": "Queue"}},
            "FunctionName": {"Value": {"Ref": "SyncFunction"}},
        },
    }

    # When the outputs are resolved
    outputs = resolver(template, {"Queue": queue("Queue")}).outputs()

    # Then only the queue's is there
    assert outputs == {"QueueUrl": "https://sqs.local/Queue"}


def test_creation_order_puts_each_resource_after_those_it_refers_to() -> None:
    # Given a policy declared first, on a queue that redrives to a dead-letter queue declared last
    template: dict[str, Any] = {
        "Resources": {
            "Policy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"Queues": [{"Ref": "Queue"}]},
            },
            "Function": {"Type": "AWS::Serverless::Function", "Properties": {}},
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": "Dlq.Arn"}}},
            },
            "Dlq": {"Type": "AWS::SQS::Queue"},
        }
    }

    # When the order of the queue types is asked for
    order = creation_order(
        template, resolver(template), {"AWS::SQS::Queue", "AWS::SQS::QueuePolicy"}
    )

    # Then each comes after what it refers to, and the other types are left out
    assert order == ["Dlq", "Queue", "Policy"]


def test_a_circular_reference_is_a_template_error() -> None:
    template: dict[str, Any] = {
        "Resources": {
            "A": {"Type": "AWS::SQS::Queue", "Properties": {"Peer": {"Fn::GetAtt": "B.Arn"}}},
            "B": {"Type": "AWS::SQS::Queue", "Properties": {"Peer": {"Ref": "A"}}},
        }
    }

    with pytest.raises(TemplateError, match="circular reference"):
        creation_order(template, resolver(template), {"AWS::SQS::Queue"})
