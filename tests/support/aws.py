"""AWS as the tests observe it (moto or the embedded stack): SQS queues as the observers of
what was published, and the calls a boto3 client makes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from relay_local.template import LocalStack


class StackFactory(Protocol):
    """The `stack_factory` fixture (tests/conftest.py): the template's stack under moto, once more
    for each call, under a stack name of its own."""

    def __call__(
        self,
        *,
        parameter_overrides: Mapping[str, str | int] | None = None,
        fifo_topic: bool = False,
    ) -> LocalStack: ...


def create_queue(sqs: Any, name: str) -> tuple[str, str]:
    """A queue (FIFO when the name ends in .fifo): its URL and ARN."""
    attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
    queue_url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return str(queue_url), str(queue_arn)


def subscribe_queue(sns: Any, sqs: Any, topic_arn: str, name: str, **attributes: str) -> str:
    queue_url, queue_arn = create_queue(sqs, name)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
    return queue_url


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message of the queue, in the order it hands them out."""
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", []):
        messages.extend(batch)
        # A FIFO queue hands out no more of a group until what it handed out is deleted.
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    return messages


def record_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of every `operation` call the client makes from now on."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(params)

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"provide-client-params.{service}.{operation}", record)
    return calls


def sns_entry_size(entry: dict[str, Any]) -> int:
    """What SNS counts: body plus each attribute's name, data type and value, in bytes."""
    return len(entry["Message"].encode()) + sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in entry.get("MessageAttributes", {}).items()
    )


def fail_calls(
    client: Any,
    operation: str,
    refused: Callable[[dict[str, Any]], bool] = lambda _: True,
    code: str = "InternalError",
) -> None:
    """Answer every `operation` call whose parameters `refused` picks with a 500 and `code`, as a
    service that is down would; the others reach moto."""

    class Down:
        status_code = 500

    def judge(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["refused"] = refused(params)

    def answer(context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if context.get("refused"):
            return Down(), {"Error": {"Code": code, "Message": "injected outage"}}
        return None

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-parameter-build.{service}.{operation}", judge)
    client.meta.events.register(f"before-call.{service}.{operation}", answer)


def string_attributes(message: dict[str, Any]) -> dict[str, str]:
    return {
        name: value["StringValue"]
        for name, value in (message.get("MessageAttributes") or {}).items()
        if "StringValue" in value
    }
