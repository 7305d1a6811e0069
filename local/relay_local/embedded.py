"""The whole relay on a laptop: moto's server as AWS, the template's resources, the LeadLex
sandbox (or the real API), subscribers, and the SQS trigger invoking the handler in-process.

    with EmbeddedRelay() as relay:
        contact = relay.sandbox.create_contact(activities=5)
        relay.sqs.send_message(QueueUrl=relay.stack.contact_queue_url, MessageBody=contact)
        relay.trigger.drain()
        relay.received()            # what each subscriber got, as (subscriber, document) pairs

The handler reads its configuration from ``os.environ``, as in Lambda; the relay sets it on
start and puts back what was there on stop.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from activity_relay.adapters.dynamodb.endpoints import DynamoDbEndpointStore
from activity_relay.runtime import registry
from activity_relay.runtime.deliver import ALLOW_LOCAL_TARGETS_VARIABLE
from leadlex_sandbox import SandboxServer
from loopback import StartStop
from relay_cli.events import event_document
from relay_cli.subscriptions import (
    BUS_PATTERN,
    create_queue,
    put_bus_rule,
    subscribe_to_topic,
    target_queue,
)
from relay_cli.target import FAKE_CREDENTIALS, STATE_FILE
from relay_local.server import MotoServer
from relay_local.template import LocalStack, StackClients, provision_stack
from relay_local.trigger import EventSourceMapping, Handler, SqsTrigger
from relay_local.webhooks_in import WebhookReceiverUrl

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
FUNCTION_DIR: Final = REPO_ROOT / "functions" / "sync_activities"
WEBHOOK_FUNCTIONS: Final = (
    ("FanOutWebhooksFunction", "ActivityEvents", "fan_out_webhooks"),
    ("DeliverWebhooksFunction", "Deliveries", "deliver_webhooks"),
)
"""Webhooks out: each function's logical id, its SQS event, and its folder under functions/."""
LOCAL_RETRY_SCHEDULE: Final = "1s,2s,4s"
"""The webhook retry schedule of a laptop stack: a retry is seen in seconds, not minutes."""

REGION: Final = "us-east-1"

TOPIC_FILTER: Final = {"activity_type": ["call", "meeting"]}
"""The topic subscriber's filter policy: an example of selecting on a message attribute."""


@dataclass(frozen=True)
class Subscriber:
    name: str
    queue_url: str
    description: str


@dataclass(frozen=True)
class Received:
    subscriber: str
    document: Mapping[str, Any]  # the contract's event document


