"""boto3 clients for the runtimes: one session per container, standard retries, short timeouts.

boto3 is imported when the first client is made, not at import time (cold starts,
benchmarks/cold_start.py).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

from activity_relay.runtime.registry import built_once

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    from activity_relay.adapters.kms_secrets import KmsClient


@built_once
def _session() -> Session:
    """One boto3 session per container: each further one loads botocore's data files again.
    Forgotten by registry.reset(), since a test or local stack may change its credentials."""
    import boto3

    return boto3.session.Session()


# A session is not thread-safe; local stacks build several functions' runtimes in one process.
_SESSION_LOCK = threading.Lock()


class AwsClients:
    """Clients of the container's session, with botocore's standard retries and these timeouts;
    one per service (a client is thread-safe, and each costs milliseconds at a cold start)."""

    def __init__(
        self, *, max_attempts: int = 5, connect_timeout: float = 3, read_timeout: float = 10
    ) -> None:
        from botocore.config import Config

        with _SESSION_LOCK:
            self._session = _session()
        self._config = Config(
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._clients: dict[str, Any] = {}

    def sns(self) -> SNSClient:
        return cast("SNSClient", self._client("sns"))

    def events(self) -> EventBridgeClient:
        return cast("EventBridgeClient", self._client("events"))

    def dynamodb(self) -> DynamoDBClient:
        return cast("DynamoDBClient", self._client("dynamodb"))

    def sqs(self) -> SQSClient:
        return cast("SQSClient", self._client("sqs"))

    def secretsmanager(self) -> SecretsManagerClient:
        return cast("SecretsManagerClient", self._client("secretsmanager"))

    def kms(self) -> KmsClient:
        return cast("KmsClient", self._client("kms"))

    def _client(self, service: Any) -> Any:
        # Typed by the callers above: boto3-stubs types client() per literal service name.
        with _SESSION_LOCK:
            if service not in self._clients:
                self._clients[service] = self._session.client(service, config=self._config)
            return self._clients[service]
