"""A Lambda Function URL on 127.0.0.1: HTTP requests → payload-format-2.0 events → the handler,
in-process; its answer → the HTTP response. For the webhook receiver on a laptop.

    with FunctionUrlServer(app.lambda_handler, function_name="receive-webhooks") as url:
        url.url                  # http://127.0.0.1:<port>/ — what LeadLex (the sandbox) posts to

What matches AWS: the event's shape (``version`` 2.0, lower-cased ``headers``, ``rawPath``,
``requestContext.http``...), bodies base64-encoded unless their content type is text or JSON, a
context counting down from the function's timeout, and the response rules (a dict with
``statusCode``; anything else becomes a 200 JSON body; an exception a 502). What does not: no
concurrency limit, no 6 MB payload limit (the receiver enforces its own 256 KB).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.utilities.typing import LambdaContext

from loopback import LoopbackServer, StartStop

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], LambdaContext], Any]

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")


def function_url_event(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    source_ip: str = "127.0.0.1",
    domain: str = "localhost",
) -> dict[str, Any]:
    """The event a Function URL hands its function for one request (payload format 2.0)."""
    parts = urlsplit(path)
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        # Repeated headers arrive comma-joined, as on AWS.
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    content_type = lowered.get("content-type", "")
    as_text = content_type.startswith(_TEXT_TYPES) and _is_utf8(body)
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": domain.split(".", 1)[0],
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": method,
                "path": parts.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not as_text,
    }
    if body:
        event["body"] = body.decode() if as_text else base64.b64encode(body).decode()
    return event


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def http_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """What a Function URL makes of the handler's return value."""
    if isinstance(result, Mapping) and "statusCode" in result:
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        return int(result["statusCode"]), headers, body
    return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()


class UrlContext(LambdaContext):
    """A Lambda context whose remaining time counts down from the function's timeout."""

    def __init__(self, function_name: str, timeout_seconds: int, memory_mb: int) -> None:
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self._memory_limit_in_mb = memory_mb
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function_name}"
        self._log_stream_name = f"local/{self._aws_request_id}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionUrlServer(StartStop):
    """Serves one function's URL from a daemon thread on 127.0.0.1 until stop()."""

    def __init__(
        self,
        handler: Handler,
        *,
        function_name: str,
        timeout_seconds: int = 3,
        memory_mb: int = 128,
        port: int = 0,
        invoke_lock: threading.Lock | None = None,
    ) -> None:
        """``invoke_lock``: held during each invocation; share it with other functions run in
        this process (their handlers share Powertools' Logger and Metrics, which Lambda never
        shares between functions)."""
        self.handler = handler
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self._port = port
        self._http: LoopbackServer | None = None
        # One invocation at a time, like a function with reserved concurrency 1: the handler's
        # module state (Powertools metrics) is not meant to be shared by threads.
        self._invoke_lock = invoke_lock or threading.Lock()

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the function URL is not being served")
        return f"{self._http.url}/"

    def invoke(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        event = function_url_event(method, path, headers, body)
        context = UrlContext(self.function_name, self.timeout_seconds, self.memory_mb)
        with self._invoke_lock:
            return self.handler(event, context)

    def start(self) -> FunctionUrlServer:
        if self._http is not None:
            raise RuntimeError("already serving")
        owner = self

        class _Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                try:
                    status, headers, payload = http_response(
                        owner.invoke(method, self.path, dict(self.headers.items()), body)
                    )
                except Exception:
                    # As on AWS: the caller sees a 502, the log the traceback.
                    logger.exception("%s raised", owner.function_name)
                    status, headers, payload = 502, {}, b'{"Message":"Internal Server Error"}'
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the function's own log lines tell what happened."""

        self._http = LoopbackServer(
            _Request, port=self._port, name=f"function-url-{self.function_name}"
        ).start()
        return self

    def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.stop()


RECEIVER_ID = "ReceiveWebhooksFunction"
"""Logical id of the webhook receiver in the template."""
RECEIVER_APP = Path(__file__).resolve().parents[2] / "functions" / "receive_webhooks" / "app.py"


def receiver_handler() -> Handler:
    """The webhook receiver's handler, imported once per process under a name of its own (every
    function's module is `app`; the sync function's owns that name here)."""
    name = "receive_webhooks_app"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, RECEIVER_APP)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {RECEIVER_APP}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    handler: Handler = module.lambda_handler
    return handler
