"""relay webhooks listen: deliveries received here, on the local stack, as a subscriber would.

Starts an HTTP server on 127.0.0.1 (any free port unless --port), registers it as a temporary
endpoint (--filter as add takes it), verifies each delivery's Standard Webhooks signature with
the endpoint's secret (the standardwebhooks library) and prints one line per delivery: event
id, event type, contact, activity type, which arrival of that event at this listener it is, and
whether the signature verified. With --forward-to URL each verified delivery is also POSTed
there (the raw body, its webhook-* and content-type headers) and the target's status is printed
and answered; without it a verified delivery is answered 200. A delivery that does not verify is
answered 401 and not forwarded. The endpoint is removed on exit: Ctrl-C, SIGTERM, --count N
deliveries or --idle S seconds without one.

The local stack only: it accepts http://127.0.0.1 endpoints and delivers to them. A deployed
stack cannot reach a listener on this machine, and a public tunnel is out of scope: against
AWS, relay webhooks add https://… a receiver it can reach.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from datetime import UTC, datetime
from types import FrameType
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from relay_cli.commands.webhook_stack import WebhookStack, filter_policy, now, register
from relay_cli.target import Target, UsageError

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

FORWARD_TIMEOUT = 10.0
"""Seconds a forward may take: the relay gives up on an attempt after 15."""
FORWARDED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")
DESCRIPTION = "relay webhooks listen (temporary)"
LOCAL_ONLY = (
    "relay webhooks listen works on the local stack only (`make local`): a deployed stack "
    "cannot reach a listener on this machine, and a public listener is out of scope; against "
    "AWS, `relay webhooks add https://…` a receiver it can reach"
)


def add_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listen = actions.add_parser(
        "listen",
        help="local stack: receive deliveries here, verified and printed (or forwarded)",
        description=__doc__,
    )
    listen.add_argument(
        "--forward-to",
        metavar="URL",
        help="POST each verified delivery here too, and answer what it answers",
    )
    listen.add_argument("--filter", help='SNS filter policy, e.g. \'{"activity_type": ["call"]}\'')
    listen.add_argument(
        "--port", type=int, default=0, help="listen on this port of 127.0.0.1 (default: any free)"
    )
    listen.add_argument("--count", type=int, help="stop after this many deliveries")
    listen.add_argument("--idle", type=float, help="stop after this many seconds without one")
    listen.set_defaults(run=run_listen)


def run_listen(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    if not target.local:
        raise UsageError(LOCAL_ONLY)
    _check(args)
    policy = filter_policy(args.filter)
    stack = WebhookStack(target)
    from loopback import LoopbackServer, PortInUseError, post_handler

    listener = Listener(out, args.forward_to)
    try:
        handler = post_handler(listener.handle)
        server = LoopbackServer(handler, port=args.port, name="relay-listen").start()
    except PortInUseError as error:
        raise UsageError(str(error)) from None
    try:
        url = f"{server.url}/"
        endpoint_id, listener.secret = register(stack, url, policy, DESCRIPTION)
        try:
            listener.say(f"listening on {url} as endpoint {endpoint_id}")
            listener.say(f"filter    {json.dumps(policy) if policy else '(every event)'}")
            if args.forward_to:
                listener.say(f"forwarding verified deliveries to {args.forward_to}")
                # The target gets the relay's signature headers: it needs the secret to verify.
                listener.say(f"secret    {listener.secret}   (for it to verify with; shown once)")
            listener.say("Ctrl-C stops and removes the endpoint")
            _wait(listener, args.count, args.idle)
        finally:
            stack.endpoints.remove(endpoint_id, now())
            stack.ledger.forget(endpoint_id)
    finally:
        server.stop()
    listener.say(f"{listener.received} delivery(ies); endpoint {endpoint_id} removed")
    return 0


def _check(args: argparse.Namespace) -> None:
    """Bad options are refused before anything is registered."""
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be 1 or more")
    if args.idle is not None and args.idle <= 0:
        raise UsageError("--idle must be more than 0 seconds")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be 0 to 65535")
    if args.forward_to:
        parts = urlsplit(args.forward_to)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--forward-to: not an http(s) URL: {args.forward_to}")


def _wait(listener: Listener, count: int | None, idle: float | None) -> None:
    """Until Ctrl-C, SIGTERM, `count` deliveries or `idle` seconds without one."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Signals reach the main thread only (the CLI's; not a test running it in a thread).
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, request_stop) if main else None
    try:
        while not stop.wait(0.1):
            if count is not None and listener.received >= count:
                return
            if idle is not None and time.monotonic() - listener.last_at >= idle:
                return
    except KeyboardInterrupt:
        return
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Listener:
    """What the server's handler threads share: the secret, the forward target, the output."""

    def __init__(self, out: IO[str], forward_to: str | None) -> None:
        self.out = out
        self.forward_to = forward_to
        self.secret: str | None = None
        self.received = 0
        self.last_at = time.monotonic()
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def say(self, line: str) -> None:
        with self._lock:
            print(line, file=self.out, flush=True)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in request.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        with self._lock:
            self._seen[webhook_id] = attempt = self._seen.get(webhook_id, 0) + 1
        problem = signature_problem(self.secret, body, headers)
        if problem is not None:
            status, answer, result = 401, b"", f"verified no ({problem})"
        elif self.forward_to:
            status, answer, result = self._forward(body, headers)
        else:
            status, answer, result = 200, b"", "verified yes"
        try:
            request.send_response(status)
            request.send_header("Content-Length", str(len(answer)))
            request.end_headers()
            request.wfile.write(answer)
        except OSError:
            result += " (the relay hung up before the answer)"
        self.say(f"{_summary(webhook_id, body)}  attempt {attempt}  {result}  answered {status}")
        with self._lock:
            self.received += 1
            self.last_at = time.monotonic()

    def _forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
        """POST the delivery on: its status and body to answer with, and what to print."""
        import requests

        assert self.forward_to is not None
        sent = {name: headers[name] for name in FORWARDED_HEADERS if name in headers}
        try:
            response = requests.post(
                self.forward_to,
                data=body,
                headers=sent,
                timeout=FORWARD_TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            # 502: the relay retries it on its schedule, as it would a receiver that is down.
            return 502, b"", f"verified yes  forward failed: {type(error).__name__}"
        status = response.status_code
        return status, response.content, f"verified yes  forwarded: {status}"


def signature_problem(secret: str | None, body: bytes | str, headers: dict[str, str]) -> str | None:
    """Why a delivery's Standard Webhooks signature does not verify with `secret` (the
    standardwebhooks library: signature and timestamp); None when it does."""
    from standardwebhooks import Webhook, WebhookVerificationError

    if secret is None:
        return "no secret to verify with"
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError as error:
        return str(error)
    return None


def _summary(webhook_id: str, body: bytes) -> str:
    """Time, event id, event type, contact and activity type (`-` for what it does not say)."""
    document = _document(body)
    fields = (
        webhook_id or "-",
        document.get("event_type") or "-",
        f"contact {document.get('contact_id') or '-'}",
        document.get("activity_type") or "-",
    )
    return f"{datetime.now(UTC).strftime('%H:%M:%S')}  " + "  ".join(str(f) for f in fields)


def _document(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
