"""events/env.json, for `sam local invoke --env-vars`: SAM passes a function only the variables
the template declares for it, so the file must name each of them (the test fails when the
template gains one), and its values must be those of `make local`'s stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from relay_local import serve
from relay_local.template import StackClients, load_template, provision_stack

ENV_FILE = Path(__file__).resolve().parents[2] / "events" / "env.json"
TEMPLATE = load_template()
FUNCTIONS = {
    logical_id: resource
    for logical_id, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}
GLOBAL_VARIABLES: dict[str, Any] = (
    TEMPLATE.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
)
LOCAL_ENDPOINT = f"http://127.0.0.1:{serve.DEFAULT_PORT}"
# Not the stack's resources: where `make local` serves them from, and what it adds for sam local.
SAM_LOCAL_ONLY = {
    "AWS_ENDPOINT_URL": LOCAL_ENDPOINT,
    "LEADLEX_API_BASE_URL": f"http://127.0.0.1:{serve.SANDBOX_PORT}",
    "LEADLEX_API_KEY_SECRET_ID": serve.LOCAL_SECRET_NAME,
    # The stack's secret by name: its ARN ends in a suffix Secrets Manager draws at creation.
    "LEADLEX_WEBHOOK_SECRET_ID": "relay-local-LeadLexWebhookSecret",
    # A KMS key's ARN names an id KMS draws at creation: left empty, the delivery function
    # unseals with the key each ciphertext names.
    "WEBHOOK_SECRET_KEY_ARN": "",
}


def declared(logical_id: str) -> set[str]:
    own = FUNCTIONS[logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return set(GLOBAL_VARIABLES) | set(own)


def env_file() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_env_json_names_every_variable_the_template_sets(logical_id: str) -> None:
    variables = env_file().get(logical_id)
    assert variables is not None, f"events/env.json has no {logical_id}: add its variables"
    missing = declared(logical_id) - set(variables)
    assert not missing, f"events/env.json {logical_id} lacks {sorted(missing)}"
    assert all(isinstance(value, str) for value in variables.values()), "SAM wants strings"


def test_env_json_names_only_functions_and_variables_the_template_has() -> None:
    every_declared = set().union(*(declared(logical_id) for logical_id in FUNCTIONS))
    for logical_id, variables in env_file().items():
        assert logical_id in FUNCTIONS, f"{logical_id} is not a function of the template"
        # SAM ignores a name the template does not declare: a typo would pass unnoticed.
        assert set(variables) <= every_declared, sorted(set(variables) - every_declared)


@pytest.mark.integration
def test_env_json_points_at_make_locals_stack(stack_clients: StackClients) -> None:
    # Given the stack `make local` provisions (stack relay-local, moto on its fixed port)
    stack = provision_stack(
        stack_clients, stack_name="relay-local", parameter_overrides={"DeliveryDelaySeconds": 0}
    )
    known = {**SAM_LOCAL_ONLY, "CONTACT_QUEUE_URL": stack.outputs["ContactQueueUrl"]}
    for logical_id, variables in env_file().items():
        expected = {**stack.function_environment(logical_id)}
        for name, value in variables.items():
            want = SAM_LOCAL_ONLY[name] if name in SAM_LOCAL_ONLY else expected.get(name)
            want = known[name] if want is None else want
            # Queue URLs name the endpoint they were created through; make local's is fixed.
            if want.startswith("https://sqs."):
                want = LOCAL_ENDPOINT + urlsplit(want).path
            assert value == want, f"{logical_id} {name}"


def test_the_endpoint_variable_is_absent_when_deploying() -> None:
    # Declared for sam local, but CloudFormation drops it unless AwsEndpointUrl is set
    assert GLOBAL_VARIABLES["AWS_ENDPOINT_URL"] == {
        "Fn::If": ["HasAwsEndpointUrl", {"Ref": "AwsEndpointUrl"}, {"Ref": "AWS::NoValue"}]
    }
    assert TEMPLATE["Parameters"]["AwsEndpointUrl"]["Default"] == ""
