"""The sandbox's state and request logic, independent of the HTTP transport.

`Sandbox.handle` turns one request into a `Response`; server.py only moves bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from leadlex_sandbox import fake_data
from leadlex_sandbox.clock import Clock
from leadlex_sandbox.webhook_registration import Registration, parse_registration

READ_SCOPE = "activities:read"
TYPE_FIELDS = ("activity_type", "type")
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100

_LISTING = re.compile(r"^/v1/contacts/([^/]+)/activities/?$")
_WEBHOOKS = re.compile(r"^/v1/webhooks/?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DIGITS = re.compile(r"^[0-9]+$")
_ERROR_CODES = {
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    per_day: int
    per_minute: int


PLANS = {
    plan.name: plan
    for plan in (
        Plan("starter", 100, 10),
        Plan("pro", 1_000, 50),
        Plan("org", 10_000, 200),
        # Still counted and reported, so headers look real; just never reached.
        Plan("unlimited", 1_000_000_000, 1_000_000_000),
    )
}


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


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    url: str
    event: str
    delivery_id: str
    activity_id: str | None
    status: int | None  # None: the receiver could not be reached


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    drop: bool = False  # close the connection without answering


PageHook = Callable[[PageServed], None]


@dataclass(slots=True)
class _Key:
    scopes: frozenset[str]
    expires_at: datetime | None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class _Stored:
    seq: int
    created: datetime
    contact_id: str
    fields: dict[str, Any]  # canonical: the type under "activity_type"

    @property
    def sort_key(self) -> tuple[datetime, int]:
        return (self.created, self.seq)


@dataclass(slots=True)
class _Contact:
    id: str
    name: str
    activities: list[_Stored] = field(default_factory=list)
    newest_first: list[_Stored] | None = None  # cache, dropped on every insert


class Faults:
    """Failures injected into /v1 requests, settable while the server runs.

    Counted faults ("next N") are consumed in this order of precedence: drop, fail, then the
    random `error_rate`; `mutate_next` and `malform_next` spoil the body of a response
    computed normally.
    """

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}:faults")  # noqa: S311 - reproducible, not secret
        self.latency = 0.0
        self.error_rate = 0.0
        self.error_status = 503
        self._fail: list[tuple[int, int | None]] = []
        self._malform = 0
        self._drop = 0
        self._mutations: list[Callable[[dict[str, Any]], object]] = []

    def fail_next(self, count: int = 1, status: int = 503, retry_after: int | None = None) -> None:
        """Answer the next `count` requests with `status` (e.g. 500, 503, 429) untouched
        by auth or quota; `retry_after` seconds, if given, go into a Retry-After header."""
        with self._lock:
            self._fail.extend([(status, retry_after)] * count)

    def mutate_next(self, mutate: Callable[[dict[str, Any]], object], count: int = 1) -> None:
        """Let `mutate` edit, in place, the JSON body of the next `count` 200 pages: to play
        an API that breaks its own contract (short pages, wrong totals, bad activities)."""
        with self._lock:
            self._mutations.extend([mutate] * count)

    def malform_next(self, count: int = 1) -> None:
        with self._lock:
            self._malform += count

    def drop_next(self, count: int = 1) -> None:
        with self._lock:
            self._drop += count

    def reset(self) -> None:
        with self._lock:
            self.latency = 0.0
            self.error_rate = 0.0
            self.error_status = 503
            self._fail.clear()
            self._mutations.clear()
            self._malform = 0
            self._drop = 0

    def take_failure(self) -> tuple[str, int, int | None] | None:
        """("drop", 0, None), ("fail", status, retry_after), or None for a normal request."""
        with self._lock:
            if self._drop:
                self._drop -= 1
                return ("drop", 0, None)
            if self._fail:
                status, retry_after = self._fail.pop(0)
                return ("fail", status, retry_after)
            if self.error_rate and self._rng.random() < self.error_rate:
                return ("fail", self.error_status, None)
            return None

    def take_mutation(self) -> Callable[[dict[str, Any]], object] | None:
        with self._lock:
            return self._mutations.pop(0) if self._mutations else None

    def take_malform(self) -> bool:
        with self._lock:
            if self._malform:
                self._malform -= 1
                return True
            return False


class Sandbox:
    """One LeadLex workspace: keys, contacts and their activities, quota, faults, counters.

    Listing order: `created_date` descending; equal dates by insertion order, the activity
    added last first. Quota: every request with a valid key that is not itself rejected with
    429 consumes one unit of the daily and of the per-minute window (fixed windows on the
    sandbox clock: UTC day, clock minute); 401s, injected faults and 429s consume nothing.
    """

    def __init__(
        self,
        *,
        plan: str | Plan = "unlimited",
        seed: int = 0,
        type_field: str = "activity_type",
        retry_after: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self.clock = clock if clock is not None else Clock()
        self.faults = Faults(seed)
        # Keys come from here too: reproducible sandbox keys are a feature, not a leak.
        self._rng = random.Random(f"{seed}:sandbox")  # noqa: S311
        self.workspace_id = fake_data.random_uuid(self._rng)
        self._plan = _resolve_plan(plan)
        self._type_field = _check_type_field(type_field)
        self.retry_after = retry_after
        self._keys: dict[str, _Key] = {}
        self._contacts: dict[str, _Contact] = {}
        self._activity_contacts: dict[str, str] = {}
        self._seq = 0
        self._day: date | None = None
        self._day_count = 0
        self._minute: int | None = None
        self._minute_count = 0
        self._total_requests = 0
        self._connections = 0
        self._listing_requests: dict[str, int] = {}
        self._log: list[RequestRecord] = []
        self._hooks: list[tuple[PageHook, bool]] = []
        self._webhooks: list[tuple[str, str]] = []
        # Registered through the API (POST /v1/webhooks), by URL: events filter deliveries.
        self._registrations: dict[str, tuple[Registration, str, str]] = {}
        self._deliveries: list[WebhookDelivery] = []

    # --- settings -----------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        return self._plan

    @plan.setter
    def plan(self, plan: str | Plan) -> None:
        self._plan = _resolve_plan(plan)

    @property
    def type_field(self) -> str:
        return self._type_field

    @type_field.setter
    def type_field(self, name: str) -> None:
        self._type_field = _check_type_field(name)

    def reset_quota(self) -> None:
        with self._lock:
            self._day = self._minute = None
            self._day_count = self._minute_count = 0

    # --- keys ---------------------------------------------------------------------------

    def create_key(
        self,
        scopes: Iterable[str] = (READ_SCOPE,),
        *,
        expires_in: float | timedelta | None = None,
    ) -> str:
        """A new key; `expires_in` is measured on the sandbox clock from now."""
        expires_at = None
        if expires_in is not None:
            delta = (
                expires_in if isinstance(expires_in, timedelta) else timedelta(seconds=expires_in)
            )
            expires_at = self.clock.now() + delta
        with self._lock:
            key = f"wbk_live_{self._rng.getrandbits(160):040x}"
            self._keys[key] = _Key(frozenset(scopes), expires_at)
        return key

    def revoke_key(self, key: str) -> None:
        with self._lock:
            self._keys[key].revoked = True

    # --- contacts and activities ----------------------------------------------------------

    def create_contact(
        self, activities: int = 0, *, contact_id: str | None = None, name: str | None = None
    ) -> str:
        """A new contact's UUID, with `activities` seeded ones spread over the past year.

        Seeded content depends only on the sandbox seed and the contact id; their dates are
        relative to the sandbox clock.
        """
        with self._lock:
            if contact_id is None:
                contact_id = fake_data.random_uuid(self._rng)
            elif not _UUID.match(contact_id):
                raise ValueError(f"contact id is not a UUID: {contact_id!r}")
            contact_id = contact_id.lower()
            if contact_id in self._contacts:
                raise ValueError(f"contact {contact_id} exists already")
            rng = random.Random(f"{self.seed}:{contact_id}")  # noqa: S311 - reproducible
            contact = _Contact(contact_id, name or fake_data.person_name(rng))
            self._contacts[contact_id] = contact
            now = self.clock.now()
            seeded = [
                (fake_data.past_moment(rng, now), fake_data.activity_id(rng))
                for _ in range(activities)
            ]
            for created, activity_id in sorted(seeded):
                fields = fake_data.activity_fields(rng, contact_id, contact.name)
                self._insert(contact, activity_id, created, fields)
        return contact_id

    def add_activity(
        self, contact_id: str, *, created_date: str | datetime | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Log one activity, as the API would list it; `created_date` defaults to the clock's
        now and may be any past or future moment. `fields` override the generated content
        (`activity_type`, `description`, `metadata`, ... or `id`) and may add custom ones.
        Raises KeyError for an unknown contact. Registered webhooks are notified."""
        created = (
            self.clock.now() if created_date is None else fake_data.parse_timestamp(created_date)
        )
        with self._lock:
            contact = self._contact(contact_id)
            generated = fake_data.activity_fields(self._rng, contact.id, contact.name)
            activity_id = fields.pop("id", None) or fake_data.activity_id(self._rng)
            if not isinstance(activity_id, str) or activity_id in self._activity_contacts:
                raise ValueError(f"activity id must be a new string: {activity_id!r}")
            if "type" in fields:
                fields["activity_type"] = fields.pop("type")
            stored = self._insert(contact, activity_id, created, generated | fields)
            activity = self._render(stored)
            webhooks = list(self._webhooks) + [
                (registration.url, secret)
                for registration, secret, _ in self._registrations.values()
                if registration.active and "activity.created" in registration.events
            ]
        for url, secret in webhooks:
            self._deliver_recorded(url, secret, "activity.created", activity, contact.id)
        return activity

    def activities(self, contact_id: str) -> list[dict[str, Any]]:
        """All of a contact's activities in listing order, as the API renders them now."""
        with self._lock:
            return [
                self._render(stored) for stored in self._newest_first(self._contact(contact_id))
            ]

    def activity(self, activity_id: str) -> dict[str, Any]:
        """One activity by id, as the API renders it now; KeyError if unknown."""
        with self._lock:
            contact = self._contacts[self._activity_contacts[activity_id]]
            return next(
                self._render(stored)
                for stored in contact.activities
                if stored.fields["id"] == activity_id
            )

    def contact_ids(self) -> list[str]:
        with self._lock:
            return list(self._contacts)

    # --- hooks ----------------------------------------------------------------------------

    def on_page_served(self, callback: PageHook, *, once: bool = False) -> PageHook:
        """Call `callback` after each well-formed page is computed and before it is sent, so
        whatever it changes is in place before the client can ask for the next page."""
        with self._lock:
            self._hooks.append((callback, once))
        return callback

    def remove_hook(self, callback: PageHook) -> None:
        with self._lock:
            self._hooks = [(hook, once) for hook, once in self._hooks if hook is not callback]

    def insert_after_page(
        self, contact_id: str, page: int, activities: Sequence[Mapping[str, Any]]
    ) -> None:
        """Once page `page` of `contact_id` has been served, add `activities` (keyword
        arguments of `add_activity`, e.g. {"created_date": ...}); fires once."""
        wanted = contact_id.lower()

        def insert(served: PageServed) -> None:
            if served.contact_id != wanted or served.page != page:
                return
            self.remove_hook(insert)
            for spec in activities:
                self.add_activity(wanted, **dict(spec))

        self.on_page_served(insert)

    # --- counters ---------------------------------------------------------------------------

    @property
    def total_requests(self) -> int:
        with self._lock:
            return self._total_requests

    @property
    def connections_opened(self) -> int:
        with self._lock:
            return self._connections

    def listing_requests(self, contact_id: str) -> int:
        with self._lock:
            return self._listing_requests.get(contact_id.lower(), 0)

    @property
    def listing_request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._listing_requests)

    @property
    def request_log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def reset_stats(self) -> None:
        with self._lock:
            self._total_requests = self._connections = 0
            self._listing_requests.clear()
            self._log.clear()

    def connection_opened(self) -> None:
        with self._lock:
            self._connections += 1

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self._total_requests += 1
            self._log.append(record)

    # --- webhooks -----------------------------------------------------------------------------

    def register_webhook(self, url: str, secret: str) -> None:
        """Deliver `activity.created` to `url` whenever an activity is added."""
        with self._lock:
            self._webhooks.append((url, secret))

    def unregister_webhooks(self) -> None:
        with self._lock:
            self._webhooks.clear()
            self._registrations.clear()

    @property
    def registered_webhooks(self) -> list[dict[str, Any]]:
        """What POST /v1/webhooks registered (id, url, events, active), without the secrets."""
        with self._lock:
            return [
                {
                    "id": webhook_id,
                    "url": registration.url,
                    "events": sorted(registration.events),
                    "active": registration.active,
                }
                for registration, _, webhook_id in self._registrations.values()
            ]

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    def deliver_webhook(
        self,
        url: str,
        secret: str,
        event: str = "activity.created",
        activity: Mapping[str, Any] | None = None,
        contact_id: str | None = None,
        *,
        signature: str | None = None,
        timeout: float = 10.0,
    ) -> int:
        """POST one signed delivery to `url` and return the receiver's status code.

        `activity` defaults to the contact's newest; `contact_id` to the activity's contact.
        `signature` replaces the computed header value, to test a receiver's rejection.
        Connection failures raise OSError.
        """
        if activity is None:
            if contact_id is None:
                raise ValueError("give an activity or a contact_id")
            activity = self.activities(contact_id)[0]
        if contact_id is None:
            with self._lock:
                contact_id = self._activity_contacts.get(str(activity.get("id")))
        timestamp = fake_data.format_timestamp(self.clock.now())
        payload = {
            "event": event,
            "timestamp": timestamp,
            "workspace_id": self.workspace_id,
            "data": {"activity": {**activity, "contact_id": contact_id}},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        delivery_id = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "LeadLex-Webhook/1.0",
            "X-LeadLex-Signature": signature if signature is not None else f"sha256={digest}",
            "X-LeadLex-Timestamp": timestamp,
            "X-LeadLex-Delivery-ID": delivery_id,
        }
        activity_id = activity.get("id")
        try:
            status = _post(url, body, headers, timeout)
        except OSError:
            self._record_delivery(WebhookDelivery(url, event, delivery_id, activity_id, None))
            raise
        self._record_delivery(WebhookDelivery(url, event, delivery_id, activity_id, status))
        return status

    def _record_delivery(self, delivery: WebhookDelivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)

    def _deliver_recorded(
        self, url: str, secret: str, event: str, activity: Mapping[str, Any], contact_id: str
    ) -> None:
        # Automatic deliveries must not break add_activity: the failure is in the record.
        with contextlib.suppress(OSError):
            self.deliver_webhook(url, secret, event, activity, contact_id)

    # --- the API ------------------------------------------------------------------------------

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
        with self._lock:
            if match:
                contact_key = match.group(1).lower()
                self._listing_requests[contact_key] = self._listing_requests.get(contact_key, 0) + 1
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
            return self._error(
                404, "route_not_found", "No such endpoint.", self._rate_headers(None)
            )
        if method != "GET":
            return self._error(
                405,
                "method_not_allowed",
                f"{method} is not allowed here.",
                self._rate_headers(None),
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
        with self._lock:
            key = self._keys.get(_bearer(auth) or "")
            if key is None or key.revoked or (key.expires_at is not None and now >= key.expires_at):
                message = "Invalid, expired or revoked API key."
                return self._error(401, "invalid_key", message, self._rate_headers(None)), None
            limited = self._consume(now)
            headers = self._rate_headers(now)
            if limited is not None:
                if self.retry_after:
                    headers.append(("Retry-After", str(limited)))
                return self._error(429, "rate_limited", "Rate limit exceeded.", headers), None
            if READ_SCOPE not in key.scopes:
                message = f"This key lacks the {READ_SCOPE} permission."
                return self._error(403, "insufficient_permissions", message, headers), None
            if not _UUID.match(raw_id):
                message = "Contact id must be a UUID."
                return self._error(400, "validation_error", message, headers), None
            try:
                page = _int_param(query, "page", 1, 1, None)
                per_page = _int_param(query, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
            except ValueError as error:
                return self._error(400, "validation_error", str(error), headers), None
            contact = self._contacts.get(raw_id.lower())
            if contact is None:
                return self._error(404, "not_found", "Contact not found.", headers), None
            listing = self._newest_first(contact)
            chunk = listing[(page - 1) * per_page : page * per_page]
            body = {
                "data": {"activities": [self._render(stored) for stored in chunk]},
                "meta": {"page": page, "per_page": per_page, "total": len(listing)},
            }
            served = PageServed(
                contact.id,
                page,
                per_page,
                len(listing),
                tuple(stored.fields["id"] for stored in chunk),
            )
        return _json_response(200, body, headers), served

    def _webhooks_endpoint(self, method: str, auth: str | None, body: bytes) -> Response:
        """POST /v1/webhooks (webhook_registration.py). Costs a request like any other; the
        docs name no scope for it, so any valid key may register."""
        now = self.clock.now()
        with self._lock:
            key = self._keys.get(_bearer(auth) or "")
            if key is None or key.revoked or (key.expires_at is not None and now >= key.expires_at):
                message = "Invalid, expired or revoked API key."
                return self._error(401, "invalid_key", message, self._rate_headers(None))
            limited = self._consume(now)
            headers = self._rate_headers(now)
            if limited is not None:
                return self._error(429, "rate_limited", "Rate limit exceeded.", headers)
            if method != "POST":
                return self._error(
                    405, "method_not_allowed", f"{method} is not allowed here.", headers
                )
            try:
                registration = parse_registration(body)
            except ValueError as error:
                return self._error(400, "validation_error", str(error), headers)
            if registration.url in self._registrations or any(
                url == registration.url for url, _ in self._webhooks
            ):
                message = "A webhook with this URL exists already."
                return self._error(409, "duplicate_webhook", message, headers)
            webhook_id = f"wh_{fake_data.random_uuid(self._rng)}"
            secret = f"whsec_{self._rng.getrandbits(192):048x}"
            self._registrations[registration.url] = (registration, secret, webhook_id)
        document = {
            "id": webhook_id,
            "url": registration.url,
            "events": sorted(registration.events),
            "description": registration.description,
            "active": registration.active,
            "secret": secret,
            "created_date": fake_data.format_timestamp(now),
        }
        return _json_response(201, {"data": document}, headers)

    def _run_hooks(self, served: PageServed) -> None:
        with self._lock:
            hooks = list(self._hooks)
            self._hooks = [(hook, once) for hook, once in hooks if not once]
        for hook, _ in hooks:
            hook(served)

    def _consume(self, now: datetime) -> int | None:
        """None if the request fits the quota (and is counted), else seconds until it would."""
        today = now.date()
        minute = int(now.timestamp() // 60)
        if today != self._day:
            self._day, self._day_count = today, 0
        if minute != self._minute:
            self._minute, self._minute_count = minute, 0
        if self._day_count >= self._plan.per_day:
            return max(1, math.ceil((_next_midnight(now) - now).total_seconds()))
        if self._minute_count >= self._plan.per_minute:
            return max(1, math.ceil((minute + 1) * 60 - now.timestamp()))
        self._day_count += 1
        self._minute_count += 1
        return None

    def _rate_headers(self, now: datetime | None) -> list[tuple[str, str]]:
        """The daily window's headers (the per-minute window has none, as in the real API)."""
        moment = now if now is not None else self.clock.now()
        used = self._day_count if self._day == moment.date() else 0
        return [
            ("X-RateLimit-Limit", str(self._plan.per_day)),
            ("X-RateLimit-Remaining", str(max(0, self._plan.per_day - used))),
            ("X-RateLimit-Reset", str(int(_next_midnight(moment).timestamp()))),
        ]

    def _fault_response(self, status: int, retry_after: int | None) -> Response:
        headers = self._rate_headers(None)
        if retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        code = _ERROR_CODES.get(status, "error")
        return self._error(status, code, "Injected failure.", headers)

    def _error(
        self, status: int, code: str, message: str, headers: list[tuple[str, str]]
    ) -> Response:
        return _json_response(status, {"error": {"code": code, "message": message}}, headers)

    def _contact(self, contact_id: str) -> _Contact:
        return self._contacts[contact_id.lower()]

    def _insert(
        self, contact: _Contact, activity_id: str, created: datetime, fields: Mapping[str, Any]
    ) -> _Stored:
        self._seq += 1
        ordered = {"id": activity_id, **fields, "created_date": fake_data.format_timestamp(created)}
        stored = _Stored(self._seq, created, contact.id, ordered)
        contact.activities.append(stored)
        contact.newest_first = None
        self._activity_contacts[activity_id] = contact.id
        return stored

    def _newest_first(self, contact: _Contact) -> list[_Stored]:
        if contact.newest_first is None:
            contact.newest_first = sorted(
                contact.activities, key=lambda stored: stored.sort_key, reverse=True
            )
        return contact.newest_first

    def _render(self, stored: _Stored) -> dict[str, Any]:
        if self._type_field == "activity_type":
            return dict(stored.fields)
        return {
            ("type" if name == "activity_type" else name): value
            for name, value in stored.fields.items()
        }


def _resolve_plan(plan: str | Plan) -> Plan:
    if isinstance(plan, Plan):
        return plan
    try:
        return PLANS[plan]
    except KeyError:
        raise ValueError(f"unknown plan {plan!r}; one of {', '.join(PLANS)}") from None


def _check_type_field(name: str) -> str:
    if name not in TYPE_FIELDS:
        raise ValueError(f"type_field must be one of {TYPE_FIELDS}, not {name!r}")
    return name


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _int_param(
    query: Mapping[str, str], name: str, default: int, low: int, high: int | None
) -> int:
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


def _next_midnight(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _json_response(status: int, body: object, headers: list[tuple[str, str]]) -> Response:
    data = json.dumps(body, separators=(",", ":")).encode()
    return Response(status, [("Content-Type", "application/json"), *headers], data)


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    parts = urlsplit(url)
    connection_class: type[http.client.HTTPConnection]
    if parts.scheme == "https":
        connection_class = http.client.HTTPSConnection
    elif parts.scheme == "http":
        connection_class = http.client.HTTPConnection
    else:
        raise ValueError(f"webhook URL must be http(s): {url!r}")
    connection = connection_class(parts.netloc, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        connection.request("POST", target, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()
