"""Tracing stays available: with POWERTOOLS_TRACE_DISABLED=false in a Lambda-like environment the
handler's first invocation creates the Tracer, whose subsegments reach the X-Ray daemon's
address: the handler's own, and one per AWS and LeadLex call (the SDK patched botocore and
requests before the runtime made its clients). With tracing off, no SDK and nothing sent.

The handler runs in a fresh interpreter (a cold container) against the cold-start benchmark's
local stub of AWS and LeadLex; the "daemon" is a UDP socket of this test on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks import cold_start
from benchmarks._stub_endpoint import StubEndpoint

_CHILD = (
    cold_start.CHILD_PREAMBLE
    + """
import app
imported_sdk = "aws_xray_sdk.core" in sys.modules
answer = app.lambda_handler(event, Context())
print(json.dumps({"imported_sdk": imported_sdk, "answer": answer,
                  "sdk_after_call": "aws_xray_sdk.core" in sys.modules}))
"""
)


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        yield udp


def invoke_sync(daemon: socket.socket, tracing: dict[str, str]) -> dict[str, Any]:
    invocation = cold_start.Invocation("sync", "sync_activities", _sqs_event(), tracing)
    with StubEndpoint() as stub:
        env = cold_start.invocation_environment(invocation, stub.url)
        env["AWS_XRAY_DAEMON_ADDRESS"] = f"127.0.0.1:{daemon.getsockname()[1]}"
        completed = subprocess.run(
            [sys.executable, "-c", _CHILD],
            cwd=cold_start.ROOT / "functions" / "sync_activities",
            env={"PATH": "/usr/bin:/bin", **env},
            input=json.dumps(invocation.event),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    result: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return result


def _sqs_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (cold_start.ROOT / "events" / "sqs-plain-id.json").read_text()
    )
    return event


def received(daemon: socket.socket, wait_s: float) -> list[dict[str, Any]]:
    """The segment documents sent to the daemon (each datagram: a header line, a document)."""
    daemon.settimeout(wait_s)
    documents = []
    try:
        while True:
            datagram, _ = daemon.recvfrom(65536)
            _header, _, body = datagram.decode().partition("\n")
            documents.append(json.loads(body))
            daemon.settimeout(0.5)
    except TimeoutError:
        return documents


def test_with_tracing_on_the_first_invocation_traces_the_handler_and_its_calls(
    daemon: socket.socket,
) -> None:
    # Given the sync handler in a container with active tracing (a sampled trace id)
    result = invoke_sync(daemon, dict(cold_start.TRACING_ON))

    # Then its import left the X-Ray SDK out; its first invocation brought it in and succeeded
    assert result["imported_sdk"] is False
    assert result["sdk_after_call"] is True
    assert result["answer"] == {"batchItemFailures": []}
    # And the daemon got the handler's subsegment (a cold start) and the calls it made
    documents = received(daemon, wait_s=5)
    by_name = {document["name"]: document for document in documents}
    handler = by_name["## lambda_handler"]
    assert handler["annotations"]["ColdStart"] is True
    assert handler["annotations"]["Service"] == "activity-relay"
    assert handler["trace_id"] == "1-6751c000-0123456789abcdef01234567"
    aws = {document["name"] for document in documents if document.get("namespace") == "aws"}
    assert {"secretsmanager", "dynamodb", "sns", "events"} <= aws
    remote = [document for document in documents if document.get("namespace") == "remote"]
    assert any("/v1/contacts/" in document["http"]["request"]["url"] for document in remote)


def test_with_tracing_off_nothing_is_traced_and_no_sdk_is_loaded(daemon: socket.socket) -> None:
    result = invoke_sync(daemon, dict(cold_start.TRACING_OFF))

    assert result["answer"] == {"batchItemFailures": []}
    assert result["imported_sdk"] is result["sdk_after_call"] is False
    assert received(daemon, wait_s=1) == []
