"""A local copy of the relay's stack, provisioned from ``template.yaml`` itself.

The template's parameters, conditions and intrinsic functions are resolved by the interpreter;
each provisionable resource is created, in creation order, by the creator of its type; what the
template's Outputs name comes back as a ``LocalStack``.

    clients = StackClients.create(region_name="us-east-1")          # inside moto.mock_aws()
    stack = provision_stack(clients, parameter_overrides={"MaxReceiveCount": 3})
    stack.contact_queue_url, stack.table_name, stack.topic_arn, stack.bus_name
    os.environ.update(stack.function_environment())                 # + LEADLEX_API_KEY yourself
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from relay_local.template.creators import (
    LOCALLY_IGNORED,
    PROVISIONED_TYPES,
    ResourceCreator,
    StackClients,
)
from relay_local.template.interpreter import (
    TEMPLATE_PATH,
    ProvisionedResource,
    Resolver,
    TemplateError,
    creation_order,
    load_template,
    resolve_parameters,
    scalar_str,
)

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "FUNCTION_ID",
    "SECRET_ID_VARIABLE",
    "LocalStack",
    "provision_stack",
]

FUNCTION_ID: Final = "SyncActivitiesFunction"
"""Logical id of the sync function in the template."""

SECRET_ID_VARIABLE: Final = "LEADLEX_API_KEY_SECRET_ID"  # noqa: S105 - a variable name
"""Left out of function_environment(): locally the key comes from LEADLEX_API_KEY."""

DEFAULT_ACCOUNT_ID: Final = "123456789012"
"""moto's account id; what ``AWS::AccountId`` resolves to unless told otherwise."""

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
                environment[name] = scalar_str(resolved)
        return environment

    def _resolver(self) -> Resolver:
        return Resolver(
            self.template,
            self.parameters,
            self.resources,
            stack_name=self.stack_name,
            region=self.region,
            account_id=self.account_id,
        )


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
    resolver = Resolver(
        template,
        parameters,
        resources,
        stack_name=stack_name,
        region=region,
        account_id=account_id,
    )
    creator = ResourceCreator(clients, stack_name, fifo_topic)

    for logical_id in creation_order(template, resolver, PROVISIONED_TYPES):
        declaration = template["Resources"][logical_id]
        ignored = LOCALLY_IGNORED.get(declaration["Type"], frozenset())
        declared = {
            name: value
            for name, value in (declaration.get("Properties") or {}).items()
            if name not in ignored
        }
        properties = resolver.resolve(declared)
        resources[logical_id] = creator.create(logical_id, declaration["Type"], properties)

    outputs = resolver.outputs()
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
