"""The /v1 API: one request in, one `Response` out, independent of the HTTP transport.

`GET /v1/contacts/{id}/activities` (auth, scope, quota, validation, a page newest first) and
`POST /v1/webhooks` (registration), with the error envelope `{"error": {"code", "message"}}`,
the daily window's rate-limit headers, the injected faults, and the counters and page hooks
that watch this traffic. server.py only moves bytes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from leadlex_sandbox import fake_data
from leadlex_sandbox.clock import Clock
from leadlex_sandbox.faults import Faults
from leadlex_sandbox.quota import Quota
from leadlex_sandbox.store import READ_SCOPE, UUID, Store
from leadlex_sandbox.webhook_registration import parse_registration
from leadlex_sandbox.webhooks import Webhooks

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100

_LISTING = re.compile(r"^/v1/contacts/([^/]+)/activities/?$")
_WEBHOOKS = re.compile(r"^/v1/webhooks/?$")
_DIGITS = re.compile(r"^[0-9]+$")
_ERROR_CODES = {
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    drop: bool = False  # close the connection without answering


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One /v1 request as served. `status` is None when the connection was dropped."""

    method: str
    path: str
    query: Mapping[str, str]
    status: int | None


@dataclass(frozen=True, slots=True)
class PageServed:
    """What a page hook learns: a well-formed 200 page was computed and is about to be sent."""

    contact_id: str
    page: int
    per_page: int
    total: int
    activity_ids: tuple[str, ...]


PageHook = Callable[[PageServed], None]


@dataclass(slots=True)
class Traffic:
    """What the sandbox counts of /v1 traffic. Not thread-safe: the sandbox's lock guards it."""

    total_requests: int = 0
    connections: int = 0
    listing_requests: dict[str, int] = field(default_factory=dict)
    log: list[RequestRecord] = field(default_factory=list)

    def reset(self) -> None:
        self.total_requests = self.connections = 0
        self.listing_requests.clear()
        self.log.clear()

    def record(self, record: RequestRecord) -> None:
        self.total_requests += 1
        self.log.append(record)


class PageHooks:
    """Callbacks on served pages. Not thread-safe: the sandbox's lock guards it."""

    def __init__(self) -> None:
        self.hooks: list[tuple[PageHook, bool]] = []

    def add(self, callback: PageHook, *, once: bool) -> None:
        self.hooks.append((callback, once))

    def remove(self, callback: PageHook) -> None:
        self.hooks = [(hook, once) for hook, once in self.hooks if hook is not callback]

    def take(self) -> list[PageHook]:
        """The hooks to run for one page; those registered `once` are forgotten."""
        hooks = self.hooks
        self.hooks = [(hook, once) for hook, once in hooks if not once]
        return [hook for hook, _ in hooks]


