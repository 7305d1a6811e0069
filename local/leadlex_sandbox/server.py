"""The sandbox over HTTP: the LeadLex API under /v1 and the admin interface under /_admin."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Unpack
from urllib.parse import parse_qsl, urlsplit

from leadlex_sandbox import fake_data
from leadlex_sandbox.faults import COUNTED
from leadlex_sandbox.quota import Plan
from leadlex_sandbox.routing import RequestRecord, Response
from leadlex_sandbox.sandbox import Sandbox, SandboxSettings
from loopback import LoopbackServer, StartStop

ADMIN_PREFIX = "/_admin"


class SandboxServer(Sandbox, StartStop):
    """A `Sandbox` served on 127.0.0.1 from a daemon thread.

    `with SandboxServer() as sandbox:` binds an ephemeral port (unless `port` is given) and
    shuts down, closing open keep-alive connections, on exit. `base_url` is the API base
    without `/v1`, ending in `path_prefix` (e.g. "/functions/v1/api-gateway" to mimic the
    real base URL). The other keywords are `Sandbox`'s.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path_prefix: str = "",
        **settings: Unpack[SandboxSettings],
    ) -> None:
        super().__init__(**settings)
        self.host = host
        self.port = port
        self.path_prefix = path_prefix.rstrip("/")
        self._http: LoopbackServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path_prefix}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.port}{ADMIN_PREFIX}"

    def start(self) -> SandboxServer:
        if self._http is not None:
            raise RuntimeError("sandbox already running")
        owner = self

        class Handler(_Handler):
            sandbox = owner

        # A short poll keeps stop() fast: tests start and stop one server each.
        self._http = LoopbackServer(
            Handler, host=self.host, port=self.port, name="leadlex-sandbox", poll_interval=0.02
        ).start()
        self.port = self._http.port
        return self

    def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients reuse connections
    disable_nagle_algorithm = True  # headers and body go out in two writes
    timeout = 60  # an idle keep-alive connection ends after this
    sandbox: ClassVar[SandboxServer]  # set by SandboxServer.start

    def setup(self) -> None:
        super().setup()
        self.sandbox.connection_opened()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: thousands of requests per test run would drown the output."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        sandbox = self.sandbox
        if parts.path.startswith(ADMIN_PREFIX + "/"):
            status, payload = _admin(sandbox, method, parts.path[len(ADMIN_PREFIX) :], body)
            data = json.dumps(payload, separators=(",", ":")).encode()
            self._send(Response(status, [("Content-Type", "application/json")], data))
            return
        prefix = sandbox.path_prefix
        if not prefix:
            path = parts.path
        elif parts.path.startswith(prefix + "/"):
            path = parts.path[len(prefix) :]
        else:
            path = ""  # outside the API base: no route matches
        response = sandbox.handle(method, path, query, self.headers.get("Authorization"), body)
        served = None if response.drop else response.status
        sandbox.record(RequestRecord(method, path or parts.path, query, served))
        if response.drop:
            self.close_connection = True
            return
        self._send(response)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("X-Request-ID", f"req_{uuid.uuid4().hex}")
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


class _AdminError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


_AdminRoute = Callable[[SandboxServer, list[str], dict[str, Any]], tuple[int, object]]


def _admin(sandbox: SandboxServer, method: str, path: str, body: bytes) -> tuple[int, object]:
    segments = [segment for segment in path.split("/") if segment]
    try:
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            raise _AdminError(400, "validation_error", "body is not JSON") from None
        if not isinstance(data, dict):
            raise _AdminError(400, "validation_error", "body must be a JSON object")
        route = _route(method, segments)
        return route(sandbox, segments, data)
    except _AdminError as error:
        return error.status, _envelope(error.code, str(error))
    except KeyError as error:
        return 404, _envelope("not_found", f"unknown: {error}")
    except (ValueError, TypeError) as error:
        return 400, _envelope("validation_error", str(error))


def _envelope(code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message}}


def _route(method: str, segments: list[str]) -> _AdminRoute:
    shape = [segment if segment in _LITERALS else "*" for segment in segments]
    route = _ROUTES.get((method, "/".join(shape)))
    if route is None:
        raise _AdminError(404, "not_found", f"no admin route {method} /{'/'.join(segments)}")
    return route


def _state(sandbox: SandboxServer, _: list[str], __: dict[str, Any]) -> tuple[int, object]:
    return 200, {
        "base_url": sandbox.base_url,
        "workspace_id": sandbox.workspace_id,
        "plan": asdict(sandbox.plan),
        "type_field": sandbox.type_field,
        "retry_after": sandbox.retry_after,
        "contacts": sandbox.contact_ids(),
        **_clock_state(sandbox),
    }


def _settings(sandbox: SandboxServer, _: list[str], data: dict[str, Any]) -> tuple[int, object]:
    if "plan" in data:
        plan = data["plan"]
        sandbox.plan = (
            Plan(str(plan.get("name", "custom")), int(plan["per_day"]), int(plan["per_minute"]))
            if isinstance(plan, dict)
            else str(plan)
        )
    if "type_field" in data:
        sandbox.type_field = str(data["type_field"])
    if "retry_after" in data:
        sandbox.retry_after = bool(data["retry_after"])
    if data.get("reset_quota"):
        sandbox.reset_quota()
    return _state(sandbox, [], {})


def _create_key(sandbox: SandboxServer, _: list[str], data: dict[str, Any]) -> tuple[int, object]:
    scopes = data.get("scopes", ["activities:read"])
    expires_in = data.get("expires_in")
    key = sandbox.create_key(
        [str(scope) for scope in scopes],
        expires_in=float(expires_in) if expires_in is not None else None,
    )
    return 201, {"key": key}


