"""The LeadLex API client: HTTP to LeadLex, its retries, and what its answers become.

Retries (5xx, dropped connections, read errors, and a 429 that names its Retry-After) happen
inside urllib3, with exponential backoff plus jitter, honouring Retry-After. A 429 without one
is final at once: it is LeadLex's per-minute window (which sends no headers), and a retry within
a few seconds' backoff is refused again unless the minute happens to end meanwhile; the relay
continues the sync a whole window later instead. What is left after the retries becomes one of
the SourceError classes of core/model/errors.py.

The daily quota each answer reports (X-RateLimit-*) goes to the QuotaGuard the client was
given (core/quota/reserve.py), which also decides, before each request, whether the reserve
allows it.

Every page and every error says how many HTTP requests it took (`ActivityPage.requests`,
`SourceError.requests`): each attempt urllib3 started, first tries and retries, answered or not
— LeadLex counts every request it receives against the quota, a 404 or a 503 included, so this
is what the quota paid at most (a connection that was refused never reached it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from activity_relay.adapters.leadlex_pages import UnreadablePage, parse_page
from activity_relay.core.model import (
    ActivityPage,
    AuthenticationFailed,
    ContactNotFound,
    MalformedResponse,
    PermissionDenied,
    QuotaExhausted,
    RateLimited,
    SourceError,
    TransientSourceError,
    parse_contact_id,
)
from activity_relay.core.quota.ports import QuotaSnapshot
from activity_relay.core.quota.reserve import QuotaGuard, next_utc_midnight

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://data.leadlex.com/functions/v1/api-gateway"
MAX_PER_PAGE = 100
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CONTACT_NOT_FOUND_CODES = frozenset({"not_found", "contact_not_found"})
USER_AGENT = "leadlex-activity-relay/1.0"


class RequestRejected(SourceError):
    """A request the API refuses as invalid (400, other 4xx) or that we refuse to send (a
    contact id that is not a UUID). Retrying the same request cannot help."""


class _RetriesExhausted(MaxRetryError):
    """MaxRetryError that knows how many attempts were made before giving up."""

    def __init__(self, exhausted: MaxRetryError, attempts: int) -> None:
        super().__init__(exhausted.pool, exhausted.url, exhausted.reason)
        self.attempts = attempts


class _Retry(Retry):
    """urllib3's Retry, except that a 429 is final at once when the daily quota is spent (the
    window reopens at UTC midnight) or when it names no Retry-After (the per-minute window, a
    whole minute at worst): waiting inside one invocation would only burn time and requests.
    Giving up after a connection or read error, it says how many attempts were made."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Self:
        if (
            response is not None
            and response.status == 429
            and (
                response.headers.get("X-RateLimit-Remaining", "").strip() == "0"
                or not response.headers.get("Retry-After", "").strip()
            )
        ):
            raise MaxRetryError(_pool, url or "", reason=None)
        try:
            return super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError as exhausted:
            # The attempts before this one (each left its history entry) and this one.
            raise _RetriesExhausted(exhausted, len(self.history) + 1) from exhausted.reason