@dataclass(frozen=True, slots=True, kw_only=True)
class Router:
    """Answers /v1 requests from the sandbox's parts, under the sandbox's lock."""

    lock: threading.Lock
    clock: Clock
    faults: Faults
    store: Store
    quota: Quota
    webhooks: Webhooks
    traffic: Traffic
    hooks: PageHooks

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        auth: str | None,
        body: bytes = b"",
    ) -> Response:
        """Answer one /v1 request. Page hooks have run when this returns."""
        match = _LISTING.match(path)
        with self.lock:
            if match:
                contact_key = match.group(1).lower()
                listings = self.traffic.listing_requests
                listings[contact_key] = listings.get(contact_key, 0) + 1
        if self.faults.latency > 0:
            time.sleep(self.faults.latency)
        failure = self.faults.take_failure()
        if failure is not None:
            kind, status, retry_after = failure
            if kind == "drop":
                return Response(0, [], b"", drop=True)
            return self._fault_response(status, retry_after)
        if _WEBHOOKS.match(path):
            return self._webhooks_endpoint(method, auth, body)
        if not match:
            # A code of its own, so a client with a wrong base URL can tell this from a
            # missing contact (the real gateway's answer here is undocumented).
            return error(404, "route_not_found", "No such endpoint.", self._headers_now())
        if method != "GET":
            return error(
                405, "method_not_allowed", f"{method} is not allowed here.", self._headers_now()
            )
        response, served = self._list(match.group(1), query, auth)
        mutate = self.faults.take_mutation() if served is not None else None
        if mutate is not None:
            document = json.loads(response.body)
            mutate(document)
            response.body = json.dumps(document, separators=(",", ":")).encode()
        if self.faults.take_malform():
            response.body = response.body[: max(1, len(response.body) // 2)] + b"<!-- gateway"
        elif served is not None:
            self._run_hooks(served)
        return response

    def _list(
        self, raw_id: str, query: Mapping[str, str], auth: str | None
    ) -> tuple[Response, PageServed | None]:
        now = self.clock.now()
        with self.lock:
            key = self.store.valid_key(bearer(auth), now)
            if key is None:
                message = "Invalid, expired or revoked API key."
                return error(401, "invalid_key", message, self._headers_now()), None
            limited = self.quota.consume(now)
            headers = self.quota.headers(now)
            if limited is not None:
                if self.quota.retry_after:
                    headers.append(("Retry-After", str(limited)))
                return error(429, "rate_limited", "Rate limit exceeded.", headers), None
            if READ_SCOPE not in key.scopes:
                message = f"This key lacks the {READ_SCOPE} permission."
                return error(403, "insufficient_permissions", message, headers), None
            if not UUID.match(raw_id):
                message = "Contact id must be a UUID."
                return error(400, "validation_error", message, headers), None
            try:
                page = int_param(query, "page", 1, 1, None)
                per_page = int_param(query, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
            except ValueError as problem:
                return error(400, "validation_error", str(problem), headers), None
            contact = self.store.find_contact(raw_id)
            if contact is None:
                return error(404, "not_found", "Contact not found.", headers), None
            listing = self.store.listing(contact)
            chunk = listing[(page - 1) * per_page : page * per_page]
            body = {
                "data": {"activities": [self.store.render(stored) for stored in chunk]},
                "meta": {"page": page, "per_page": per_page, "total": len(listing)},
            }
            served = PageServed(
                contact.id,
                page,
                per_page,
                len(listing),
                tuple(stored.fields["id"] for stored in chunk),
            )
        return json_response(200, body, headers), served

    def _webhooks_endpoint(self, method: str, auth: str | None, body: bytes) -> Response:
        """POST /v1/webhooks (webhook_registration.py). Costs a request like any other; the
        docs name no scope for it, so any valid key may register."""
        now = self.clock.now()
        with self.lock:
            if self.store.valid_key(bearer(auth), now) is None:
                message = "Invalid, expired or revoked API key."
                return error(401, "invalid_key", message, self._headers_now())
            limited = self.quota.consume(now)
            headers = self.quota.headers(now)
            if limited is not None:
                return error(429, "rate_limited", "Rate limit exceeded.", headers)
            if method != "POST":
                return error(405, "method_not_allowed", f"{method} is not allowed here.", headers)
            try:
                registration = parse_registration(body)
            except ValueError as problem:
                return error(400, "validation_error", str(problem), headers)
            if self.webhooks.has(registration.url):
                message = "A webhook with this URL exists already."
                return error(409, "duplicate_webhook", message, headers)
            webhook_id, secret = self.webhooks.register(registration)
        document = {
            "id": webhook_id,
            "url": registration.url,
            "events": sorted(registration.events),
            "description": registration.description,
            "active": registration.active,
            "secret": secret,
            "created_date": fake_data.format_timestamp(now),
        }
        return json_response(201, {"data": document}, headers)

    def _run_hooks(self, served: PageServed) -> None:
        with self.lock:
            hooks = self.hooks.take()
        for hook in hooks:
            hook(served)

    def _headers_now(self) -> list[tuple[str, str]]:
        return self.quota.headers(self.clock.now())

    def _fault_response(self, status: int, retry_after: int | None) -> Response:
        headers = self._headers_now()
        if retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        code = _ERROR_CODES.get(status, "error")
        return error(status, code, "Injected failure.", headers)


def error(status: int, code: str, message: str, headers: list[tuple[str, str]]) -> Response:
    """The API's error envelope."""
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


def json_response(status: int, body: object, headers: list[tuple[str, str]]) -> Response:
    data = json.dumps(body, separators=(",", ":")).encode()
    return Response(status, [("Content-Type", "application/json"), *headers], data)


def bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not _DIGITS.match(raw):
        raise ValueError(f"{name} must be an integer")
    value = int(raw)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bound}")
    return value