def _revoke_key(sandbox: SandboxServer, _: list[str], data: dict[str, Any]) -> tuple[int, object]:
    sandbox.revoke_key(str(data["key"]))
    return 200, {"revoked": True}


def _create_contact(
    sandbox: SandboxServer, _: list[str], data: dict[str, Any]
) -> tuple[int, object]:
    contact_id = sandbox.create_contact(
        int(data.get("activities", 0)), contact_id=data.get("contact_id"), name=data.get("name")
    )
    return 201, {"contact_id": contact_id}


def _list_activities(
    sandbox: SandboxServer, segments: list[str], _: dict[str, Any]
) -> tuple[int, object]:
    return 200, {"activities": sandbox.activities(segments[1])}


def _add_activity(
    sandbox: SandboxServer, segments: list[str], data: dict[str, Any]
) -> tuple[int, object]:
    webhook = data.pop("webhook", True)
    if not isinstance(webhook, bool):
        raise ValueError("webhook must be true or false")
    return 201, sandbox.add_activity(segments[1], webhook=webhook, **data)


def _clock(sandbox: SandboxServer, _: list[str], data: dict[str, Any]) -> tuple[int, object]:
    if data.get("reset"):
        sandbox.clock.reset()
    if "set" in data:
        sandbox.clock.set(
            fake_data.parse_timestamp(str(data["set"])), frozen=bool(data.get("frozen"))
        )
    if "advance" in data:
        sandbox.clock.advance(timedelta(seconds=float(data["advance"])))
    return 200, _clock_state(sandbox)


def _get_clock(sandbox: SandboxServer, _: list[str], __: dict[str, Any]) -> tuple[int, object]:
    return 200, _clock_state(sandbox)


def _clock_state(sandbox: SandboxServer) -> dict[str, object]:
    return {
        "now": fake_data.format_timestamp(sandbox.clock.now()),
        "frozen": sandbox.clock.frozen,
    }


def _stats(sandbox: SandboxServer, _: list[str], __: dict[str, Any]) -> tuple[int, object]:
    return 200, {
        "total_requests": sandbox.total_requests,
        "connections_opened": sandbox.connections_opened,
        "listing_requests": sandbox.listing_request_counts,
        "request_log": [asdict(record) for record in sandbox.request_log],
    }


def _reset_stats(sandbox: SandboxServer, _: list[str], __: dict[str, Any]) -> tuple[int, object]:
    sandbox.reset_stats()
    return 200, {"reset": True}


def _faults(sandbox: SandboxServer, _: list[str], data: dict[str, Any]) -> tuple[int, object]:
    faults = sandbox.faults
    if data.get("reset"):
        faults.reset()
    if "latency" in data:
        faults.latency = float(data["latency"])
    if "error_rate" in data:
        faults.error_rate = float(data["error_rate"])
    if "error_status" in data:
        faults.error_status = int(data["error_status"])
    fail = data.get("fail_next")
    if isinstance(fail, dict):
        retry_after = fail.get("retry_after")
        faults.fail_next(
            int(fail.get("count", 1)),
            int(fail.get("status", 503)),
            int(retry_after) if retry_after is not None else None,
        )
    for kind in COUNTED:
        if kind in data:
            faults.add(kind, int(data[kind]))
    return 200, {
        "latency": faults.latency,
        "error_rate": faults.error_rate,
        "error_status": faults.error_status,
        **faults.pending(),
    }


def _insert_after_page(
    sandbox: SandboxServer, _: list[str], data: dict[str, Any]
) -> tuple[int, object]:
    activities = data.get("activities", [])
    if not isinstance(activities, list) or not all(isinstance(a, dict) for a in activities):
        raise ValueError("activities must be a list of objects")
    sandbox.insert_after_page(str(data["contact_id"]), int(data["page"]), activities)
    return 201, {"scheduled": len(activities)}


def _register_webhook(
    sandbox: SandboxServer, _: list[str], data: dict[str, Any]
) -> tuple[int, object]:
    sandbox.register_webhook(str(data["url"]), str(data["secret"]))
    return 201, {"registered": True}


def _deliver_webhook(
    sandbox: SandboxServer, _: list[str], data: dict[str, Any]
) -> tuple[int, object]:
    activity_id = data.get("activity_id")
    status = sandbox.deliver_webhook(
        str(data["url"]),
        str(data["secret"]),
        str(data.get("event", "activity.created")),
        sandbox.activity(str(activity_id)) if activity_id is not None else None,
        data.get("contact_id"),
    )
    return 200, {"status": status}


def _deliveries(sandbox: SandboxServer, _: list[str], __: dict[str, Any]) -> tuple[int, object]:
    return 200, {"deliveries": [asdict(d) for d in sandbox.webhook_deliveries]}


_ROUTES: Mapping[tuple[str, str], _AdminRoute] = {
    ("GET", "state"): _state,
    ("POST", "settings"): _settings,
    ("POST", "keys"): _create_key,
    ("POST", "keys/revoke"): _revoke_key,
    ("POST", "contacts"): _create_contact,
    ("GET", "contacts/*/activities"): _list_activities,
    ("POST", "contacts/*/activities"): _add_activity,
    ("GET", "clock"): _get_clock,
    ("POST", "clock"): _clock,
    ("GET", "stats"): _stats,
    ("POST", "stats/reset"): _reset_stats,
    ("POST", "faults"): _faults,
    ("POST", "hooks/insert-after-page"): _insert_after_page,
    ("POST", "webhooks"): _register_webhook,
    ("POST", "webhooks/deliver"): _deliver_webhook,
    ("GET", "webhooks/deliveries"): _deliveries,
}
_LITERALS = frozenset(
    segment for _, shape in _ROUTES for segment in shape.split("/") if segment != "*"
)