class EmbeddedRelay(StartStop):
    """Starts everything on enter, stops everything it started on exit."""

    def __init__(
        self,
        *,
        aws_port: int = 0,
        stack_name: str = "relay-local",
        parameter_overrides: Mapping[str, str | int] | None = None,
        leadlex_api_key: str | None = None,
        leadlex_base_url: str | None = None,
        visibility_timeout: int | None = None,
        metrics: bool = True,
        sandbox_seed: int = 7,
        webhooks: bool = False,
        sandbox_port: int = 0,
    ) -> None:
        """Without ``leadlex_api_key`` the relay reads a fresh sandbox; with it, the API at
        ``leadlex_base_url`` (default: the template's LeadLexApiBaseUrl). ``webhooks`` serves the
        webhook receiver's Function URL on 127.0.0.1 and registers it with the sandbox: every
        activity added there then reaches the contact queue by itself (webhooks_in.py)."""
        self._aws = MotoServer(port=aws_port)
        self._stack_name = stack_name
        # On a laptop, events should show at once: no debounce delay unless asked for, and an
        # endpoint just added gets the next event (no cached endpoint list).
        self._overrides = {
            "DeliveryDelaySeconds": 0,
            "WebhookEndpointCacheSeconds": 0,
            "WebhookRetrySchedule": LOCAL_RETRY_SCHEDULE,
            **(parameter_overrides or {}),
        }
        self._api_key = leadlex_api_key
        self._api_base_url = leadlex_base_url
        self._visibility_timeout = visibility_timeout
        self._metrics = metrics
        self._sandbox_seed = sandbox_seed
        self._sandbox_port = sandbox_port
        self._saved_env: dict[str, str | None] = {}
        self._sandbox: SandboxServer | None = None
        self._stack: LocalStack | None = None
        self._trigger: SqsTrigger | None = None
        self._webhooks = webhooks
        self._receiver: WebhookReceiverUrl | None = None
        # Both functions run in this process and share Powertools' Logger and Metrics: one
        # invocation at a time, as if each were its own Lambda container.
        self._invocations = threading.Lock()
        self.subscribers: list[Subscriber] = []
        self.webhook_triggers: list[SqsTrigger] = []
        """The two webhook functions' event sources: the fan-out's events, then deliveries."""

    # --- what a running relay offers -------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return self._aws.endpoint_url

    @property
    def stack(self) -> LocalStack:
        if self._stack is None:
            raise RuntimeError("the embedded relay is not running")
        return self._stack

    @property
    def trigger(self) -> SqsTrigger:
        if self._trigger is None:
            raise RuntimeError("the embedded relay is not running")
        return self._trigger

    @property
    def sandbox(self) -> SandboxServer:
        if self._sandbox is None:
            raise RuntimeError("no LeadLex sandbox: the relay reads the real API")
        return self._sandbox

    @property
    def leadlex_base_url(self) -> str:
        return os.environ["LEADLEX_API_BASE_URL"]

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )

    @property
    def sqs(self) -> SQSClient:
        return self.session().client("sqs", endpoint_url=self.endpoint_url)

    @property
    def receiver(self) -> WebhookReceiverUrl:
        """The webhook receiver's local Function URL (with ``webhooks=True``)."""
        if self._receiver is None:
            raise RuntimeError("no webhook receiver: start the relay with webhooks=True")
        return self._receiver

    def received(self) -> list[Received]:
        """Everything the subscriber queues hold, consumed, in arrival order per subscriber."""
        sqs = self.sqs
        found: list[Received] = []
        for subscriber in self.subscribers:
            for body in drain_queue(sqs, subscriber.queue_url):
                document = event_document(body)
                if document is not None:
                    found.append(Received(subscriber.name, document))
        return found

    def update_function_environment(self, values: Mapping[str, str]) -> None:
        """Change the function's configuration, as a deployment would: the next invocation is
        a cold start that reads it."""
        self._set_env(values)
        _fresh_handler()

    def config(self) -> dict[str, Any]:
        """What the relay CLI needs to find this stack (the state file's content)."""
        stack = self.stack
        outputs = dict(stack.outputs)
        if self._receiver is not None:
            outputs["WebhookUrl"] = self._receiver.url
        if self._sandbox is not None:
            outputs["LeadLexSandboxAdminUrl"] = self._sandbox.admin_url  # relay sandbox
        return {
            "endpoint_url": self.endpoint_url,
            "region": stack.region,
            "stack_name": stack.stack_name,
            "outputs": outputs,
            "subscribers": {s.name: s.queue_url for s in self.subscribers},
            "leadlex_base_url": self.leadlex_base_url,
        }

    def write_state_file(self, path: Path = STATE_FILE) -> None:
        path.write_text(json.dumps(self.config(), indent=2) + "\n", encoding="utf-8")

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> EmbeddedRelay:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._aws.start()
        self._set_env({**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION})
        # Every boto3 client in this process, the handler's included, talks to moto.
        self._set_env({"AWS_ENDPOINT_URL": self.endpoint_url})
        clients = StackClients.create(
            region_name=REGION, endpoint_url=self.endpoint_url, session=self.session()
        )
        self._stack = stack = provision_stack(
            clients, stack_name=self._stack_name, parameter_overrides=self._overrides
        )
        if self._api_key is None:
            self._sandbox = SandboxServer(
                plan="unlimited", seed=self._sandbox_seed, port=self._sandbox_port
            ).start()
            api_key, base_url = self._sandbox.create_key(), self._sandbox.base_url
        else:
            api_key = self._api_key
            base_url = self._api_base_url or str(stack.parameters["LeadLexApiBaseUrl"])
        environment = stack.function_environment()
        self._set_env(
            {
                **environment,
                "LEADLEX_API_BASE_URL": base_url,
                "LEADLEX_API_KEY": api_key,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "false" if self._metrics else "true",
            }
        )
        self.subscribers = _subscribe(clients, stack, environment.get("EVENT_SOURCE"))
        self._trigger = SqsTrigger(
            clients.sqs,
            EventSourceMapping.from_stack(stack),
            _serialized(_fresh_handler(), self._invocations),
            visibility_timeout=self._visibility_timeout,
        )
        self._start_webhooks(clients, stack)
        if self._webhooks:
            self._receiver = WebhookReceiverUrl.start(
                stack,
                clients,
                self._sandbox,
                api_key,
                set_env=self._set_env,
                invoke_lock=self._invocations,
            )

    def stop(self) -> None:
        for webhook_trigger in self.webhook_triggers:
            webhook_trigger.stop()
        self.webhook_triggers = []
        if self._receiver is not None:
            self._receiver.stop()
            self._receiver = None
        if self._trigger is not None:
            self._trigger.stop()
            self._trigger = None
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        self._aws.stop()
        self._stack = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        registry.reset()  # wired to the stack that just went away

    # --- webhooks out ------------------------------------------------------------------------

    def _start_webhooks(self, clients: StackClients, stack: LocalStack) -> None:
        # This stack says so explicitly: its endpoints are receivers on 127.0.0.1 over http.
        environment: dict[str, str] = {ALLOW_LOCAL_TARGETS_VARIABLE: "true"}
        for function_id, _, _ in WEBHOOK_FUNCTIONS:
            for name, value in stack.function_environment(function_id).items():
                # One process, one environment: two functions must not read one name apart.
                if environment.get(name, value) != value:
                    raise RuntimeError(f"{name} differs between the webhook functions")
                environment[name] = value
        self._set_env(environment)
        self.webhook_triggers = [
            SqsTrigger(
                clients.sqs,
                EventSourceMapping.from_stack(stack, function_id, event_name),
                function_handler(folder),
            )
            for function_id, event_name, folder in WEBHOOK_FUNCTIONS
        ]

    def drain_webhooks(self) -> int:
        """Fan out the events waiting, then attempt the deliveries visible now; the number of
        invocations. Retries stay hidden until their time: call again (or start_webhooks)."""
        return sum(len(trigger.drain()) for trigger in self.webhook_triggers)

    def start_webhooks(self) -> None:
        """Poll both webhook queues from threads until stop()."""
        for webhook_trigger in self.webhook_triggers:
            webhook_trigger.start(wait_seconds=1)

    def endpoint_store(self) -> DynamoDbEndpointStore:
        return DynamoDbEndpointStore(
            self.session().client("dynamodb", endpoint_url=self.endpoint_url),
            self.stack.outputs["WebhookEndpointTableName"],
        )

    def _set_env(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value


def _fresh_handler() -> Handler:
    """The sync function's handler, imported as Lambda would and unwired from earlier runs."""
    if str(FUNCTION_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTION_DIR))
    import app

    registry.reset()  # runtimes are cached per container; this one has a new environment
    return app.lambda_handler


