"""The relay's stack on a laptop, provisioned from ``template.yaml`` itself.

The template is the only declaration of the queues, tables, topics, bus and secrets
(CONTRACT.md). ``provision_stack`` reads it, resolves its parameters (defaults, or overrides),
conditions and intrinsic functions, and creates those resources with the boto3 clients it is
given: under ``moto.mock_aws()`` in-process, or against a moto server (or any AWS-compatible)
endpoint.

    clients = StackClients.create(region_name="us-east-1")          # inside moto.mock_aws()
    stack = provision_stack(clients, parameter_overrides={"MaxReceiveCount": 3})
    os.environ.update(stack.function_environment())                 # + LEADLEX_API_KEY yourself

Why not moto's own CloudFormation: it cannot create this template. Of the 21 resource types SAM
translates it into, 9 have no model in moto's CloudFormation (5.2: the Function URL, the
alarms, the Scheduler schedule, the secret, the SNS subscription, the queue policy, the event
invoke config and the schema registry and schema), and ``CreateStack`` fails on the first
``Fn::GetAtt`` of one. So the template is interpreted here and only what can run locally is
created: ``AWS::SQS::Queue``, ``AWS::SQS::QueuePolicy``, ``AWS::DynamoDB::Table``,
``AWS::SNS::Topic``, ``AWS::SNS::Subscription``, ``AWS::Events::EventBus``,
``AWS::Events::Archive``, ``AWS::SecretsManager::Secret`` (a generated value: a random
placeholder) and ``AWS::KMS::Key`` (its key policy left out: it names a function's role, and
moto does not enforce it). The functions, their layer and log groups are not; a function's
environment is resolved against what was created.

- ``interpreter``: the template read as CloudFormation reads it (tags, parameters, conditions,
  intrinsic functions, creation order); creates nothing.
- ``creators``: one creator per provisionable resource type, and the clients they use.
- ``provisioning``: ``provision_stack`` and the ``LocalStack`` it returns.
"""

from relay_local.template.creators import StackClients
from relay_local.template.interpreter import (
    TEMPLATE_PATH,
    ProvisionedResource,
    TemplateError,
    load_template,
)
from relay_local.template.provisioning import (
    FUNCTION_ID,
    SECRET_ID_VARIABLE,
    LocalStack,
    provision_stack,
)

__all__ = [
    "FUNCTION_ID",
    "SECRET_ID_VARIABLE",
    "TEMPLATE_PATH",
    "LocalStack",
    "ProvisionedResource",
    "StackClients",
    "TemplateError",
    "load_template",
    "provision_stack",
]