class LeadLexClient:
    """An `ActivitySource` over `GET /v1/contacts/{id}/activities`.

    One client holds one `requests.Session`, so a warm Lambda container reuses its TCP and
    TLS connections across invocations. The relay's worker threads share it: its requests are
    plain GETs through urllib3's thread-safe pool (`pool_size` connections).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        per_page: int = MAX_PER_PAGE,
        timeout: tuple[float, float] = (3.05, 10.0),
        retries: int = 3,
        backoff_factor: float = 0.5,
        backoff_jitter: float = 0.5,
        backoff_max: float = 10.0,
        retry_after_max: int = 30,
        quota: QuotaGuard | None = None,
        pool_size: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is empty")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.per_page = per_page
        self.timeout = timeout
        self._clock = clock
        self.quota = quota or QuotaGuard(clock=lambda: datetime.fromtimestamp(clock(), UTC))
        retry = _Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff_factor,
            backoff_jitter=backoff_jitter,
            backoff_max=backoff_max,
            respect_retry_after_header=True,
            # Retry-After of a long window must not hold a Lambda invocation hostage.
            retry_after_max=retry_after_max,
            # The last response, not an exception, so its status and X-Request-ID are mapped.
            raise_on_status=False,
        )
        self.session = requests.Session()
        # One pooled connection per contact synced in parallel.
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )

    def __repr__(self) -> str:
        return f"LeadLexClient(base_url={self.base_url!r}, per_page={self.per_page})"

    @property
    def page_size(self) -> int:
        return self.per_page

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> LeadLexClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
        """Page `page` (1-based) of the contact's activities, newest first."""
        if page < 1:
            raise ValueError(f"page must be >= 1, not {page}")
        try:
            contact = parse_contact_id(contact_id)
        except ValueError:
            message = f"not a contact UUID: {contact_id[:100]!r}"
            self._fail(RequestRejected, message, None, None, None, requests=0)
        self.quota.admit(contact)
        url = f"{self.base_url}/v1/contacts/{contact}/activities"
        params = {"page": page, "per_page": self.per_page}
        try:
            response = self.session.get(
                url, params=params, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as error:
            # Exception text carries the URL (no key): still redact, should that ever change.
            reason = self._redact(f"{type(error).__name__}: {error}")
            requests_sent = _attempts_before(error)
            self._fail(
                TransientSourceError,
                reason,
                contact,
                None,
                None,
                cause=error,
                requests=requests_sent,
            )
        self._remember_rate_limit(response)
        request_id = response.headers.get("X-Request-ID")
        attempts = _attempts(response)
        if response.status_code != 200:
            self._fail_status(response, contact, request_id, attempts)
        return self._parse(response, contact, page, request_id, attempts)

    def _fail_status(
        self, response: requests.Response, contact: str, request_id: str | None, attempts: int
    ) -> NoReturn:
        status = response.status_code
        code, message = _error_details(response)
        answer = f"{status} {code}" if code else str(status)
        detail = f"LeadLex answered {answer} for contact {contact}"
        if message:
            detail += f": {self._redact(message)}"
        error_class: type[SourceError]
        if status == 401:
            error_class = AuthenticationFailed
        elif status == 403:
            error_class = PermissionDenied
        elif status == 404 and code in CONTACT_NOT_FOUND_CODES:
            error_class = ContactNotFound
        elif status == 404:
            # Any other 404 (a wrong base URL, a gateway page) must not pass for a missing
            # contact: that would acknowledge every message and record them all as not found.
            error_class = RequestRejected
            detail += " (not a contact-not-found answer: is the base URL right?)"
        elif status == 429 and response.headers.get("X-RateLimit-Remaining", "").strip() == "0":
            self._exhausted(f"daily quota exhausted: {detail}", contact, request_id, attempts)
        elif status == 429:
            error_class = RateLimited
            detail = f"rate limited: {detail}"
        elif status >= 500:
            error_class = TransientSourceError
        else:
            error_class = RequestRejected
        self._fail(error_class, detail, contact, status, request_id, code=code, requests=attempts)

    def _parse(
        self,
        response: requests.Response,
        contact: str,
        page: int,
        request_id: str | None,
        attempts: int,
    ) -> ActivityPage:
        try:
            return parse_page(
                response.content, page=page, per_page=self.per_page, requests=attempts
            )
        except UnreadablePage as unreadable:
            self._fail(
                MalformedResponse,
                f"malformed LeadLex response for contact {contact}: {unreadable}",
                contact,
                200,
                request_id,
                code="malformed_response",
                requests=attempts,
            )

    def _fail(
        self,
        error_class: type[SourceError],
        message: str,
        contact: str | None,
        status: int | None,
        request_id: str | None,
        *,
        code: str | None = None,
        cause: BaseException | None = None,
        requests: int,
    ) -> NoReturn:
        message = self._redact(message)
        logger.warning(
            "LeadLex request failed: status=%s code=%s contact_id=%s request_id=%s requests=%d "
            "error=%s",
            status,
            code or error_class.__name__,
            contact,
            request_id,
            requests,
            message,
        )
        raise error_class(message, request_id=request_id, requests=requests) from cause

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]")

    def _remember_rate_limit(self, response: requests.Response) -> None:
        """Report the daily quota the answer carries; an answer without it changes nothing."""
        headers = response.headers
        remaining = _header_int(headers.get("X-RateLimit-Remaining"))
        if remaining is None:
            return
        observed_at = datetime.fromtimestamp(self._clock(), UTC)
        reset = _header_int(headers.get("X-RateLimit-Reset"))
        self.quota.record(
            QuotaSnapshot(
                limit=_header_int(headers.get("X-RateLimit-Limit")),
                remaining=remaining,
                # X-RateLimit-Reset is documented as the next UTC midnight: assume it if missing.
                resets_at=(
                    datetime.fromtimestamp(reset, UTC)
                    if reset is not None
                    else next_utc_midnight(observed_at)
                ),
                observed_at=observed_at,
            )
        )

    def _exhausted(
        self, message: str, contact: str, request_id: str | None, requests: int
    ) -> NoReturn:
        resets_at = self.quota.resets_at()
        logger.warning(
            "LeadLex quota exhausted until %s: contact_id=%s request_id=%s %s",
            resets_at.isoformat(),
            contact,
            request_id,
            self._redact(message),
        )
        raise QuotaExhausted(
            self._redact(message), resets_at=resets_at, request_id=request_id, requests=requests
        )


def _error_details(response: requests.Response) -> tuple[str | None, str | None]:
    """(code, message) of the error envelope, or Nones when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("code"), error.get("message")
    return (
        code if isinstance(code, str) else None,
        message[:500] if isinstance(message, str) else None,
    )


def _header_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _attempts(response: requests.Response) -> int:
    """Requests behind one response: the retried attempts urllib3 recorded, and the last."""
    retries = getattr(response.raw, "retries", None)
    return len(retries.history) + 1 if isinstance(retries, Retry) else 1


def _attempts_before(error: requests.RequestException) -> int:
    """Requests sent before `error` ended the call: every attempt when retries ran out, else
    the one (a body that broke off after its response began)."""
    exhausted = next((a for a in error.args if isinstance(a, _RetriesExhausted)), None)
    return exhausted.attempts if exhausted is not None else 1
