"""The cold-start benchmark's baseline: a handler written without care for cold starts, which
builds its three clients at import and makes one call per invocation."""

from __future__ import annotations

import os
from typing import Any

import boto3

sqs = boto3.client("sqs")
sns = boto3.client("sns")
dynamodb = boto3.client("dynamodb")


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    dynamodb.get_item(
        TableName=os.environ["WATERMARK_TABLE_NAME"], Key={"pk": {"S": "naive"}, "sk": {"S": "-"}}
    )
    return {"batchItemFailures": []}