def function_handler(folder: str) -> Handler:
    """functions/<folder>/app.py's handler, loaded under a name of its own (every function's
    module is called app)."""
    spec = importlib.util.spec_from_file_location(
        f"{folder}_app", REPO_ROOT / "functions" / folder / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.lambda_handler
    return handler


def _serialized(handler: Handler, lock: threading.Lock) -> Handler:
    def invoke(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
        with lock:
            return handler(event, context)

    return invoke


def _subscribe(
    clients: StackClients, stack: LocalStack, event_source: str | None
) -> list[Subscriber]:
    """A queue on the topic (with a filter policy) and a queue behind a rule on the bus."""
    topic_url, topic_queue_arn = create_queue(
        clients.sqs,
        f"{stack.stack_name}-topic-calls-meetings",
        allow=("sns.amazonaws.com", stack.topic_arn),
    )
    subscribe_to_topic(clients.sns, stack.topic_arn, topic_queue_arn, TOPIC_FILTER)
    rule = f"{stack.stack_name}-all-activities"
    pattern = {"source": [event_source or "leadlex.activities"], **BUS_PATTERN}
    rule_arn = put_bus_rule(clients.events, stack.bus_name, rule, pattern)
    bus_url, bus_queue_arn = create_queue(
        clients.sqs, f"{stack.stack_name}-bus-all", allow=("events.amazonaws.com", rule_arn)
    )
    target_queue(clients.events, stack.bus_name, rule, bus_queue_arn)
    return [
        Subscriber("topic", topic_url, f"SNS → SQS, filter policy {json.dumps(TOPIC_FILTER)}"),
        Subscriber("bus", bus_url, "EventBridge rule (every activity.created) → SQS"),
    ]


def drain_queue(sqs: SQSClient, queue_url: str) -> Iterator[str]:
    """Every visible message's body, each deleted once read."""
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
        for message in batch:
            yield message.get("Body", "")
