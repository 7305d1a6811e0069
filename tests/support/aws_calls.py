"""Watching and steering boto3 clients in tests: the parameters of every call of an operation,
and calls answered with an injected failure instead of reaching moto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def record_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of every `operation` call the client makes from now on."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(params)

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"provide-client-params.{service}.{operation}", record)
    return calls


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


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message a receive hands out now, with its attributes, deleted as read."""
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", []):
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    return messages


def string_attributes(message: dict[str, Any]) -> dict[str, str]:
    return {
        name: value["StringValue"]
        for name, value in (message.get("MessageAttributes") or {}).items()
        if "StringValue" in value
    }
