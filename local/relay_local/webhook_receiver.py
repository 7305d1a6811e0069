"""A webhook receiver on 127.0.0.1 that verifies every delivery with the `standardwebhooks`
library, as a subscriber would, and remembers what it got.

    with WebhookReceiver(answers=[500, 500, 200]) as receiver:   # the last answer repeats
        receiver.secret = secret                                 # what `webhooks add` printed
        ... receiver.deliveries  # each: id, timestamp, body, verified (and why not), status

For the demo, tests and benchmarks: `delay_seconds` answers slowly, `hang_seconds` holds the
connection without answering (a timeout, for the sender), `redirect_to` answers 302 there.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from loopback import LoopbackServer, StartStop, post_handler
from relay_cli.commands.webhook_listen import signature_problem


@dataclass(frozen=True)
class ReceivedDelivery:
    webhook_id: str
    timestamp: str
    signature: str
    body: str
    verified: bool
    problem: str | None
    answered: int
    received_at: float
    """time.monotonic() when the request arrived."""

    @property
    def document(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver(StartStop):
    def __init__(
        self,
        *,
        secret: str | None = None,
        answers: Sequence[int] = (200,),
        delay_seconds: float = 0.0,
        hang_seconds: float = 0.0,
        redirect_to: str | None = None,
    ) -> None:
        self.secret = secret
        self._answers = list(answers)
        self.delay_seconds = delay_seconds
        self.hang_seconds = hang_seconds
        self.redirect_to = redirect_to
        self.deliveries: list[ReceivedDelivery] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._http: LoopbackServer | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the receiver is not running")
        return f"{self._http.url}/hooks"

    def start(self) -> WebhookReceiver:
        self._http = LoopbackServer(post_handler(self._handle), name="webhook-receiver").start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        http, self._http = self._http, None
        if http is not None:
            http.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedDelivery]:
        """Block until `count` deliveries have arrived (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.01)
        return list(self.deliveries)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        body = request.rfile.read(int(request.headers.get("Content-Length", "0"))).decode()
        headers = {name.lower(): value for name, value in request.headers.items()}
        problem = signature_problem(self.secret, body, headers)
        with self._lock:
            self.requests += 1
            answer = self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]
        if self.hang_seconds:
            self._stopping.wait(self.hang_seconds)
        elif self.delay_seconds:
            time.sleep(self.delay_seconds)
        with self._lock:
            self.deliveries.append(
                ReceivedDelivery(
                    webhook_id=headers.get("webhook-id", ""),
                    timestamp=headers.get("webhook-timestamp", ""),
                    signature=headers.get("webhook-signature", ""),
                    body=body,
                    verified=problem is None,
                    problem=problem,
                    answered=302 if self.redirect_to else answer,
                    received_at=arrived,
                )
            )
        try:
            if self.redirect_to:
                request.send_response(302)
                request.send_header("Location", self.redirect_to)
            else:
                request.send_response(answer)
            request.send_header("Content-Length", "0")
            request.end_headers()
        except OSError:
            pass  # the sender gave up (its timeout) before the answer
