"""Subscriber queues on the relay's topic and bus: the calls that make one and undo it.

One code path for every subscriber queue the tooling makes: the local stack's own two (made
once at start, relay_local/embedded.py) and the temporary ones of ``relay tail``
(``TemporarySubscribers``), on the local stack and on AWS alike.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

BUS_PATTERN: Final = {"detail-type": ["activity.created"]}
"""What a rule on the relay's bus selects: every event it publishes (DetailType, CONTRACT.md)."""
TEMPORARY_RETENTION: Final = 3600
"""Seconds a temporary queue keeps a message: bounds what a tail killed with -9 leaves behind."""
_QUEUE_NAME_LIMIT: Final = 80


def create_queue(
    sqs: SQSClient,
    name: str,
    *,
    allow: tuple[str, str] | None = None,
    attributes: Mapping[QueueAttributeNameType, str] | None = None,
) -> tuple[str, str]:
    """A queue (FIFO when the name ends in .fifo): its URL and ARN. ``allow`` = (service
    principal, source ARN): the one sender its policy admits, e.g. the topic."""
    wanted: dict[QueueAttributeNameType, str] = dict(attributes or {})
    if name.endswith(".fifo"):
        wanted["FifoQueue"] = "true"
    url = sqs.create_queue(QueueName=name, Attributes=wanted)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    if allow is not None:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, *allow)})
    return url, arn


def queue_policy(queue_arn: str, principal: str, source_arn: str) -> str:
    """Only ``principal`` (sns.amazonaws.com, events.amazonaws.com), on behalf of
    ``source_arn`` alone, may send to the queue."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "relay-subscriber",
                    "Effect": "Allow",
                    "Principal": {"Service": principal},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
                }
            ],
        }
    )


def subscribe_to_topic(
    sns: SNSClient, topic_arn: str, queue_arn: str, filter_policy: Mapping[str, Any] | None = None
) -> str:
    """The queue subscribed with raw delivery (the event document is the body): the
    subscription's ARN."""
    attributes = {"RawMessageDelivery": "true"}
    if filter_policy is not None:
        attributes["FilterPolicy"] = json.dumps(filter_policy)
    return sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]


def put_bus_rule(
    events: EventBridgeClient, bus_name: str, rule: str, pattern: Mapping[str, Any] = BUS_PATTERN
) -> str:
    """A rule on the bus (no target yet): its ARN, which the queue's policy names."""
    return events.put_rule(Name=rule, EventBusName=bus_name, EventPattern=json.dumps(pattern))[
        "RuleArn"
    ]


def target_queue(events: EventBridgeClient, bus_name: str, rule: str, queue_arn: str) -> None:
    events.put_targets(
        Rule=rule, EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )


def temporary_name(resource: str, suffix: str = "") -> str:
    """``<resource>-tail-<random>``: names the stack's topic or bus it watches, and is never
    the name of a queue someone else made."""
    base = resource.rsplit(":", 1)[-1].removesuffix(".fifo")
    tail = f"-tail-{secrets.token_hex(4)}{suffix}"
    return base[: _QUEUE_NAME_LIMIT - len(tail)] + tail


@dataclass(frozen=True)
class Channel:
    """Where the relay publishes: ``topic`` (an SNS topic ARN) or ``bus`` (a bus name)."""

    name: str
    resource: str


@dataclass
class TemporarySubscribers:
    """A queue per channel, subscribed (topic) or behind a rule (bus), each removed on exit
    whatever ended the tail; what could not be removed is named on ``err`` with the command
    that removes it.

        with TemporarySubscribers(sqs, sns, events, channels, err) as queues:
            ...  # {"topic": queue URL, "bus": queue URL}
    """

    sqs: SQSClient
    sns: Callable[[], SNSClient]
    events: Callable[[], EventBridgeClient]
    channels: list[Channel]
    err: IO[str]
    queues: dict[str, str] = field(default_factory=dict)
    left_behind: int = 0
    _undo: list[tuple[str, Callable[[], object]]] = field(default_factory=list)

    def __enter__(self) -> dict[str, str]:
        try:
            made = [self._subscribe(channel) for channel in self.channels]
        except BaseException:
            self.close()
            raise
        print(f"relay: created {'; '.join(made)}; removed when tail stops", file=self.err)
        return self.queues

    def __exit__(self, *_: object) -> None:
        self.close()

    def _subscribe(self, channel: Channel) -> str:
        fifo = channel.name == "topic" and channel.resource.endswith(".fifo")
        name = temporary_name(channel.resource, ".fifo" if fifo else "")
        retention: dict[QueueAttributeNameType, str] = {
            "MessageRetentionPeriod": str(TEMPORARY_RETENTION)
        }
        if channel.name == "topic":
            url, arn = create_queue(
                self.sqs, name, allow=("sns.amazonaws.com", channel.resource), attributes=retention
            )
            self._will(f"delete queue {url}", lambda: self.sqs.delete_queue(QueueUrl=url))
            sns = self.sns()
            subscription = subscribe_to_topic(sns, channel.resource, arn)
            self._will(
                f"unsubscribe {subscription}",
                lambda: sns.unsubscribe(SubscriptionArn=subscription),
            )
            self.queues[channel.name] = url
            return f"queue {name} subscribed to topic {channel.resource}"
        events, bus = self.events(), channel.resource
        rule_arn = put_bus_rule(events, bus, name)
        self._will(
            f"delete rule {name} on bus {bus}",
            lambda: events.delete_rule(Name=name, EventBusName=bus),
        )
        url, arn = create_queue(
            self.sqs, name, allow=("events.amazonaws.com", rule_arn), attributes=retention
        )
        self._will(f"delete queue {url}", lambda: self.sqs.delete_queue(QueueUrl=url))
        target_queue(events, bus, name, arn)
        self._will(
            f"remove the target of rule {name}",
            lambda: events.remove_targets(Rule=name, EventBusName=bus, Ids=["queue"]),
        )
        self.queues[channel.name] = url
        return f"queue {name} behind rule {name} on bus {bus}"

    def _will(self, what: str, undo: Callable[[], object]) -> None:
        self._undo.append((what, undo))

    def close(self) -> None:
        """Undo what was made, newest first; a failure does not stop the rest."""
        while self._undo:
            what, undo = self._undo.pop()
            try:
                undo()
            except (ClientError, BotoCoreError) as error:
                self.left_behind += 1
                print(f"relay: could not {what} ({error}); do it by hand", file=self.err)
